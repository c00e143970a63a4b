import Foundation
import Testing

@testable import PoisonLab

/// Each case the review of the tool's I/O, exit codes and resources found
/// (2026-12-03, session 22) stays fixed.
@Suite("Reliability: I/O, resources and arguments (session 22)", .serialized)
struct IOReviewTests {
  @Test("no output may name a file of the scenario's dataset (it replaced the data)")
  func datasetFilesAreInputs() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    var rows = "a,b,label\n"
    for i in 0..<60 { rows += "\(i % 7),\(i % 5),\(i % 2)\n" }
    let data = dir.write("data.csv", text: rows)
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "csv", "dataset": {"name": "csv", "train": "data.csv", "test_fraction": 0.2}, "model": {"name": "logistic"}, "training": {"rounds": 1, "batch_size": 8}}"#
    )
    let attempts: [[String]] = [
      ["run", scenario, "--plot", data],
      ["run", scenario, "--output", data, "--force"],
      ["run", scenario, "--save-model", data, "--force"],
      ["check", scenario, "--junit", data],
      ["sweep", scenario, "--seeds", "0-1", "--output", data],
    ]
    for arguments in attempts {
      let r = try CLI.run(arguments)
      #expect(
        r.status == 2 && r.stderr.contains("the dataset's file"), "\(arguments): \(r.stderr)")
      #expect(try String(contentsOfFile: data, encoding: .utf8) == rows, "\(arguments)")
    }
    // The folder datasets name every file their loader accepts.
    let files = IDXImages.candidates(in: "/d")
    #expect(files.count == 16 && files.contains("/d/t10k-labels.idx1-ubyte.gz"))
  }

  @Test("aggregate estimates a rule's n x n matrices before allocating them")
  func aggregateMemory() throws {
    func chain(_ name: String) throws -> DefenseChain {
      try ScenarioLoader.defenseChain(
        .object([JSONMember("name", .string(name))]), source: "--defense", updates: 30_000
      ).0
    }
    let krum = try chain("krum").memoryEstimate(rows: 30_000, dimension: 2)
    let median = try chain("median").memoryEstimate(rows: 30_000, dimension: 2)
    // 24 bytes for each of the 9e8 pairs; the median has no pairs.
    #expect(krum.total >= 30_000 * 30_000 * 24 && median.total < 2_000_000)
    let budget = MemoryBudget(bytes: 1 << 30, source: "a test")
    #expect(krum.exceeds(budget) && !median.exceeds(budget))
  }

  @Test("report: a torn last line is left out with a note; a pipe is read up to 64 MiB")
  func reportInputs() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let row =
      #"{"type": "summary", "run_id": "r1", "axes": {"seed": 0}, "scenario": "s", "round": 1, "accuracy": 0.5}"#
    let file = dir.write("torn.jsonl", text: row + "\n" + #"{"type": "summ"#)
    let r = try CLI.run(["report", file])
    #expect(r.status == 0 && r.stderr.contains("last line was cut off"), "\(r.stderr)")
    // A torn line in the middle is still an error.
    let middle = dir.write("middle.jsonl", text: #"{"type": "summ"# + "\n" + row + "\n")
    #expect(try CLI.run(["report", middle]).status == 3)
    let pipe = try CLI.shell(#"head -c 70000000 /dev/zero | "$POISONLAB" report /dev/stdin"#)
    #expect(pipe.status == 3 && pipe.stderr.contains("67108864"), "\(pipe.stderr)")
  }

  @Test("arguments that are not UTF-8 are refused, not read as another file name")
  func nonUTF8Arguments() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r = try CLI.shell(#""$POISONLAB" validate "$(printf 'sc\377.json')""#, in: dir.path)
    #expect(r.status == 2 && r.stderr.contains("is not UTF-8"), "\(r.stderr)")
  }

  @Test("--set values that start as JSON must be JSON; synthetic sizes name the key set")
  func scenarioValues() throws {
    let quickstart = CLI.root.path + "/scenarios/quickstart.json"
    for value in ["name=[1,2", #"defense={"name": "median""#] {
      let r = try CLI.run(["validate", quickstart, "--set", value])
      #expect(r.status == 2 && r.stderr.contains("not valid JSON"), "\(value): \(r.stderr)")
    }
    // A bare word stays a string.
    #expect(try CLI.run(["validate", quickstart, "--set", "defense.name=median"]).status == 0)
    let synthetic = CLI.root.path + "/scenarios/federated/sweep-synthetic.json"
    let big = try CLI.run([
      "validate", synthetic, "--set", "sweep=null", "--set", "dataset.test_size=1000000000",
    ])
    #expect(big.status == 2 && big.stderr.contains("dataset.test_size:"), "\(big.stderr)")
  }

  @Test("Ctrl-C before the first row: no empty partial file named as holding rows")
  func interruptBeforeRows() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // Generating 3 million samples takes seconds: the signal arrives first.
    let process = try CLI.start(
      [
        "run", CLI.root.path + "/scenarios/federated/sweep-synthetic.json", "--set", "sweep=null",
        "--set", "dataset.train_size=3000000", "--set", "dataset.features=100",
        "--output", dir.path + "/out.jsonl", "--quiet",
      ], in: dir.path)
    let partial = dir.path + "/out.jsonl.partial"
    var waited = 0
    while waited < 200 && !FileManager.default.fileExists(atPath: partial) {
      usleep(20_000)
      waited += 1
    }
    usleep(100_000)
    process.interrupt()
    process.waitUntilExit()
    let err = (try? String(contentsOfFile: dir.path + "/bg.err", encoding: .utf8)) ?? ""
    #expect(process.terminationStatus == 130)
    #expect(err.contains("interrupted before the first row"), "\(err)")
    #expect(!FileManager.default.fileExists(atPath: partial))
  }

  @Test("second pass: check --junit with a scenario that does not validate, or read from a pipe")
  func checkInputs() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows =
      "a,b,label\n" + (0..<40).map { "\($0 % 3),\($0 % 4),\($0 % 2)" }.joined(separator: "\n")
    let data = dir.write("d.csv", text: rows + "\n")
    let bad = dir.write(
      "bad.json",
      text:
        #"{"name": "bad", "dataset": {"name": "csv", "train": "d.csv"}, "model": {"name": "logistic"}, "training": {"rounds": 1, "learning_rate": -1}, "expect": {"accuracy": {"min": 0}}}"#
    )
    let r = try CLI.run(["check", bad, "--junit", data])
    #expect(r.status == 2 && r.stderr.contains("the dataset's file"), "\(r.stderr)")
    #expect(try String(contentsOfFile: data, encoding: .utf8) == rows + "\n")
    // A scenario on standard input is read once.
    let good = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"
    let piped = try CLI.shell(#""$POISONLAB" check /dev/stdin < "# + good)
    #expect(piped.status == 0 && piped.stdout.contains("PASS"), "\(piped.stdout)\(piped.stderr)")
  }

  @Test("second pass: links, gzipped round files, Neural Cleanse on small sets, --grid JSON")
  func secondPass() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // report judges what a link leads to (a link to a regular file is not a pipe).
    let file = dir.write("r.jsonl", text: "{}\n")
    try FileManager.default.createSymbolicLink(
      atPath: dir.path + "/link.jsonl", withDestinationPath: file)
    #expect(try SystemFile.kind(of: dir.path + "/link.jsonl") == .symbolicLink)
    #expect(try SystemFile.kind(of: dir.path + "/link.jsonl", followingLinks: true) == .regular)
    // A gzipped round matrix keeps its facts.
    #expect(UpdateExport.sidecarPath(of: "u/round-0001.npy.gz") == "u/round-0001.json")
    #expect(UpdateExport.sidecarPath(of: "u/round-0001.npy") == "u/round-0001.json")
    // Neural Cleanse measures nothing on the rest: 15 test samples are enough.
    let base =
      #"{"name": "a", "dataset": {"name": "synthetic", "classes": 3, "shape": [4, 4, 1], "train_size": 100, "test_size": 15}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1}}"#
    let nc = Experiment(
      scenario: try scenario(base, overrides: [#"audit={"name": "neural-cleanse"}"#]), threads: 1)
    #expect(nc.cleanSizeProblem(test: 15) == nil && nc.cleanSizeProblem(test: 9) != nil)
    let strip = Experiment(
      scenario: try scenario(base, overrides: [#"audit={"name": "strip"}"#]), threads: 1)
    #expect(strip.cleanSizeProblem(test: 15) != nil)
    // --grid values that start as JSON must be JSON, as --set values.
    #expect(SweepAxis.parse(grid: "description=[draft] a,b") == nil)
    #expect(SweepAxis.parse(grid: #"description="[draft] a",b"#)?.values.count == 2)
    // aggregate takes --max-memory.
    let matrix = dir.write(
      "m.npy",
      NPYArray(shape: [3000, 2], values: [Float](repeating: 0, count: 6000)).serialized())
    let small = try CLI.run([
      "aggregate", matrix, "--defense", #"{"name": "krum", "f": 2}"#, "--max-memory", "1M",
    ])
    #expect(small.status == 3 && small.stderr.contains("--max-memory 1M"), "\(small.stderr)")
    let malformed = try CLI.run(["aggregate", matrix, "--defense", "median", "--max-memory", "x"])
    #expect(malformed.status == 2)
  }

  @Test("ed25519 beside secure aggregation is refused (the server would hold each update)")
  func signedSecureAggregation() throws {
    let secagg = CLI.root.path + "/scenarios/channel/secagg-fedavg.json"
    let signed = try CLI.run(["validate", secagg, "--set", "channel.authentication=ed25519"])
    #expect(
      signed.status == 2 && signed.stderr.contains("channel.authentication")
        && signed.stderr.contains("secure_aggregation"), "\(signed.stderr)")
    let filter = try CLI.run([
      "validate", secagg, "--set", #"defense=[{"name": "authenticate"}, {"name": "fedavg"}]"#,
    ])
    #expect(filter.status == 2 && filter.stderr.contains("defense"), "\(filter.stderr)")
    #expect(try CLI.run(["validate", secagg]).status == 0)
  }
}
