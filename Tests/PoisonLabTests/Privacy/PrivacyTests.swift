import Testing

@testable import PoisonLab

@Suite("RDP accountant")
struct PrivacyTests {
  /// TensorFlow Privacy, tutorials/README.md, "Select Parameters" (MNIST, 60,000
  /// examples, batch 256, delta 1e-5; the tutorial's steps = epochs * (60000 // 256)):
  /// noise 1.12 for 60 epochs -> 2.92; 0.6 for 30 -> 9.74; 1.2 for 10 -> 1.20.
  @Test(
    "matches TF-Privacy's published MNIST DP-SGD table to 2 decimals",
    arguments: [(1.12, 60, 2.92), (0.6, 30, 9.74), (1.2, 10, 1.20)])
  func publishedTable(noise: Double, epochs: Int, published: Double) {
    let (epsilon, _) = RDPAccountant.epsilon(
      q: 256.0 / 60_000, noiseMultiplier: noise, steps: epochs * 234, delta: 1e-5)
    #expect(abs(epsilon - published) < 0.01, "epsilon \(epsilon) vs published \(published)")
  }

  /// Goldens from Fixtures/rdp_reference.py (an independent SciPy implementation).
  @Test("integer and fractional orders and the conversion match the reference implementation")
  func reference() {
    #expect(
      isClose(
        RDPAccountant.rdp(q: 0.01, sigma: 1.1, alpha: 2.5), 0.000_162_077_409_330_898_2, rtol: 1e-9)
    )
    #expect(
      isClose(
        RDPAccountant.rdp(q: 0.01, sigma: 1.1, alpha: 8), 0.000_584_070_335_520_246_7, rtol: 1e-9))
    let a = RDPAccountant.epsilon(q: 0.01, noiseMultiplier: 1.1, steps: 1000, delta: 1e-5)
    #expect(isClose(a.epsilon, 2.082_084_544_256_858_3, rtol: 1e-9) && a.order == 9.8)
    let b = RDPAccountant.epsilon(q: 0.1, noiseMultiplier: 4, steps: 500, delta: 1e-6)
    #expect(isClose(b.epsilon, 3.226_775_518_684_522_4, rtol: 1e-9))
  }

  /// Goldens from Fixtures/logerfc_reference.py (mpmath, 50 digits): erfc(x)
  /// is subnormal from x ~ 26.6 and underflows past 27.3.
  @Test(
    "logErfc keeps its digits where erfc is subnormal or underflows (mpmath goldens)",
    arguments: [
      (26.0, -679.831_199_763_194_23), (26.7, -716.747_728_653_241_42),
      (27.0, -732.868_886_507_897_41), (27.3, -749.169_921_403_414_45),
      (30.0, -903.974_117_110_643_88),
    ])
  func logErfc(x: Double, golden: Double) {
    #expect(isClose(RDPAccountant.logErfc(x), golden, rtol: 1e-13), "\(RDPAccountant.logErfc(x))")
  }

  /// The issue's case: mpmath integration and Opacus give 44.51054577; the
  /// subnormal erfc made it 44.51054044.
  @Test("epsilon at q 0.5, z 1, 100 steps matches mpmath and Opacus (44.51054577)")
  func subnormalRegion() {
    let e = RDPAccountant.epsilon(q: 0.5, noiseMultiplier: 1, steps: 100, delta: 1e-5).epsilon
    #expect(abs(e - 44.510_545_77) < 5e-8, "\(e)")
  }

  @Test(
    "limits: no sampling is no privacy loss beyond the conversion; full sampling is the Gaussian mechanism"
  )
  func limits() {
    #expect(RDPAccountant.rdp(q: 0, sigma: 1, alpha: 5) == 0)
    #expect(isClose(RDPAccountant.rdp(q: 1, sigma: 2, alpha: 3), 3.0 / 8))
    // More steps or less noise never lowers epsilon.
    let few = RDPAccountant.epsilon(q: 0.02, noiseMultiplier: 1, steps: 100, delta: 1e-5).epsilon
    let many = RDPAccountant.epsilon(q: 0.02, noiseMultiplier: 1, steps: 1000, delta: 1e-5).epsilon
    let noisier = RDPAccountant.epsilon(q: 0.02, noiseMultiplier: 2, steps: 1000, delta: 1e-5)
      .epsilon
    #expect(few < many && noisier < many)
  }

  @Test("poisonlab privacy prints epsilon and the order (json) and rejects bad input")
  func cli() throws {
    let r = try CLI.run([
      "privacy", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--steps", "1000", "--delta",
      "1e-5", "--format", "json",
    ])
    #expect(r.status == 0)
    #expect(
      r.stdout
        == #"{"epsilon": 2.0820845442568583, "order": 9.8, "delta": 1e-05, "unbounded": false}"#
        + "\n")
    let noise = try CLI.run([
      "privacy", "--noise-multiplier", "0", "--sample-rate", "0.01", "--steps", "1", "--delta",
      "1e-5",
    ])
    #expect(noise.status == 2 && noise.stderr.contains("--noise-multiplier must be > 0"))
    let rate = try CLI.run([
      "privacy", "--noise-multiplier", "1", "--sample-rate", "2", "--steps", "1", "--delta",
      "1e-5",
    ])
    #expect(rate.status == 2 && rate.stderr.contains("--sample-rate must be in [0, 1]"))
  }
}

@Suite("DP-FedAvg")
struct DPFedAvgTests {
  @Test("clips every update, then adds N(0, (z * clip / m)^2) to the mean (seed 3)")
  func noise() throws {
    let d = 20_000
    let rows: [[Float]] = [
      [Float](repeating: 0.01, count: d), [Float](repeating: -0.01, count: d),
      [Float](repeating: 0, count: d), [Float](repeating: 0, count: d),
    ]
    var chain = DefenseChain([DPFedAvg(clip: 1, noiseMultiplier: 2), Mean()])
    let result = try chain.run(
      UpdateSet(rows: rows), round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(3))
    // The first two rows have norm 0.01 * sqrt(20000) = 1.414 > 1: clipped to 1; their mean cancels.
    let mean = result.aggregate.reduce(0.0) { $0 + Double($1) } / Double(d)
    let std =
      (result.aggregate.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(d) - mean * mean)
      .squareRoot()
    #expect(abs(mean) < 0.01)
    #expect(isClose(std, 2.0 * 1 / 4, rtol: 0.03))  // z * clip / m with m = 4 received updates
    #expect(result.flagged == [false, false, false, false])
    let clipped = try #require(result.scores.first?.values.compactMap { $0 })
    #expect(isClose(clipped[0], 1.414_213_56, rtol: 1e-4))
  }

  @Test("round rows carry the epsilon the accountant gives for q = clients_per_round / clients")
  func epsilonPerRound() throws {
    let out = try federated([
      #"federation={"clients": 10, "clients_per_round": 5}"#,
      #"defense=[{"name": "dp", "clip": 1, "noise_multiplier": 1.5, "delta": 1e-6}, {"name": "mean"}]"#,
    ])
    // Goldens from Tests/PoisonLabTests/Privacy/varying_rate_reference.py
    // (numerical integration, independent of the accountant's closed forms).
    let golden = [2.981_072_031_0, 3.973_623_987_7, 4.701_449_034_2, 5.306_236_852_3]
    let rounds = out.filter { $0.kind == .round }
    #expect(rounds.map(\.round) == [1, 2, 3, 4])
    for r in rounds {
      let expected = golden[r.round - 1]
      #expect(r.epsilon.map { isClose($0, expected, rtol: 1e-6) } == true, "\(r.epsilon ?? -1)")
    }
    #expect(try federated([]).allSatisfy { $0.epsilon == nil })
  }

  @Test("dp must directly precede the mean")
  func chainRule() {
    #expect(
      scenarioErrors(fedBase + "}", overrides: [#"defense=[{"name": "dp"}, {"name": "median"}]"#])
        == [
          #"defense[0].name: "dp" must directly precede the last stage, which must be "mean" (its guarantee assumes equally weighted clipped updates)"#
        ])
    // dp alone: one error, which names mean only (not every aggregator).
    #expect(
      scenarioErrors(fedBase + "}", overrides: [#"defense=[{"name": "dp"}]"#])
        == [
          #"defense[0].name: "dp" must directly precede the last stage, which must be "mean" (its guarantee assumes equally weighted clipped updates)"#
        ])
  }
}
