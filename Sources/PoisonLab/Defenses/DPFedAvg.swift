/// DP-FedAvg with client-level differential privacy (McMahan, Ramage,
/// Talwar & Zhang, ICLR 2018, "Learning Differentially Private Recurrent
/// Language Models").
///
/// Every update is clipped to L2 norm `clip` (`g_i / max(1, |g_i| / clip)`);
/// after the aggregator (which must be the unweighted `mean`, right after
/// this stage) Gaussian noise `N(0, (noise_multiplier * clip / m)^2)` is
/// added to every coordinate of the mean of the `m` updates it averaged
/// (rows rejected before it, non-finite ones or an earlier filter's, do
/// not count: the noise on the sum stays `noise_multiplier * clip`). Each
/// round is a sampled Gaussian mechanism with rate
/// `q = clients_per_round / clients` (over the clients not quarantined,
/// whose chance of selection rises as others are shut out; RDP composes
/// each round's rate); round rows report the epsilon spent so
/// far at `delta` by RDP accounting (``RDPAccountant``: Mironov, Talwar &
/// Zhang 2019, Poisson-sampling assumption, classic conversion; the
/// simulator draws a fixed number of clients per round, for which the
/// Poisson figure, reported as TF-Privacy reports it, is not a proof).
/// `scores` are the norms before clipping; nothing is rejected.
public struct DPFedAvg: UpdateFilter {
  public static let descriptor = PluginDescriptor(
    name: "dp",
    summary: "DP-FedAvg: clip every update, add Gaussian noise to the mean, report epsilon",
    reference:
      "McMahan, Ramage, Talwar & Zhang 2018, Learning Differentially Private Recurrent Language Models (ICLR)",
    parameters: [
      ParameterSpec(
        "clip", .number(atLeast: 0, open: true), default: .number(1),
        doc: "L2 bound of every update (the sensitivity)"),
      ParameterSpec(
        "noise_multiplier", .number(atLeast: 0, open: true), default: .number(1),
        doc: "noise std on the sum of updates over clip (the mean gets noise_multiplier * clip / m)"
      ),
      ParameterSpec(
        "delta", .number(min: 0, max: 1, minOpen: true, maxOpen: true), default: .number(1e-5),
        doc: "the delta at which epsilon is reported"),
    ], notes: ["must directly precede the mean aggregator"])
  public static var secureAggregation: SecureAggregationUse { .clientClipThenAggregate }

  /// The L2 bound.
  public let clip: Double
  /// Noise std over the bound.
  public let noiseMultiplier: Double
  /// The reporting delta.
  public let delta: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    clip = parameters.double("clip") ?? 1
    noiseMultiplier = parameters.double("noise_multiplier") ?? 1
    delta = parameters.double("delta") ?? 1e-5
  }

  /// Creates the stage.
  /// - Parameters:
  ///   - clip: the L2 bound.
  ///   - noiseMultiplier: noise std over the bound.
  ///   - delta: the reporting delta.
  public init(clip: Double, noiseMultiplier: Double, delta: Double = 1e-5) {
    self.clip = clip
    self.noiseMultiplier = noiseMultiplier
    self.delta = delta
  }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    var clipper = NormClip(maxNorm: clip)
    return try clipper.filter(&updates, context: context)
  }

  public mutating func postprocess(
    _ aggregate: inout [Float], received: Int, context: DefenseContext
  ) {
    var rng = context.rng
    let std = noiseMultiplier * clip / Double(max(1, received))
    for j in aggregate.indices { aggregate[j] += Float(rng.nextGaussian() * std) }
  }
}

extension DPFedAvg {
  /// DP-FedAvg's guarantee holds for clipped updates averaged with equal
  /// weights: `dp` must directly precede the chain's last stage, `mean`.
  /// - Parameters:
  ///   - chain: the defense chain's stages.
  ///   - paths: each stage's JSON path.
  ///   - validator: collects a misplaced `dp`.
  static func checkPlacement(
    in chain: [any Defense], at paths: [JSONPath], _ validator: inout SchemaValidator
  ) {
    for (position, stage) in chain.enumerated() where stage is DPFedAvg {
      let next = position + 1 < chain.count ? chain[position + 1] : nil
      if !(next is Mean) || position + 2 != chain.count {
        validator.fail(
          paths[position].appending("name"),
          "\"dp\" must directly precede the last stage, which must be \"mean\" (its guarantee assumes equally weighted clipped updates)"
        )
      }
    }
  }
}
