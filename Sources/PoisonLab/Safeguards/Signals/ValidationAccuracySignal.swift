/// `validation_accuracy`: the new model's accuracy on held-out data.
///
/// The accuracy of the round's new model on the
/// validation gate's held-out clean samples, alarming when unusually low
/// against its own history. It sees the model, not the clients: it
/// suspects nobody.
struct ValidationAccuracySignal: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "validation_accuracy",
    summary: "accuracy of the new model on the held-out validation set, against its history",
    reference:
      "No paper (poisonlab's monitor signal): a robust z-score (Iglewicz & Hoaglin 1993) of the accuracy on the validation gate's held-out set (needs safeguards.validation)"
  )
  static let input = SignalInput.model

  init(window: Int) {}

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    guard let accuracy = round.validationAccuracy else { return nil }
    return .scored([("validation_accuracy", accuracy, false)], suspects: [])
  }
}
