/// Norm clipping: bound every update's L2 norm.
///
/// Norm clipping (Sun et al. 2019, "Can You Really Backdoor Federated
/// Learning?"): `g_i <- g_i / max(1, |g_i| / M)` with `M = max_norm`, or the
/// median of the round's update norms when `max_norm` is `"median"`.
/// With `noise_std > 0`, Gaussian noise `N(0, noise_std^2)` is added to every
/// coordinate of the aggregate ("weak DP" in Sun et al.; no epsilon is
/// claimed for it, use `dp` for a guarantee).
/// No update is rejected; `scores` are the norms before clipping.
public struct NormClip: UpdateFilter {
  public static let descriptor = PluginDescriptor(
    name: "norm-clip", summary: "scale every update down to at most max_norm",
    reference:
      "Sun, Kairouz, Suresh & McMahan 2019, Can You Really Backdoor Federated Learning? (arXiv:1911.07963)",
    parameters: [
      ParameterSpec(
        "max_norm", .either([.number(atLeast: 0, open: true), .choice(["median"])]),
        default: .string("median"),
        doc: "the L2 bound, or \"median\" for the median norm of the round's updates"),
      ParameterSpec(
        "noise_std", .number(atLeast: 0), default: .number(0),
        doc: "weak DP: std of Gaussian noise added to the aggregate (no epsilon claimed)"),
    ])

  /// The bound, or nil for the round's median norm.
  public let maxNorm: Double?
  /// Std of the noise added to the aggregate.
  public let noiseStd: Double

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    maxNorm = parameters.double("max_norm")
    noiseStd = parameters.double("noise_std") ?? 0
  }

  /// Creates the filter.
  /// - Parameters:
  ///   - maxNorm: the bound, or nil for the median norm.
  ///   - noiseStd: std of the noise added to the aggregate.
  public init(maxNorm: Double?, noiseStd: Double = 0) {
    self.maxNorm = maxNorm
    self.noiseStd = noiseStd
  }

  public mutating func postprocess(
    _ aggregate: inout [Float], received: Int, context: DefenseContext
  ) {
    guard noiseStd > 0 else { return }
    var rng = context.rng
    for j in aggregate.indices { aggregate[j] += Float(rng.nextGaussian() * noiseStd) }
  }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    let norms = updates.norms()
    guard !norms.isEmpty else { return DefenseOutcome() }
    let bound: Double
    if let maxNorm {
      bound = maxNorm
    } else {
      var sorted = norms.map(Float.init)
      bound = Double(sorted.withUnsafeMutableBufferPointer { Selection.median($0) })
    }
    let d = updates.dimension
    for i in 0..<updates.count where norms[i] > bound {
      let scale = Float(bound / norms[i])
      for j in (i * d)..<((i + 1) * d) { updates.values[j] *= scale }
    }
    return DefenseOutcome(downweighted: norms.indices.filter { norms[$0] > bound }, scores: norms)
  }
}
