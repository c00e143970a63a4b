import Foundation
import Testing

@testable import PoisonLab

/// Each mismatch between the docs and the binary that a newcomer's review
/// found (2026-12-02, session 20) stays fixed.
@Suite("Reliability: docs against behaviour", .serialized)
struct DocsReviewTests {
  let federated =
    #"{"name": "t", "dataset": {"name": "synthetic"}, "model": {"name": "logistic"}, "federation": {"clients": 4}"#

  /// The problems of a scenario text, or [] when it is valid.
  func problems(_ text: String, overrides: [String] = []) -> [ScenarioError] {
    do {
      _ = try ScenarioLoader.decode(text, source: "t.json", overrides: overrides)
      return []
    } catch {
      return error.errors
    }
  }

  @Test("did-you-mean counts a transposition as one edit: medain is median, not mean")
  func transpositions() {
    // Hand-computed: optimal string alignment distances.
    #expect(Suggest.distance("ab", "ba") == 1)
    #expect(Suggest.distance("medain", "median") == 1)
    #expect(Suggest.distance("medain", "mean") == 2)
    #expect(Suggest.distance("kitten", "sitting") == 3)
    #expect(Suggest.distance("ca", "abc") == 3)  // OSA: no edit of a transposed pair
    #expect(Suggest.distance("", "abc") == 3 && Suggest.distance("abc", "") == 3)
    let names = Registry.descriptors(.defenses).map(\.name)
    #expect(Suggest.closest(to: "medain", in: names) == "median")
    #expect(Suggest.closest(to: "meidan", in: names) == "median")
    #expect(Suggest.closest(to: "trimed-mean", in: names) == "trimmed-mean")
  }

  @Test("local_epochs other than 1 beside local_steps is refused; 1 (the default) is not")
  func epochsAndSteps() {
    let both = problems(federated + #", "training": {"local_epochs": 5, "local_steps": 1}}"#)
    #expect(both.count == 1)
    #expect(both.first?.path.description == "training.local_epochs")
    #expect(both.first?.message.contains("local_steps replaces local_epochs") == true)
    #expect(problems(federated + #", "training": {"local_epochs": 1, "local_steps": 3}}"#).isEmpty)
    #expect(problems(federated + #", "training": {"local_steps": 3}}"#).isEmpty)
    #expect(
      problems(
        federated + #", "training": {"local_epochs": 5}}"#,
        overrides: ["training.local_epochs=null", "training.local_steps=1"]
      ).isEmpty)
  }

  @Test("a string where a plug-in object belongs is one problem, said once")
  func oneProblemOnce() {
    let found = problems(federated + #", "attack": "alie"}"#)
    #expect(found.count == 1, "\(found)")
    #expect(found.first?.path.description == "attack")
  }

  @Test("integers up to 2^53 print as integers in JSON (seeds), larger ones in exponent form")
  func integers() {
    #expect(JSONValue.format(9_007_199_254_740_991) == "9007199254740991")
    #expect(JSONValue.format(1e15) == "1000000000000000")
    #expect(JSONValue.format(-9_007_199_254_740_992) == "-9007199254740992")
    #expect(JSONValue.format(1e20) == "1e+20")
    #expect(JSONValue.format(0.5) == "0.5")
  }

  @Test("aggregate's f check speaks of rows, not of clients per round")
  func aggregateRows() {
    #expect(throws: ScenarioErrors.self) {
      _ = try ScenarioLoader.defenseChain(
        .object([JSONMember("name", .string("krum")), JSONMember("f", .number(3))]),
        source: "--defense", updates: 8)
    }
    do {
      _ = try ScenarioLoader.defenseChain(
        .object([JSONMember("name", .string("krum")), JSONMember("f", .number(3))]),
        source: "--defense", updates: 8)
    } catch {
      let message = error.errors.first?.message ?? ""
      #expect(message.contains("n = 8 rows of updates and f = 3"), "\(message)")
      #expect(!message.contains("clients_per_round"))
    }
  }

  @Test("list signals shows the monitor's signals alone; json too")
  func listSignals() throws {
    let text = try CLI.run(["list", "signals"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("fldetector") && text.stdout.contains("update_norm"))
    #expect(!text.stdout.contains("quarantine") && !text.stdout.contains("datasets"))
    let json = try CLI.run(["list", "signals", "--json"])
    guard case .object(let members) = try JSONParser.parse(json.stdout) else {
      Issue.record("not an object")
      return
    }
    #expect(members.map(\.key) == ["signals"])
  }

  @Test("report --metrics shows only the columns asked for when there is no worst case")
  func metricsColumns() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = (0..<2).map { i in
      #"{"type": "summary", "run_id": "r\#(i)", "axes": {"seed": \#(i), "training.learning_rate": 0.1}, "scenario": "s", "round": 1, "accuracy": 0.5, "flagged": \#(i)}"#
    }
    let file = dir.write("r.jsonl", text: rows.joined(separator: "\n") + "\n")
    let plain = try CLI.run(["report", file, "--metrics", "flagged", "--format", "csv"])
    #expect(plain.status == 0, "\(plain.stderr)")
    let header = plain.stdout.split(separator: "\n").first.map(String.init) ?? ""
    #expect(header.contains("flagged") && !header.contains("accuracy"), "\(header)")
    // With an attack and a defense axis the worst case's metric joins them.
    let worst = (0..<2).map { i in
      #"{"type": "summary", "run_id": "w\#(i)", "axes": {"attack.name": "a\#(i)", "defense.name": "median"}, "scenario": "s", "round": 1, "accuracy": 0.5, "flagged": 1}"#
    }
    let other = dir.write("w.jsonl", text: worst.joined(separator: "\n") + "\n")
    let judged = try CLI.run(["report", other, "--metrics", "flagged", "--format", "csv"])
    #expect(judged.status == 0, "\(judged.stderr)")
    #expect(judged.stdout.split(separator: "\n").first?.contains("accuracy") == true)
  }
}
