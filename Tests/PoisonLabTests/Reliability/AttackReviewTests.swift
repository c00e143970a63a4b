import Foundation
import Testing

@testable import PoisonLab

/// Each wrong result the review of the attacks found stays fixed.
///
/// The review (2026-12-03, session 21) recomputed every crafted row of
/// exported rounds in NumPy against the papers and their official code.
@Suite("Reliability: attack arithmetic", .serialized)
struct AttackReviewTests {
  /// A small federated scenario (8 clients, synthetic data) with `overrides`.
  func run(_ overrides: [String]) throws -> CLI.Result {
    try CLI.run(
      [
        "run", "scenarios/federated/sweep-synthetic.json", "--format", "jsonl", "--set",
        "sweep=null",
      ]
        + overrides.flatMap { ["--set", $0] })
  }

  @Test("fang with knowledge own is the paper's partial-knowledge attack: mu - s sigma (3 + u)")
  func fangPartial() throws {
    // Own updates (1, -2), (3, -2), (2, -5): mu = (2, -3), sigma =
    // (sqrt(2/3), sqrt(2)), s = (+1, -1): each attacker sends, per
    // coordinate, a value in [mu - 4 sigma, mu - 3 sigma] = [-1.266, -0.449]
    // for the first and [mu + 3 sigma, mu + 4 sigma] = [1.243, 2.657] for
    // the second.
    let own = UpdateSet(rows: [[1, -2], [3, -2], [2, -5]])
    let view = AttackView(benign: own, own: own, attackers: 3, received: 10)
    let base =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 10}}"#
    let fang = try #require(
      try scenario(
        base, overrides: [#"attack={"name": "fang", "clients": 3, "knowledge": "own"}"#]
      ).attacks.first?.attack as? any UpdateAttack)
    var rng = SplitMix64(seed: 4)
    let rows = fang.craft(view, rng: &rng)
    #expect(rows.count == 6)
    let (s0, s1) = (2.0 / 3.0, 2.0).self
    for a in 0..<3 {
      let (x, y) = (Double(rows[2 * a]), Double(rows[2 * a + 1]))
      #expect(x >= 2 - 4 * s0.squareRoot() - 1e-6 && x <= 2 - 3 * s0.squareRoot() + 1e-6, "\(x)")
      #expect(y >= -3 + 3 * s1.squareRoot() - 1e-6 && y <= -3 + 4 * s1.squareRoot() + 1e-6, "\(y)")
    }
    // Independent draws per attacker.
    #expect(rows[0] != rows[2] && rows[2] != rows[4])
  }

  @Test("own knowledge probes the chain with f = max(1, c^2 / n), the official code's n_attacker_")
  func ownProbeF() {
    #expect(FederatedSimulation.ownProbeF(attackers: 4, received: 20) == 1)
    #expect(FederatedSimulation.ownProbeF(attackers: 10, received: 50) == 2)
    #expect(FederatedSimulation.ownProbeF(attackers: 2, received: 8) == 1)
  }

  @Test("a defense-aware search that can never run the chain stops the run (exit 3), named")
  func blindSearch() throws {
    // Two attackers with knowledge own: krum on their 2 own updates plus 2
    // candidates with f = 1 needs more than 4 rows; every evaluation fails.
    let blind = try run([
      #"attack={"name": "alie", "clients": 2, "optimize": true, "knowledge": "own"}"#,
      "defense.name=krum",
    ])
    #expect(blind.status == 3, "\(blind.stderr)")
    #expect(
      blind.stderr.contains("attack alie")
        && blind.stderr.contains("could not evaluate it on any candidate")
        && blind.stderr.contains("f taken as 1"), "\(blind.stderr)")
    // Three attackers: 6 rows, f = 1, krum runs; the run finishes.
    let runs = try run([
      #"attack={"name": "alie", "clients": 3, "optimize": true, "knowledge": "own"}"#,
      #"defense={"name": "krum", "f": 2}"#,
    ])
    #expect(runs.status == 0, "\(runs.stderr)")
    // Omniscient attackers run the real chain on the round's 8 updates.
    let omniscient = try run([
      #"attack={"name": "min-max", "clients": 2, "aggregator_aware": true}"#,
      "defense.name=multi-krum",
    ])
    #expect(omniscient.status == 0, "\(omniscient.stderr)")
  }

  @Test("aggregator-aware min-max against multi-krum: the attackers are selected in the run")
  func tailoredInRun() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r = try CLI.run([
      "run", "scenarios/federated/sweep-synthetic.json", "--format", "jsonl", "--set", "sweep=null",
      "--set", #"attack={"name": "min-max", "clients": 2, "aggregator_aware": true}"#,
      "--set", "defense.name=multi-krum", "--save-updates", dir.path,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    // Every round: the attackers' rows are not flagged (multi-krum kept them).
    for round in 1...2 {
      let facts = try JSONParser.parse(
        try String(
          contentsOfFile: dir.path + String(format: "/round-%04d.json", round), encoding: .utf8))
      guard case .array(let malicious)? = facts["malicious"],
        case .array(let flagged)? = facts["flagged"]
      else {
        Issue.record("round \(round): no malicious/flagged rows in \(facts.serialized())")
        continue
      }
      let attackers = malicious.indices.filter { malicious[$0] == .bool(true) }
      #expect(attackers.count == 2)
      let rows = Set(
        flagged.compactMap { value -> Int? in
          if case .number(let x) = value { return Int(x) }
          return nil
        })
      #expect(!flagged.isEmpty && attackers.allSatisfy { !rows.contains($0) }, "round \(round)")
    }
  }

  @Test(
    "the selection test needs a rule that rejected a row; a probe keeping all rows stops the run")
  func vacuousSelection() throws {
    // multi-krum with m 8 keeps every row of the own-knowledge probe (4 own
    // updates plus 4 candidates): the search could not tell, it had
    // climbed to twice gamma (updates of norm 100).
    let r = try run([
      #"attack={"name": "min-max", "clients": 4, "aggregator_aware": true, "knowledge": "own"}"#,
      #"defense={"name": "multi-krum", "f": 1, "m": 8}"#, "federation.clients=12",
    ])
    #expect(r.status == 3, "\(r.stderr)")
    #expect(
      r.stderr.contains("attack min-max") && r.stderr.contains("kept all 8 rows"), "\(r.stderr)")
    // ALIE's deviation search is not a selection test: it runs.
    let alie = try run([
      #"attack={"name": "alie", "clients": 4, "optimize": true, "knowledge": "own"}"#,
      #"defense={"name": "multi-krum", "f": 1, "m": 8}"#, "federation.clients=12",
    ])
    #expect(alie.status == 0, "\(alie.stderr)")
  }

  @Test("fang with knowledge own needs 2 attackers (3 against krum)")
  func fangPartialCount() {
    let base =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 10}}"#
    #expect(
      scenarioErrors(
        base, overrides: [#"attack={"name": "fang", "clients": 1, "knowledge": "own"}"#]
      )
      .first?.hasPrefix("attack.clients: fang with knowledge own") == true)
    #expect(
      scenarioErrors(
        base,
        overrides: [
          #"attack={"name": "fang", "clients": 2, "knowledge": "own", "against": "krum"}"#
        ]
      ).first?.contains("at least 3 attackers against krum") == true)
    #expect(
      scenarioErrors(
        base, overrides: [#"attack={"name": "fang", "clients": 2, "knowledge": "own"}"#]
      )
      .isEmpty)
  }

  @Test("aggregate names NaN rows under fedavg rather than blaming overflow")
  func aggregateNaNRows() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("n.csv", text: "1,2\nnan,1\n3,4\n")
    let r = try CLI.run(["aggregate", file, "--defense", "fedavg"])
    #expect(r.status == 3 && r.stderr.contains("row(s) 1 hold NaN or Inf"), "\(r.stderr)")
  }
}
