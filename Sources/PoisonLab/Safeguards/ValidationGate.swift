/// The validation gate: new models must not get worse on held-out data.
///
/// The server keeps `size` clean training samples
/// (class-proportional, stream `("validation")`, removed from the clients'
/// data before partitioning, like fltrust's root data) and evaluates every
/// round's candidate global model on them before accepting it. The round
/// is rejected, and the model left unchanged, when the candidate's accuracy
/// is more than `max_drop` below the last accepted model's, or (with
/// `per_class_max_drop`) when any class's accuracy is more than that below
/// its last accepted value. The model of round 0 (the initial one) is the
/// first accepted model.
///
/// This is the held-out "validation before deployment" check of production
/// FL systems (Bonawitz et al. 2019, "Towards Federated Learning at Scale:
/// System Design", SysML: models are evaluated before they are deployed).
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

  /// Reviews a candidate model.
  /// - Returns: whether it is accepted, its validation accuracy and each class's.
  mutating func review(_ candidate: [Float], evaluators: [Evaluator]) -> (
    accepted: Bool, accuracy: Double, classAccuracy: [Double]
  ) {
    let (a, perClass) = measure(candidate, evaluators: evaluators)
    var accepted = a.isFinite && a >= accuracy - settings.maxDrop - 1e-12
    if let c = settings.perClassMaxDrop {
      for k in perClass.indices where perClass[k] < classAccuracy[k] - c - 1e-12 {
        accepted = false
      }
    }
    if accepted {
      accuracy = a
      classAccuracy = perClass
    }
    return (accepted, a, perClass)
  }

  /// Makes `model` the last accepted model (after a rollback or a restart).
  mutating func reset(to model: [Float], evaluators: [Evaluator]) {
    (accuracy, classAccuracy) = measure(model, evaluators: evaluators)
  }
}
