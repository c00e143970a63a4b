import PoisonLab
import Testing

let fedBase =
  #"{"name": "f", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "federation": {"clients": 10}"#

/// A crafted-update attack built from a federated scenario block.
func updateAttack(_ block: String) throws -> any UpdateAttack {
  let s = try scenario(fedBase + #", "attack": \#(block)}"#)
  return try #require(s.attacks.first?.attack as? any UpdateAttack)
}

func craft(
  _ attack: any UpdateAttack, benign: [[Float]], own: [[Float]]? = nil, attackers: Int,
  received: Int, seed: UInt64 = 0
) -> [Float] {
  var rng = SplitMix64(seed: seed)
  let view = AttackView(
    benign: UpdateSet(rows: benign), own: own.map { UpdateSet(rows: $0) }, attackers: attackers,
    received: received)
  return attack.craft(view, rng: &rng)
}

@Suite("Crafted-update attacks")
struct UpdateAttackTests {
  let benign: [[Float]] = [[1, 2], [3, 4]]

  @Test("sign-flip, ipm and mimic (hand-computed)")
  func simple() throws {
    #expect(
      craft(
        try updateAttack(#"{"name": "sign-flip", "clients": 2, "scale": 2}"#), benign: benign,
        attackers: 2, received: 4) == [-4, -6, -4, -6])
    #expect(
      allClose(
        craft(
          try updateAttack(#"{"name": "ipm", "clients": 1, "epsilon": 0.5}"#), benign: benign,
          attackers: 1, received: 3), [-1, -1.5]))
    #expect(
      craft(
        try updateAttack(#"{"name": "mimic", "clients": 2}"#), benign: benign, attackers: 2,
        received: 4) == [1, 2, 1, 2])
    #expect(
      craft(
        try updateAttack(#"{"name": "scaling", "clients": 1, "factor": 3}"#), benign: benign,
        own: [[0.5, -1]], attackers: 1, received: 3) == [1.5, -3])
    #expect(
      craft(
        try updateAttack(#"{"name": "nan", "clients": 1, "value": "-inf"}"#), benign: benign,
        attackers: 1, received: 3) == [-.infinity, -.infinity])
    #expect(
      craft(
        try updateAttack(#"{"name": "nan", "clients": 1}"#), benign: benign, attackers: 1,
        received: 3
      ).allSatisfy(\.isNaN))
  }

  @Test("gaussian: independent N(0, std^2) values, deterministic for a seed")
  func gaussianNoise() throws {
    let attack = try updateAttack(#"{"name": "gaussian", "clients": 2, "std": 3}"#)
    let big = [[Float](repeating: 0, count: 20_000)]
    let a = craft(attack, benign: big, attackers: 2, received: 5, seed: 4)
    #expect(a == craft(attack, benign: big, attackers: 2, received: 5, seed: 4))
    #expect(Array(a[0..<20_000]) != Array(a[20_000...]))
    let variance = a.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(a.count)
    #expect(isClose(variance, 9, rtol: 0.03))
  }

  @Test("alie: the paper's z (Baruch et al. table) and mu - z sigma with the population std")
  func alie() throws {
    #expect(isClose(ALIE.paperZ(n: 25, f: 5), 0.4677, rtol: 1e-3))
    #expect(isClose(ALIE.paperZ(n: 50, f: 12), 0.5828, rtol: 1e-3))
    #expect(isClose(ALIE.paperZ(n: 12, f: 2), 0.2104, rtol: 1e-3))
    #expect(isClose(inverseNormalCDF(0.975), 1.959_963_984_540_054, rtol: 1e-12))
    #expect(isClose(inverseNormalCDF(0.001), -3.090_232_306_167_813, rtol: 1e-12))
    let fixed = try updateAttack(#"{"name": "alie", "clients": 1, "z": 1.5}"#)
    #expect(
      allClose(craft(fixed, benign: [[0, 5], [2, 5]], attackers: 1, received: 3), [-0.5, 5]))
  }

  @Test("min-max and min-sum: the crafted update meets its condition and a larger gamma would not")
  func minMax() throws {
    let benign = (0..<6).map { gaussian(50, seed: UInt64(100 + $0), scale: 0.1).map { $0 + 1 } }
    let set = UpdateSet(rows: benign)
    let pairwise = set.squaredDistances()
    func distances(_ g: [Float]) -> [Double] {
      benign.map { b in zip(g, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } }
    }
    for name in ["min-max", "min-sum"] {
      for perturbation in ["unit-vector", "sign", "std"] {
        let attack = try updateAttack(
          #"{"name": "\#(name)", "clients": 2, "perturbation": "\#(perturbation)"}"#)
        let out = craft(attack, benign: benign, attackers: 2, received: 8)
        let g = Array(out[0..<50])
        #expect(Array(out[50...]) == g)
        let bound =
          name == "min-max"
          ? pairwise.max()!
          : (0..<6).map { i in (0..<6).reduce(0.0) { $0 + pairwise[i * 6 + $1] } }.min()!
        let used = name == "min-max" ? distances(g).max()! : distances(g).reduce(0, +)
        #expect(used <= bound * (1 + 1e-4), "\(name) \(perturbation)")
        #expect(used >= bound * 0.98, "\(name) \(perturbation): gamma is not maximal")
      }
    }
  }

  @Test("fang against trimmed-mean samples inside the documented intervals (seed 9)")
  func fangTrimmedMean() throws {
    let attack = try updateAttack(#"{"name": "fang", "clients": 3, "against": "trimmed-mean"}"#)
    let benign: [[Float]] = [[1, -1, 2, -3], [2, -2, 3, -2], [3, -3, -1, 4]]
    let out = craft(attack, benign: benign, attackers: 3, received: 6, seed: 9)
    // mean = [2, -2, 1.33, -0.33] -> s = [+, -, +, -]; min = [1, -3, -1, -3]; max = [3, -1, 3, 4]
    for a in 0..<3 {
      let v = Array(out[(a * 4)..<(a * 4 + 4)])
      #expect(v[0] >= 0.5 && v[0] <= 1)  // s = +1, min 1 > 0: [min / 2, min]
      #expect(v[1] >= -1 && v[1] <= -0.5)  // s = -1, max -1 <= 0: [max, max / 2]
      #expect(v[2] >= -2 && v[2] <= -1)  // s = +1, min -1 <= 0: [2 min, min]
      #expect(v[3] >= 4 && v[3] <= 8)  // s = -1, max 4 > 0: [max, 2 max]
    }
  }

  @Test("fang against krum makes Krum pick a malicious update")
  func fangKrum() throws {
    let attack = try updateAttack(#"{"name": "fang", "clients": 3, "against": "krum"}"#)
    // Benign updates spread around a small mean, as SGD updates are.
    let benign = (0..<7).map { gaussian(20, seed: UInt64(40 + $0), scale: 1).map { $0 + 0.1 } }
    let out = craft(attack, benign: benign, attackers: 3, received: 10)
    let all = UpdateSet(rows: benign + (0..<3).map { Array(out[($0 * 20)..<($0 * 20 + 20)]) })
    var krum = Krum(f: 3)
    let chosen = try krum.aggregate(all, context: DefenseContext(round: 1))
    let kept = (0..<10).filter { !chosen.outcome.flagged.contains($0) }
    #expect(kept.count == 1 && kept[0] >= 7, "Krum kept \(kept)")
  }
}
