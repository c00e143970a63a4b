import Foundation
import Testing

@testable import PoisonLab

/// The scenario contract (the shared scenario-format.md, v1 and v2): every
/// name it lists is accepted with the meaning it gives, beside this
/// project's own names.
@Suite("The scenario contract's names and rules")
struct ContractTests {
  /// A small federated scenario with `extra` top-level keys.
  func federated(_ extra: String) -> String {
    #"{"name": "c", "seed": 0, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 400, "test_size": 100}, "model": {"name": "logistic"}, "training": {"rounds": 2, "batch_size": 16, "learning_rate": 0.05}, "federation": {"clients": 6}, \#(extra)}"#
  }

  /// The round rows of a run.
  func rounds(_ text: String) throws -> [MetricRecord] {
    var out: [MetricRecord] = []
    try Experiment(scenario: try scenario(text), threads: 1).run {
      if $0.kind == .round { out.append($0) }
    }
    return out
  }

  @Test("every attack and defense name of the contract's tables is registered")
  func names() {
    let attacks = Set(Registry.descriptors(.attacks).map(\.name))
    for name in [
      "label-flip", "backdoor", "dba", "sign-flip", "gaussian", "scaling", "alie", "ipm", "min-max",
      "min-sum", "fang", "mimic", "nan", "tamper", "replay", "sybil", "impersonate",
    ] {
      #expect(attacks.contains(name), "attack \(name)")
    }
    let defenses = Set(Registry.descriptors(.defenses).map(\.name))
    for name in [
      "fedavg", "mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan",
      "geometric-median",
      "centered-clipping", "fltrust", "foolsgold", "flame", "dnc", "norm-clip", "nnm", "bucketing",
      "anomaly", "dp", "authenticate", "spectral-signatures", "activation-clustering",
    ] {
      #expect(defenses.contains(name), "defense \(name)")
    }
  }

  @Test("null in a file removes the key, as --set KEY=null does")
  func nullInFile() throws {
    let text = federated(
      #""attack": null, "safeguards": null, "audit": null, "expect": null, "defense": {"name": "krum", "f": null}"#
    )
    let s = try scenario(text)
    #expect(s.attacks.isEmpty && s.audit == nil && s.expectations.isEmpty)
    #expect(s.resolved["defense"]?["f"] == .number(0))
    // A required block set to null is missing, an error naming it.
    let missing = scenarioErrors(
      text.replacingOccurrences(of: #""model": {"name": "logistic"}"#, with: #""model": null"#))
    #expect(missing.contains { $0.hasPrefix("model:") }, "\(missing)")
  }

  @Test("a sweep file's \"sweep\": null is no sweep block; null values of an axis stay values")
  func nullSweep() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let none = dir.write("none.json", text: federated(#""sweep": null"#))
    let plan = try SweepPlan.expand(file: none, grids: [], seeds: [0, 1], overrides: [])
    #expect(plan.runs.count == 2 && plan.axes.map(\.path) == ["seed"])
    let axis = dir.write(
      "axis.json",
      text: federated(#""sweep": {"attack": [null, {"name": "gaussian", "clients": 1}]}"#))
    let runs = try SweepPlan.expand(file: axis, grids: [], seeds: nil, overrides: []).runs
    #expect(runs.count == 2)
    #expect(try runs[0].scenario.get().attacks.isEmpty && runs[1].scenario.get().attacks.count == 1)
  }

  @Test("tamper takes the contract's fraction (a share, rounded, at least one) or messages")
  func tamperFraction() throws {
    let text = federated(
      #""channel": {"authentication": "ed25519"}, "attack": {"name": "tamper", "fraction": 0.4}"#)
    // 6 honest messages x 0.4 = 2.4: 2 tampered, all rejected.
    #expect(try rounds(text).allSatisfy { $0.channel?.rejectedSignature == 2 })
    let small = text.replacingOccurrences(of: "0.4", with: "0.01")
    #expect(try rounds(small).allSatisfy { $0.channel?.rejectedSignature == 1 })
    let both = text.replacingOccurrences(
      of: #""fraction": 0.4"#, with: #""fraction": 0.4, "messages": 2"#)
    #expect(scenarioErrors(both).first?.hasPrefix("attack.fraction: give either messages") == true)
  }

  @Test("sybil takes the contract's count or identities, not both")
  func sybilCount() throws {
    let text = federated(
      #""channel": {"authentication": "ed25519"}, "attack": {"name": "sybil", "count": 3, "update": {"name": "sign-flip"}}"#
    )
    #expect(try rounds(text).allSatisfy { $0.channel?.rejectedUnknown == 3 })
    let both = text.replacingOccurrences(of: #""count": 3"#, with: #""count": 3, "identities": 3"#)
    #expect(scenarioErrors(both).first?.hasPrefix("attack.count: is the contract's name") == true)
  }

  @Test(
    "the authenticate filter turns on ed25519 with closed enrolment; a channel saying otherwise is refused"
  )
  func authenticate() throws {
    let text = federated(
      #""attack": {"name": "tamper", "messages": 2}, "defense": [{"name": "authenticate"}, {"name": "fedavg"}]"#
    )
    let s = try scenario(text)
    #expect(s.channel.authentication == .ed25519 && s.channel.enrolment == .closed)
    #expect(s.resolved["channel"]?["authentication"] == .string("ed25519"))
    #expect(try rounds(text).allSatisfy { $0.channel?.rejectedSignature == 2 && $0.flagged == 2 })
    for channel in [#"{"authentication": "none"}"#, #"{"enrolment": "open"}"#] {
      let conflict = text.replacingOccurrences(
        of: #""attack""#, with: #""channel": \#(channel), "attack""#)
      #expect(scenarioErrors(conflict).first?.hasPrefix("defense[0].name: authenticate") == true)
    }
    let centralized =
      #"{"name": "c", "dataset": {"name": "synthetic", "classes": 3, "features": 10}, "model": {"name": "logistic"}, "defense": {"name": "authenticate"}}"#
    #expect(
      scenarioErrors(centralized).contains {
        $0.hasPrefix("defense.name: authenticates federated updates")
      }, "\(scenarioErrors(centralized))")
  }

  @Test(
    "every federated attack takes reported_samples: tamper and replay write it into what they send")
  func networkReportedSamples() throws {
    // Under the server's own records the claim changes nothing, under the
    // clients' claims it weighs: the run differs.
    let base = federated(
      #""attack": {"name": "tamper", "messages": 1, "transform": "scale", "factor": 1, "reported_samples": 100000}"#
    )
    let lying = try rounds(base)
    // factor 1 changes no bit of the update: only the count makes the message malicious.
    #expect(lying.allSatisfy { $0.malicious == 1 })
    let honest = try rounds(
      base.replacingOccurrences(of: #", "reported_samples": 100000"#, with: ""))
    #expect(honest.allSatisfy { $0.malicious == 0 })
    #expect(lying.last?.accuracy != honest.last?.accuracy || lying.last?.loss != honest.last?.loss)
    let replay = federated(#""attack": {"name": "replay", "reported_samples": 5}"#)
    #expect(scenarioErrors(replay) == [])
    #expect(try rounds(replay).last?.malicious == 1)
  }

  @Test("a misspelt key set to null is still an unknown key (null leaves out known keys only)")
  func nullTypos() {
    let typo = federated(#""defence": null"#)
    #expect(
      scenarioErrors(typo).first?.hasPrefix(#"defence: unknown key; did you mean "defense"?"#)
        == true)
    let nested = federated(#""attack": {"name": "tamper", "bogus": null}"#)
    #expect(scenarioErrors(nested).first?.hasPrefix("attack.bogus: unknown key") == true)
    // A null inside a --set value is left out as one in the file.
    #expect(
      scenarioErrors(
        federated(#""attack": {"name": "tamper", "messages": 2}"#),
        overrides: [#"attack={"name": "tamper", "fraction": null, "messages": 2}"#]) == [])
  }

  @Test(
    "every scenario's resolved form (what validate prints) validates again and resolves to itself")
  func resolvedRoundTrip() throws {
    let directory = CLI.root.appendingPathComponent("scenarios")
    let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path)
      .filter { $0.hasSuffix(".json") && !$0.hasSuffix(".invalid.json") }.sorted()
    #expect(files.count > 50)
    for file in files {
      let path = directory.appendingPathComponent(file).path
      let first = try ScenarioLoader.load(file: path)
      let text = first.resolved.serialized()
      do {
        let again = try ScenarioLoader.decode(
          text, source: file, baseDirectory: (path as NSString).deletingLastPathComponent)
        #expect(again.resolved == first.resolved, "\(file)")
      } catch {
        Issue.record("\(file): the resolved scenario is refused: \(error)")
      }
    }
  }
}
