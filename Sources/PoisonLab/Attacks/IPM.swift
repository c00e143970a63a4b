/// Inner product manipulation: send a negatively scaled benign mean.
///
/// Inner product manipulation (Xie, Koyejo & Gupta, UAI 2019): every
/// attacker sends `-epsilon * mean(benign updates)`. A small epsilon (0.1,
/// the default, as in epfml) targets median- and Krum-type rules; a large
/// one (e.g. 100) defeats the mean.
///
/// `optimize: true` is ByzFL's optimal IPM: each round epsilon >= 0 is
/// searched by ``LineMaximize`` against the scenario's actual defense
/// chain, maximising the distance of its output from the benign mean.
/// With `knowledge: own` it runs the chain on its `c` own benign updates
/// plus the candidates, every rule assuming `f = max(1, floor(c^2 / n))`
/// for the round's `n` updates (Shejwalkar & Houmansadr's unknown-benign
/// experiments); a round in which the chain cannot run on those rows for
/// any candidate stops the run (exit 3).
public struct IPM: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "ipm", summary: "send -epsilon x the mean benign update",
    reference:
      "Xie, Koyejo & Gupta 2019, Fall of Empires: Breaking Byzantine-tolerant SGD by Inner Product Manipulation (UAI)",
    parameters: [
      ParameterSpec(
        "epsilon", .number(atLeast: 0, open: true), default: .number(0.1), doc: "the multiplier"),
      ParameterSpec(
        "optimize", .boolean, default: .bool(false), mode: .federated,
        doc:
          "ByzFL's Optimal_InnerProductManipulation: send -tau x mu, tau searched each round against the scenario's actual defense chain (20 evaluations from 0, first step 10)"
      ),
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The multiplier.
  public let epsilon: Float
  /// Search epsilon each round against the defense chain.
  public let optimize: Bool
  public var knowsDefense: Bool { optimize }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("ipm", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    epsilon = Float(parameters.double("epsilon") ?? 0.1)
    optimize = parameters.bool("optimize") ?? false
    if optimize && parameters.given.contains("epsilon") {
      validator.fail(
        parameters.path("epsilon"), "is searched each round when optimize is true; remove one")
      return nil
    }
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    let mean = view.benignMoments().mean
    var factor = epsilon
    if optimize {
      factor = Float(
        LineMaximize.search { e in
          deviation(of: mean.map { -Float(e) * $0 }, view: view, mean: mean)
        })
    }
    return view.repeated(mean.map { -factor * $0 })
  }
}
