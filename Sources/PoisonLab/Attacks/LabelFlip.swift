/// Label flipping (data poisoning): poisoned samples keep their features and
/// get a wrong label.
///
/// - Targeted (`source`, `target`): `floor(fraction * n_source)` samples of
///   class `source`, drawn uniformly, are relabelled `target`
///   (Tolpegin et al. 2020). `attack_success` = share of source-class test
///   samples predicted as `target`.
/// - `mapping: "reverse"`: `floor(fraction * n)` samples whose label changes
///   under `y -> C - 1 - y` get that label.
/// - `mapping: "random"`: `floor(fraction * n)` samples get a uniformly random
///   *different* label.
/// Untargeted mappings report `attack_success` as null.
///
/// Reference: Tolpegin, Truex, Gursoy & Liu, "Data Poisoning Attacks Against
/// Federated Learning Systems", ESORICS 2020; Biggio, Nelson & Laskov 2012.
public struct LabelFlip: DataPoisoning {
  public static let descriptor = PluginDescriptor(
    name: "label-flip",
    summary: "relabel training samples: source -> target, or a reverse/random mapping",
    reference:
      "Tolpegin et al. 2020, Data Poisoning Attacks Against Federated Learning Systems (ESORICS)",
    parameters: poisonFractionSpecs + [
      ParameterSpec("source", .integer(min: 0, max: nil), doc: "class relabelled (targeted flip)"),
      ParameterSpec("target", .integer(min: 0, max: nil), doc: "label given to it (targeted flip)"),
      ParameterSpec(
        "mapping", .choice(["reverse", "random"]),
        doc: "untargeted flip instead: reverse (y -> C-1-y) or random (another label)"),
    ] + AttackGroup.parameters,
    notes: [
      "targeted (source, target): fraction and poison_fraction are shares of the source class's samples, not of all samples (reverse and random: of all samples)"
    ])

  /// How labels change.
  public enum Mode: Sendable, Equatable {
    case targeted(source: Int, target: Int)
    case reverse
    case random
  }

  /// The flip.
  public let mode: Mode
  /// Share of samples (of the source class when targeted) flipped.
  public let fraction: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    fraction = poisonFraction(parameters, context: context)
    let source = parameters.int("source")
    let target = parameters.int("target")
    switch (parameters.string("mapping"), source, target) {
    case (let mapping?, nil, nil):
      mode = mapping == "reverse" ? .reverse : .random
    case (_?, _, _):
      validator.fail(
        parameters.path("mapping"), "give either mapping or source and target, not both")
      return nil
    case (nil, let s?, let t?):
      guard s != t else {
        validator.fail(parameters.path("target"), "must differ from source (both are \(s))")
        return nil
      }
      if let classes = context.classes {
        for (key, value) in [("source", s), ("target", t)] where value >= classes {
          validator.fail(
            parameters.path(key), "must be a class id in 0...\(classes - 1), got \(value)")
        }
        if s >= classes || t >= classes { return nil }
      }
      mode = .targeted(source: s, target: t)
    default:
      let missing = source == nil ? "source" : "target"
      validator.fail(
        parameters.path(missing),
        "missing: a targeted flip needs both source and target (or set mapping: reverse or random)")
      return nil
    }
  }

  public func check(against data: Dataset, at path: JSONPath) -> ScenarioError? {
    guard case .targeted(let s, let t) = mode else { return nil }
    return classError(s, data, at: path.appending("source"))
      ?? classError(t, data, at: path.appending("target"))
  }

  public func poison(_ data: inout Dataset, rng: inout SplitMix64) -> [Int] {
    let classes = Int32(data.classes)
    switch mode {
    case .targeted(let source, let target):
      let candidates = data.labels.indices.filter { data.labels[$0] == Int32(source) }
      let chosen = choose(
        Int(count: fraction * Double(candidates.count), rounding: .down), from: candidates,
        rng: &rng)
      for i in chosen { data.labels[i] = Int32(target) }
      return chosen
    case .reverse:
      let candidates = data.labels.indices.filter {
        classes - 1 - data.labels[$0] != data.labels[$0]
      }
      let chosen = choose(
        Int(count: fraction * Double(data.count), rounding: .down), from: candidates, rng: &rng)
      for i in chosen { data.labels[i] = classes - 1 - data.labels[i] }
      return chosen
    case .random:
      let chosen = choose(
        Int(count: fraction * Double(data.count), rounding: .down),
        from: Array(data.labels.indices), rng: &rng)
      for i in chosen {
        let shift = Int32(1 + rng.nextInt(below: data.classes - 1))
        data.labels[i] = (data.labels[i] + shift) % classes
      }
      return chosen
    }
  }

  public func probe(test: Dataset) -> AttackProbe? {
    guard case .targeted(let source, let target) = mode else { return nil }
    let indices = test.labels.indices.filter { test.labels[$0] == Int32(source) }
    return AttackProbe(
      inputs: test.subset(indices), target: Int32(target), reportsRobustAccuracy: false,
      samples: indices)
  }
}
