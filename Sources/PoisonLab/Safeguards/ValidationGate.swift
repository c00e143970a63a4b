/// The validation gate: new models must not get worse on held-out data.
///
/// The server keeps `size` clean training samples
/// (class-proportional, stream `("validation")`, removed from the clients'
/// data before partitioning, like fltrust's root data) and evaluates every
/// round's candidate global model on them before accepting it. The round
/// is rejected, and the model left unchanged, when the candidate's accuracy
/// is more than `max_drop` below the last accepted model's, or (with
/// `per_class_max_drop`) when any class's accuracy is more than that below
/// its last accepted value. A candidate with a non-finite weight is always
/// rejected. The model of round 0 (the initial one) is the first accepted
/// model.
///
/// This is the held-out "validation before deployment" check of production
/// FL systems (Bonawitz et al. 2019, "Towards Federated Learning at Scale:
/// System Design", SysML: models are evaluated before they are deployed).
///
/// With `attribute`, a rejected round is also traced to clients: each
/// received update `u_i` is applied alone, `global + server_learning_rate *
/// u_i` (the model FedAvg would make from that client only), and reviewed by
/// the same test against the last accepted model; the clients whose model
/// fails are flagged, and count as flags for the quarantine. This is Reject
/// On Negative Impact (Nelson et al. 2008, "Exploiting Machine Learning to
/// Subvert Your Spam Filter", LEET; Barreno et al. 2010, "The Security of
/// Machine Learning", MLJ) applied to whole client updates, as Zeno (Xie,
/// Koyejo and Gupta 2019, ICML) scores each update by its effect on the
/// server's validation data. The round itself stays rejected; the test
/// runs only on rejected rounds, so an accepted round costs nothing more.
struct ValidationGate {
  let settings: SafeguardSettings.Validation
  let data: Dataset
  private(set) var accuracy: Double = 0
  private(set) var classAccuracy: [Double] = []

  /// A gate whose first accepted model is `initial`.
  init(
    settings: SafeguardSettings.Validation, data: Dataset, initial: [Float], evaluators: [Evaluator]
  ) {
    self.settings = settings
    self.data = data
    (accuracy, classAccuracy) = measure(initial, evaluators: evaluators)
  }

  /// Accuracy and per-class accuracy of `parameters` on the validation set.
  func measure(_ parameters: [Float], evaluators: [Evaluator]) -> (Double, [Double]) {
    let result = Evaluator.evaluate(parameters: parameters, on: data, using: evaluators)
    var correct = [Int](repeating: 0, count: data.classes)
    var total = [Int](repeating: 0, count: data.classes)
    for (i, label) in data.labels.enumerated() {
      let c = Int(label)
      guard c < data.classes else { continue }
      total[c] += 1
      if result.predictions[i] == label { correct[c] += 1 }
    }
    let perClass = (0..<data.classes).map {
      total[$0] > 0 ? Double(correct[$0]) / Double(total[$0]) : 0
    }
    return (result.accuracy, perClass)
  }

  /// Whether a model with these validation figures passes the gate's test.
  private func passes(_ a: Double, _ perClass: [Double]) -> Bool {
    guard a.isFinite && a >= accuracy - settings.maxDrop - 1e-12 else { return false }
    if let c = settings.perClassMaxDrop {
      for k in perClass.indices where perClass[k] < classAccuracy[k] - c - 1e-12 {
        return false
      }
    }
    return true
  }

  /// Reviews a candidate model.
  /// - Returns: whether it is accepted, its validation accuracy and each class's.
  mutating func review(_ candidate: [Float], evaluators: [Evaluator]) -> (
    accepted: Bool, accuracy: Double, classAccuracy: [Double]
  ) {
    let (a, perClass) = measure(candidate, evaluators: evaluators)
    // A model with a NaN or infinite weight is never deployed, whatever its
    // predictions happen to score (argmax of NaN logits picks one class).
    let accepted = candidate.allSatisfy(\.isFinite) && passes(a, perClass)
    if accepted {
      accuracy = a
      classAccuracy = perClass
    }
    return (accepted, a, perClass)
  }

  /// The clients whose update, applied alone to `global`, fails the test
  /// against the last accepted model (the `attribute` step of a rejected round).
  /// - Parameters:
  ///   - updates: the received updates, one row each.
  ///   - ids: the claimed id of each row.
  ///   - global: the model the round started from.
  ///   - rate: the server learning rate.
  ///   - evaluators: one per worker.
  /// - Returns: the failing ids, sorted.
  func attribute(
    updates: UpdateSet, ids: [Int], global: [Float], rate: Float, evaluators: [Evaluator]
  ) -> [Int] {
    var failing: [Int] = []
    var alone = global
    let d = updates.dimension
    for row in 0..<updates.count {
      let base = row * d
      for j in alone.indices { alone[j] = global[j] + rate * updates.values[base + j] }
      let (a, perClass) = measure(alone, evaluators: evaluators)
      if !alone.allSatisfy(\.isFinite) || !passes(a, perClass) { failing.append(ids[row]) }
    }
    return Array(Set(failing)).sorted()
  }

  /// Makes `model` the last accepted model (after a rollback or a restart).
  mutating func reset(to model: [Float], evaluators: [Evaluator]) {
    (accuracy, classAccuracy) = measure(model, evaluators: evaluators)
  }
}
