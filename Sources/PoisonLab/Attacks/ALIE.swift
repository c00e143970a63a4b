#if canImport(Glibc)
import Glibc
#endif

/// A Little Is Enough (Baruch, Baruch & Goldberg, NeurIPS 2019).
///
/// Every attacker sends `mu - z * sigma`, with `mu` and `sigma` the
/// coordinate-wise mean and *population* standard deviation of the benign
/// updates (the official code's `np.std`; ByzFL uses ddof = 1), and the sign
/// of the official code (ByzFL, Blades and FLPoison add instead). By default
/// `z` follows the paper: `s = floor(n/2 + 1) - f` and `z = Phi^{-1}((n - s) / n)`
/// with n the updates received and f the attackers among them (n = 25, f = 5
/// gives 0.468). The common code variant `Phi^{-1}((n - f - s) / (n - f))`
/// is not used: it gives z = 0 for n = 12, f = 2. `z` overrides.
///
/// `optimize: true` is ByzFL's `Optimal_ALittleIsEnough` as ByzFL defines
/// it: every attacker sends `mu + tau * sigma` with `sigma` the *sample*
/// standard deviation (ddof 1) and ByzFL's sign (the plain attack keeps
/// the official code's `-` and population std), `tau >= 0` searched each
/// round by ByzFL's search, ``LineMaximize`` (20 evaluations from 0, first
/// step 10, contraction 0.8), to maximise the distance between the output
/// of the scenario's actual defense chain on the benign updates plus the
/// attackers' and the benign mean. A fixed ByzFL `tau` is `z = -tau
/// sqrt(m / (m - 1))` for `m` benign updates. The attacker knows the defense, its
/// parameters and the round's state. With `knowledge: own` it runs the
/// chain on its `c` own benign updates plus the candidates, every rule
/// assuming `f = max(1, floor(c^2 / n))` for the round's `n` updates
/// (Shejwalkar & Houmansadr's unknown-benign experiments); a round in
/// which the chain cannot run on those rows for any candidate stops the
/// run (exit 3).
public struct ALIE: UpdateAttack {
  public static let descriptor = PluginDescriptor(
    name: "alie", summary: "send mean - z x std of the benign updates (paper's z by default)",
    reference:
      "Baruch, Baruch & Goldberg 2019, A Little Is Enough: Circumventing Defenses For Distributed Learning (NeurIPS)",
    parameters: [
      ParameterSpec(
        "z", .number(min: nil, max: nil, minOpen: false, maxOpen: false),
        doc: "override the paper's z"),
      ParameterSpec(
        "optimize", .boolean, default: .bool(false), mode: .federated,
        doc:
          "ByzFL's Optimal_ALittleIsEnough: send mu + tau x sample std, tau searched each round against the scenario's actual defense chain (20 evaluations from 0, first step 10)"
      ),
    ] + updateAttackSpecs,
    notes: ["federated runs only"])

  public let knowledge: Knowledge
  /// The fixed z, or nil for the paper's formula.
  public let z: Double?
  /// Search z each round against the defense chain.
  public let optimize: Bool
  public var knowsDefense: Bool { optimize }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard let knowledge = requireFederated("alie", parameters, context, &validator) else {
      return nil
    }
    self.knowledge = knowledge
    z = parameters.double("z")
    optimize = parameters.bool("optimize") ?? false
    if optimize && z != nil {
      validator.fail(
        parameters.path("z"), "is searched each round when optimize is true; remove one")
      return nil
    }
  }

  /// The paper's `z_max` for `n` updates of which `f` are malicious.
  /// - Parameters:
  ///   - n: updates received.
  ///   - f: malicious updates.
  /// - Returns: `Phi^{-1}((n - s) / n)` with `s = floor(n/2 + 1) - f`, clamped to a finite value.
  public static func paperZ(n: Int, f: Int) -> Double {
    let s = n / 2 + 1 - f
    let p = Double(n - s) / Double(n)
    return inverseNormalCDF(min(max(p, 1e-12), 1 - 1e-12))
  }

  public func craft(_ view: AttackView, rng: inout SplitMix64) -> [Float] {
    let (mean, std) = view.benignMoments()
    if optimize {
      // ByzFL's Optimal_ALittleIsEnough: mu + tau sigma with the sample
      // standard deviation (ddof 1; 0 for a single benign update).
      let n = view.benign.count
      let factor = n > 1 ? Float((Double(n) / Double(n - 1)).squareRoot()) : 0
      let sample = std.map { $0 * factor }
      let best = LineMaximize.search { tau in
        deviation(of: zip(mean, sample).map { $0 + Float(tau) * $1 }, view: view, mean: mean)
      }
      return view.repeated(zip(mean, sample).map { $0 + Float(best) * $1 })
    }
    let zValue = Float(z ?? Self.paperZ(n: view.received, f: view.attackers))
    return view.repeated(zip(mean, std).map { $0 - zValue * $1 })
  }
}

/// `Phi^{-1}(p)`: Acklam's rational approximation refined by one Halley step
/// on `erfc` (about 1e-15 relative error).
/// - Parameter p: a probability in (0, 1).
/// - Returns: the standard normal quantile.
public func inverseNormalCDF(_ p: Double) -> Double {
  let a = [
    -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
    -3.066479806614716e+01, 2.506628277459239e+00,
  ]
  let b = [
    -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
    -1.328068155288572e+01,
  ]
  let c = [
    -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
    4.374664141464968e+00, 2.938163982698783e+00,
  ]
  let d = [
    7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00,
  ]
  let low = 0.02425
  var x: Double
  if p < low {
    let q = (-2 * log(p)).squareRoot()
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
      / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  } else if p <= 1 - low {
    let q = p - 0.5
    let r = q * q
    x =
      (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
      / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  } else {
    let q = (-2 * log(1 - p)).squareRoot()
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
      / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  }
  let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
  let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
  return x - u / (1 + x * u / 2)
}
