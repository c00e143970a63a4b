import Foundation
import Testing

@testable import PoisonLab

/// Each wrong result the review of the defenses and attacks found stays fixed.
///
/// The review (2026-12-02, session 20) compared float64 NumPy references;
/// the cases here are hand-computed.
@Suite("Reliability: defense and attack arithmetic")
struct MathReviewTests {
  /// Five honest rows near (1, 1, 1, 1) and one attacker row `attacker`.
  func rows(attacker: [Float]) -> [[Float]] {
    [
      [1, 1, 1, 1], [1.1, 0.9, 1, 1], [0.9, 1.1, 1, 1], [1, 1, 1.1, 0.9], [1, 1, 0.9, 1.1],
      attacker,
    ]
  }

  @Test("geometric-median: one finite update of 1e19 or 1e30 gets no weight (float32 overflow)")
  func geometricMedianHuge() throws {
    // The honest rows are symmetric about (1, 1, 1, 1), so their geometric
    // median is that point; an attacker far away pulls it by at most
    // about nu-independent 1/5 of a unit vector in the limit (here less
    // than 0.06 per coordinate at 1e19).
    for value: Float in [1e17, 1e19, 1e30, 3e38] {
      let (agg, outcome) = try aggregate(
        GeometricMedian(), rows(attacker: [value, value, value, value]))
      #expect(agg.allSatisfy { abs($0 - 1) < 0.06 }, "\(value): \(agg)")
      #expect((outcome.scores?[5] ?? 1) < 1e-6, "\(value)")
    }
  }

  @Test("FLTrust's trust is the cosine whatever the update's size (1e17, 1e30, 2e38)")
  func flTrustScale() throws {
    // g0 = (1, 0); the attacker's direction (0.2, sqrt(0.96)) has cos 0.2.
    var rule = FLTrust()
    let context = DefenseContext(round: 1, serverUpdate: [1, 0])
    for scale: Float in [1, 1e17, 1e30, 2e38] {
      let attacker: [Float] = [0.2 * scale, 0.979_795_9 * scale]
      let (agg, outcome) = try rule.aggregate(
        UpdateSet(rows: [[1, 0], [0.8, 0.6], attacker]), context: context)
      let trust = outcome.scores ?? []
      #expect(trust.count == 3)
      #expect(abs(trust[0] - 1) < 1e-6 && abs(trust[1] - 0.8) < 1e-6, "\(scale): \(trust)")
      #expect(abs(trust[2] - 0.2) < 1e-6, "\(scale): \(trust)")
      // Every update rescaled to |g0| = 1, weighted 1, 0.8, 0.2 (total 2):
      // ((1 + 0.64 + 0.04) / 2, (0 + 0.48 + 0.19596) / 2) = (0.84, 0.33798).
      #expect(allClose(agg, [0.84, 0.337_98], rtol: 1e-4), "\(scale): \(agg)")
    }
  }

  @Test("cosine similarities do not depend on the rows' sizes (FLAME, FoolsGold)")
  func cosineScale() {
    // (1, 0), (0, 1), (-1, 0.5): cos = 0, -1/sqrt(1.25), 0.5/sqrt(1.25).
    let expected = [1, 0, -0.894_427_19, 0, 1, 0.447_213_6, -0.894_427_19, 0.447_213_6, 1]
    for scale: Float in [1, 1e-25, 1e9, 1e19, 3e38] {
      let set = UpdateSet(rows: [[1 * scale, 0], [0, scale], [-scale, 0.5 * scale]])
      let cosines = set.cosineSimilarities()
      #expect(zip(cosines, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(scale): \(cosines)")
    }
  }

  @Test("krum picks the same update at 1e-25, 1, 1e19 and with a shared component 1e4 x the spread")
  func krumScaleAndOffset() throws {
    // Points 0, 1, 2, 3, 100 on a line (f = 1): scores 5, 2, 2, 5, 19013;
    // the tie goes to the lexicographically smaller update, 1.
    let line: [Float] = [0, 1, 2, 3, 100]
    for scale: Float in [1e-25, 1, 1e19] {
      let (agg, outcome) = try aggregate(Krum(f: 1), line.map { [$0 * scale, 0] })
      #expect(agg == [scale, 0], "\(scale)")
      let scores = outcome.scores ?? []
      let s2 = Double(scale) * Double(scale)
      #expect(abs(scores[0] / s2 - 5) < 1e-4 && abs(scores[4] / s2 - 19_013) < 1e-1, "\(scores)")
    }
    // 8 points of a unit spread around (1e4, 1e4, ...): the same choice
    // as around the origin (d = 64).
    var state = SplitMix64(seed: 7)
    let spread = (0..<8).map { _ in (0..<64).map { _ in Float(state.nextUnitDouble() - 0.5) } }
    let centred = try aggregate(Krum(f: 2), spread)
    let shifted = try aggregate(Krum(f: 2), spread.map { $0.map { $0 + 10_000 } })
    #expect(centred.outcome.flagged == shifted.outcome.flagged)
  }

  @Test("squared distances keep small integers exact (no centring when nothing is shared)")
  func exactIntegers() {
    let set = UpdateSet(rows: [[0, 0], [3, 4], [6, 8]])
    #expect(set.squaredDistances() == [0, 25, 100, 25, 0, 25, 100, 25, 0])
    #expect(set.squaredDistances(to: [3, 0]) == [9, 16, 73])
  }
}
