/// `class_accuracy`: every class's accuracy of the new model on held-out data.
///
/// The validation gate's held-out set, class by class: one value per class
/// (`class_accuracy_K`), each compared with its own history, alarming when
/// unusually low. A targeted attack (a flipped class, a backdoor that
/// confuses its target) can hide in the overall accuracy while one class
/// collapses. It sees the model, not the clients or sources: it suspects
/// nobody (a pipeline's response then suspects the cycle's untrusted
/// sources).
struct ClassAccuracySignal: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "class_accuracy",
    summary:
      "each class's accuracy of the new model on the held-out validation set, against its history",
    reference:
      "No paper (poisonlab's monitor signal): a robust z-score (Iglewicz & Hoaglin 1993) of each class's accuracy on the validation gate's held-out set (needs safeguards.validation)"
  )
  static let input = SignalInput.model

  init(window: Int) {}

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    guard let accuracy = round.classAccuracy else { return nil }
    return .scored(
      accuracy.enumerated().map { ("class_accuracy_\($0.offset)", $0.element, false) },
      suspects: [])
  }
}
