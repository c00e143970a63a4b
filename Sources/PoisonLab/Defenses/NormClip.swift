/// Norm clipping: bound every update's L2 norm.
///
/// Norm clipping (Sun et al. 2019, "Can You Really Backdoor Federated
/// Learning?"): `g_i <- g_i / max(1, |g_i| / M)` with `M = max_norm`, or the
/// median of the round's update norms when `max_norm` is `"median"`.
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
        doc: "the L2 bound, or \"median\" for the median norm of the round's updates")
    ])

  /// The bound, or nil for the round's median norm.
  public let maxNorm: Double?

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    maxNorm = parameters.double("max_norm")
  }

  /// Creates the filter.
  /// - Parameter maxNorm: the bound, or nil for the median norm.
  public init(maxNorm: Double?) { self.maxNorm = maxNorm }

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
    return DefenseOutcome(scores: norms)
  }
}
