import Foundation
import PoisonLab
import Testing

/// Guarantee R5: every scenario value is checked in the type the engine
/// uses, and `validate` runs exactly the checks `run` makes before work.
@Suite("Reliability R5: values are checked as the engine uses them", .serialized)
struct HostileValueTests {
  let smoke = "scenarios/regression/smoke-synthetic.json"

  @Test(
    "values that are valid doubles but not float32 are scenario errors (exit 2), never traps",
    arguments: [
      "training.learning_rate=1e-46", "training.momentum=0.99999999999",
      "training.learning_rate=1e-320", "training.learning_rate=1e39",
      "training.weight_decay=1e-50",
    ])
  func float32(_ assignment: String) throws {
    for command in ["validate", "run"] {
      let r = try CLI.run([command, smoke, "--set", assignment])
      #expect(r.status == 2, "\(command) \(assignment): \(r.stderr)")
      #expect(r.stderr.contains("float32"), "\(r.stderr)")
    }
  }

  @Test("a learning rate of 1e-320 written in the file is refused by the loader")
  func subnormalInFile() throws {
    let text =
      #"{"name": "x", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "training": {"learning_rate": 1e-320}}"#
    #expect(throws: ScenarioErrors.self) { try ScenarioLoader.decode(text, source: "x") }
  }

  @Test("--seed -1, --defense '[]' and a federated empty defense array are named errors (exit 2)")
  func smallDefects() throws {
    let seed = try CLI.run(["run", smoke, "--seed", "-1"])
    #expect(seed.status == 2)
    #expect(seed.stderr.contains("seed: must be a whole number"), "\(seed.stderr)")
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let updates = dir.write("u.csv", text: "1,2\n3,4\n")
    let empty = try CLI.run(["aggregate", updates, "--defense", "[]"])
    #expect(empty.status == 2)
    #expect(empty.stderr.contains("an empty defense array"), "\(empty.stderr)")
    let federated = try CLI.run([
      "validate", "scenarios/regression/smoke-federated.json", "--set", "defense=[]",
    ])
    #expect(federated.status == 2)
    #expect(federated.stderr.contains("defense: an empty defense array"), "\(federated.stderr)")
  }

  @Test("validate refuses what run refuses: the parameter cap and the batch-buffer limit")
  func validateEqualsRun() throws {
    let cases: [([String], String)] = [
      (
        ["--set", "model.hidden=[65536,65536]"],
        "model: has 4296409092 parameters, more than the 1073741824 poisonlab accepts"
      ),
      (
        [
          "--set", "training.batch_size=100000", "--set", "dataset.train_size=100000",
          "--set", "model.hidden=[20000]",
        ],
        "training.batch_size: a batch of 100000 would need 30 GiB of training buffers"
      ),
    ]
    for (extra, message) in cases {
      let validate = try CLI.run(["validate", smoke] + extra)
      let run = try CLI.run(["run", smoke, "--output", "-"] + extra)
      #expect(validate.status == 2, "\(extra): \(validate.stderr)")
      #expect(validate.stderr.contains(message), "\(extra): \(validate.stderr)")
      #expect(run.status == 2, "\(extra): \(run.stderr)")
      #expect(run.stderr.contains(message), "\(extra): \(run.stderr)")
      #expect(run.stdout.isEmpty)
    }
  }
}

/// Guarantee R6: peak memory is estimated before any work; runs above
/// `--max-memory` (default 80% of memory, lowered to `ulimit -v`) are refused
/// with exit 2, `--threads` is capped, and an allocation that still fails
/// exits 3.
@Suite("Reliability R6: memory budget", .serialized)
struct MemoryBudgetTests {
  let smoke = "scenarios/regression/smoke-synthetic.json"
  let federated = "scenarios/regression/smoke-federated.json"

  @Test("validate prints the estimate; a huge model is refused by validate and run with its parts")
  func hugeModel() throws {
    let ok = try CLI.run(["validate", smoke])
    #expect(ok.status == 0)
    #expect(ok.stderr.contains("memory: estimated peak"), "\(ok.stderr)")
    for command in ["validate", "run"] {
      let r = try CLI.run([command, federated, "--set", "model.hidden=[30000,30000]"])
      #expect(r.status == 2, "\(r.stderr)")
      #expect(r.stderr.contains("update matrix"), "\(r.stderr)")
      #expect(r.stderr.contains("more than"), "\(r.stderr)")
    }
    let small = try CLI.run(["run", smoke, "--max-memory", "100K"])
    #expect(small.status == 2)
    #expect(small.stderr.contains("--max-memory 100K"), "\(small.stderr)")
    let malformed = try CLI.run(["run", smoke, "--max-memory", "lots"])
    #expect(malformed.status == 2)
  }

  @Test("a dataset sized only after loading (csv) is checked against the budget once loaded")
  func checkedAfterLoading() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    dir.write("d.csv", text: (0..<40).map { "\($0),\($0 % 3),\($0 % 2)" }.joined(separator: "\n"))
    let text =
      #"{"name": "csv", "dataset": {"name": "csv", "train": "d.csv"}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1}}"#
    let scenario = try ScenarioLoader.decode(text, source: "csv", baseDirectory: dir.path)
    let tight = Experiment(
      scenario: scenario, threads: 1, memoryBudget: MemoryBudget(bytes: 1024, source: "a test"))
    #expect {
      try tight.run { _ in }
    } throws: { error in
      "\(error)".contains("allowed by a test")
    }
    let roomy = Experiment(
      scenario: scenario, threads: 1, memoryBudget: MemoryBudget(bytes: 1 << 30, source: "a test"))
    #expect(try roomy.run { _ in }.kind == .summary)
  }

  @Test("--threads 100000 is capped with a message and the run succeeds")
  func threadCap() throws {
    let r = try CLI.run(["run", smoke, "--threads", "100000", "--output", "-", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("capped at"), "\(r.stderr)")
    #expect(ThreadCount.resolve(100_000, cores: 2).threads == 8)
    #expect(ThreadCount.resolve(nil, cores: 2).threads == 2)
  }

  @Test("sizes parse in binary units")
  func sizes() {
    #expect(MemoryBudget.parse("16G") == 16 << 30)
    #expect(MemoryBudget.parse("800M") == 800 << 20)
    #expect(MemoryBudget.parse("1.5GiB") == 3 << 29)
    #expect(MemoryBudget.parse("4096") == 4096)
    #expect(MemoryBudget.parse("-1G") == nil)
    #expect(MemoryBudget.parse("lots") == nil)
  }

  @Test("the estimate of a federated run: hand-computed dataset and update-matrix parts")
  func estimateParts() throws {
    let scenario = try ScenarioLoader.load(file: CLI.root.path + "/" + federated)
    let estimate = try #require(Experiment(scenario: scenario, threads: 2).memoryEstimate())
    // 12 clients, 7 per round; synthetic 1200 + 400 samples of 16 features.
    let dataset = estimate.parts.first { $0.name == "dataset" }?.bytes
    #expect(dataset == 1600 * 16 * 4 * 4 + 1600 * 64)
    // mlp 16-24-4: 16*24+24 + 24*4+4 = 508 parameters; 8 rows x 4 copies + 7x7 distances.
    let matrix = estimate.parts.first { $0.name == "update matrix" }?.bytes
    #expect(matrix == 8 * 508 * 4 * 4 + 49 * 24)
  }

  @Test("under a small ulimit -v a run is refused with the estimate (exit 2), or runs (exit 0)")
  func smallAddressSpace() throws {
    var statuses: [Int32] = []
    for limit in [300_000, 500_000, 2_000_000] {
      let r = try CLI.shell(
        "ulimit -v \(limit); \"$POISONLAB\" run \(smoke) --output - --quiet > /dev/null")
      #expect(CLI.documented(r), "ulimit -v \(limit): \(r.status) \(r.stderr)")
      #expect(!r.stderr.contains("crashed"), "\(r.stderr)")
      if r.status == 2 {
        #expect(r.stderr.contains("allowed by the address-space limit (ulimit -v)"), "\(r.stderr)")
      }
      statuses.append(r.status)
    }
    // The smallest limit is below the program's own size (refused before
    // any work); the largest leaves room for this tiny run.
    #expect(statuses.first == 2 && statuses.last == 0, "\(statuses)")
  }

  @Test("sweep expansion is counted first: more than 100000 runs or seeds is refused (exit 2)")
  func sweepLimit() throws {
    let seeds = try CLI.run(["sweep", smoke, "--seeds", "0-100000000"])
    #expect(seeds.status == 2)
    #expect(seeds.stderr.contains("more than 100000 seeds"), "\(seeds.stderr)")
    let grid = try CLI.run([
      "sweep", smoke, "--grid", "seed=" + (0..<400).map(String.init).joined(separator: ","),
      "--grid", "training.rounds=" + (1...300).map(String.init).joined(separator: ","),
    ])
    #expect(grid.status == 2)
    #expect(grid.stderr.contains("more than 100000 runs"), "\(grid.stderr)")
  }
}
