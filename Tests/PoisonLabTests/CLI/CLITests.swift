import Foundation
import PoisonLab
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Runs the built `poisonlab` binary (built by `swift test` beside the test bundle).
struct CLI {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  static var binary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("poisonlab")
  }

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    process.currentDirectoryURL = root
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }

  static let roundKeys = [
    "type", "scenario", "round", "accuracy", "loss", "attack_success", "robust_accuracy",
    "malicious",
    "flagged", "flagged_clients", "downweighted", "downweighted_clients", "detection_precision",
    "detection_recall", "epsilon", "messages",
    "rejected_signature", "rejected_stale", "rejected_unknown", "rejected_duplicate",
    "honest_dropped", "secure_aggregation_failed", "secagg_dropped", "secagg_client_seconds",
    "secagg_server_seconds", "secagg_bytes_per_client", "gate", "validation_accuracy", "alarms",
    "quarantined",
    "false_quarantined", "class_accuracy", "seconds",
  ]
}

@Suite("CLI end to end", .serialized)
struct CLITests {
  let smoke = "scenarios/regression/smoke-synthetic.json"

  @Test("run: jsonl records carry exactly the contract fields; exit 0")
  func jsonl() throws {
    let r = try CLI.run(["run", smoke, "--format", "jsonl"])
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.count == 5)
    for (i, line) in lines.enumerated() {
      guard case .object(let members) = try JSONParser.parse(line) else {
        Issue.record("not an object: \(line)")
        continue
      }
      let keys = members.map(\.key)
      if i < 4 {
        #expect(keys == CLI.roundKeys)
        #expect(members[0].value == .string("round"))
      } else {
        #expect(Array(keys.prefix(CLI.roundKeys.count)) == CLI.roundKeys)
        #expect(members[0].value == .string("summary"))
        #expect(keys.contains("expect_passed"))
      }
    }
  }

  @Test("run: csv and json formats; --output completes atomically")
  func formatsAndOutput() throws {
    let csv = try CLI.run(["run", smoke, "--format", "csv"])
    #expect(csv.status == 0)
    let rows = csv.stdout.split(separator: "\n")
    #expect(rows.first.map(String.init) == MetricRecord.columns.joined(separator: ","))
    #expect(rows.count == 6)
    let json = try CLI.run(["run", smoke, "--format", "json"])
    guard case .array(let items) = try JSONParser.parse(json.stdout) else {
      Issue.record("json output is not an array")
      return
    }
    #expect(items.count == 5)
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.path + "/out.jsonl"
    let quiet = try CLI.run(["run", smoke, "--output", file, "--quiet"])
    #expect(quiet.status == 0)
    #expect(quiet.stdout.isEmpty)
    #expect(FileManager.default.fileExists(atPath: file))
    #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
    let written = try String(contentsOfFile: file, encoding: .utf8)
    #expect(written.split(separator: "\n").count == 5)
    // An existing output is not replaced without --force (exit 2, before any work).
    let again = try CLI.run(["run", smoke, "--output", file, "--quiet"])
    #expect(again.status == 2 && again.stderr.contains("exists; add --force"), "\(again.stderr)")
    #expect(try String(contentsOfFile: file, encoding: .utf8) == written)
    #expect(try CLI.run(["run", smoke, "--output", file, "--quiet", "--force"]).status == 0)
    // --output with the table on stdout
    let table = try CLI.run(["run", smoke, "--output", dir.path + "/out.csv"])
    #expect(table.stdout.contains("round  accuracy"))
    #expect(
      try String(contentsOfFile: dir.path + "/out.csv", encoding: .utf8).hasPrefix(
        "type,scenario,round"))
  }

  @Test("same scenario with --threads 1 and 2: identical records but for timings")
  func threads() throws {
    func strip(_ text: String) throws -> [JSONValue] {
      try text.split(separator: "\n").map { line in
        guard case .object(let members) = try JSONParser.parse(String(line)) else { return .null }
        return .object(
          members.filter {
            !["seconds", "total_seconds", "mean_seconds_per_round"].contains($0.key)
          })
      }
    }
    let one = try CLI.run([
      "run", "scenarios/regression/backdoor-synthetic-cnn.json", "--format", "jsonl", "--threads",
      "1",
    ])
    let two = try CLI.run([
      "run", "scenarios/regression/backdoor-synthetic-cnn.json", "--format", "jsonl", "--threads",
      "2",
    ])
    #expect(one.status == 0 && two.status == 0)
    #expect(try strip(one.stdout) == strip(two.stdout))
  }

  @Test("exit 1: an expect threshold missed, listed on stderr")
  func expectMissed() throws {
    let r = try CLI.run([
      "run", smoke, "--format", "jsonl", "--set", #"expect={"accuracy": {"min": 0.999}}"#,
    ])
    #expect(r.status == 1)
    #expect(r.stderr.contains("expectations missed"))
    #expect(r.stderr.contains("expected >= 0.999"))
  }

  @Test("exit 2: invalid scenarios, bad flags; exit 3: a missing scenario file")
  func invalid() throws {
    let bad = try CLI.run(["run", smoke, "--set", "training.learning_rat=0.1"])
    #expect(bad.status == 2)
    #expect(
      bad.stderr.contains(#"training.learning_rat: unknown key; did you mean "learning_rate"?"#))
    #expect(try CLI.run(["run", smoke, "--format", "xml"]).status == 2)
    #expect(try CLI.run(["run", smoke, "--threads", "0"]).status == 2)
    #expect(try CLI.run(["run", smoke, "--bogus"]).status == 2)
    #expect(try CLI.run(["frobnicate"]).status == 2)
    // A scenario file that cannot be read is a file error (exit 3, ScenarioFileTests).
    let missing = try CLI.run(["run", "no/such/file.json"])
    #expect(missing.status == 3)
    #expect(missing.stderr.contains("no/such/file.json: cannot read the scenario file"))
    #expect(try CLI.run(["validate", smoke, "no/such.json"]).status == 3)
  }

  @Test("exit 3: missing data names the file; a divergence before any row leaves no .partial")
  func runtime() throws {
    let missing = try CLI.run([
      "run", "scenarios/quickstart.json", "--set", "dataset.path=/nonexistent/fm",
    ])
    #expect(missing.status == 3)
    #expect(missing.stderr.contains("/nonexistent/fm: not found"))
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.path + "/rows.csv"
    let diverged = try CLI.run([
      "run", smoke, "--set", "training.learning_rate=1e35", "--output", file,
    ])
    #expect(diverged.status == 3)
    #expect(diverged.stderr.contains("training diverged in round 1"))
    #expect(!FileManager.default.fileExists(atPath: file))
    // It diverged before its first row: no partial file, and no claim of rows.
    #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
    #expect(!diverged.stderr.contains("rows completed"))
  }

  @Test("validate prints the resolved scenario; list shows every plug-in")
  func validateAndList() throws {
    let v = try CLI.run(["validate", smoke])
    #expect(v.status == 0)
    let resolved = try JSONParser.parse(v.stdout)
    #expect(resolved["training"]?["momentum"] == .number(0))
    let list = try CLI.run(["list"])
    #expect(list.status == 0)
    for family in PluginFamily.allCases {
      for d in Registry.descriptors(family) {
        #expect(list.stdout.contains("  \(d.name)  —"), "\(d.name)")
      }
    }
    let json = try CLI.run(["list", "attacks", "--json"])
    let attacks = try JSONParser.parse(json.stdout)["attacks"]
    guard case .array(let items)? = attacks else {
      Issue.record("no attacks array")
      return
    }
    #expect(items.count == Registry.attacks.count)
    #expect(try CLI.run(["list", "atacks"]).stderr.contains(#"did you mean "attacks"?"#))
  }
}

@Suite("CLI check", .serialized)
struct CheckCommandTests {
  @Test(
    "check: PASS lines, the closing count, JUnit XML; exit 1 on a miss, 2 on an invalid scenario")
  func check() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let junit = dir.path + "/junit.xml"
    let ok = try CLI.run([
      "check", "scenarios/regression/smoke-synthetic.json",
      "scenarios/regression/smoke-federated.json", "--junit", junit,
    ])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.hasPrefix("PASS  scenarios/regression/smoke-synthetic.json  accuracy "))
    #expect(ok.stdout.hasSuffix("2 passed, 0 failed\n"))
    let xml = try String(contentsOfFile: junit, encoding: .utf8)
    #expect(xml.contains(#"<testsuite name="poisonlab check" tests="2" failures="0" errors="0""#))
    let parser = XMLParser(data: Data(xml.utf8))
    #expect(parser.parse(), "JUnit output is not well-formed XML")

    let miss = try CLI.run([
      "check", "scenarios/regression/smoke-synthetic.json", "--set",
      #"expect={"accuracy": {"min": 0.999}}"#, "--junit", junit,
    ])
    #expect(miss.status == 1)
    #expect(miss.stdout.contains("FAIL  scenarios/regression/smoke-synthetic.json  accuracy "))
    #expect(miss.stdout.contains(">= 0.999 MISSED"))
    #expect(miss.stdout.hasSuffix("0 passed, 1 failed\n"))
    #expect(
      try String(contentsOfFile: junit, encoding: .utf8).contains(#"<failure message="accuracy "#))

    let bad = try CLI.run([
      "check", "scenarios/regression/smoke-synthetic.json", "--set", "training.rounds=0",
    ])
    #expect(bad.status == 2)
    #expect(
      bad.stdout.contains(
        "ERROR scenarios/regression/smoke-synthetic.json  invalid scenario: training.rounds"))
    #expect(bad.stdout.hasSuffix("0 passed, 0 failed, 1 error\n"), "\(bad.stdout)")
    let noExpect = try CLI.run([
      "check", "scenarios/regression/smoke-synthetic.json", "--set", "expect={}",
    ])
    #expect(noExpect.status == 2)
    #expect(noExpect.stdout.contains("no expect block"))
  }
}

@Suite("Help and guides")
struct HelpTests {
  @Test("every command's --help shows an example, unwrapped; guide prints a plug-in's guide")
  func help() throws {
    for command in [
      "run", "sweep", "report", "validate", "check", "list", "guide", "aggregate", "audit",
      "privacy", "schema", "bench",
    ] {
      let r = try CLI.run([command, "--help"])
      #expect(r.status == 0 && r.stdout.contains("Example"), "\(command)")
      let example = r.stdout.components(separatedBy: "Example").last ?? ""
      let lines = example.components(separatedBy: "USAGE").first?.split(separator: "\n") ?? []
      // ArgumentParser wraps long lines: an example must fit, or it would not paste.
      for line in lines.dropFirst() where !line.isEmpty {
        #expect(line.hasPrefix("  "), "\(command): a wrapped example line: \(line)")
      }
    }
    let krum = try CLI.run(["guide", "krum"])
    #expect(
      krum.status == 0 && krum.stdout.hasPrefix("krum\n====") && krum.stdout.contains("Definition"))
    #expect(!krum.stdout.contains("`"), "markdown marks are removed")
    let csv = try CLI.run(["guide", "formats/csv"])
    #expect(csv.status == 0 && csv.stdout.contains("family: formats"))
    let typo = try CLI.run(["guide", "krm"])
    #expect(typo.status == 2 && typo.stderr.contains(#"did you mean "krum""#))
    #expect(try CLI.run(["guide"]).stdout.contains("datasets: fashion-mnist"))
    for topic in ["quarantine", "validation", "response", "channel", "safeguards/update_norm"] {
      #expect(try CLI.run(["guide", topic]).status == 0, "\(topic)")
    }
    // Found through PATH from another folder (argv[0] is then a bare name),
    // the binary still finds its repository's guide.
    let throughPath = try CLI.shell(
      #"PATH="$(dirname "$POISONLAB"):$PATH" && cd / && poisonlab guide krum"#)
    #expect(throughPath.status == 0 && throughPath.stdout.contains("docs/guides/defenses/krum.md)"))
    #expect(throughPath.stdout.contains("Definition"))
    // A copy outside any repository says where the full guide is.
    let copy = TemporaryDirectory()
    defer { copy.cleanup() }
    let copied = try CLI.shell(
      #"cp "$POISONLAB" poisonlab && cd / && "\#(copy.path)/poisonlab" guide krum"#, in: copy.path)
    #expect(copied.status == 0 && copied.stdout.contains("family: defenses (aggregator)"))
    #expect(
      copied.stdout.contains("the full guide, with the definition, is docs/guides/defenses/krum.md")
    )
  }
}
