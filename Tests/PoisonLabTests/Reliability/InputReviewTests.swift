import Foundation
import Testing

@testable import PoisonLab

/// Each case the adversarial review of bad input (2026-12-03, session 24)
/// found stays fixed.
@Suite("Reliability: bad input to model files, aggregate and sources (session 24)", .serialized)
struct InputReviewTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-federated.json"

  /// Saves the smoke model (2 rounds) and writes a copy whose `__metadata__`
  /// entry `key` is `value`.
  func editedModel(in dir: TemporaryDirectory, key: String, value: String) throws -> String {
    let saved = try CLI.run([
      "run", smoke, "--set", "training.rounds=2", "--set", "expect=null", "--quiet",
      "--save-model", dir.path + "/m.safetensors", "--force",
    ])
    #expect(saved.status == 0, "\(saved.stderr)")
    let script = """
      import json, struct, sys
      b = open('m.safetensors', 'rb').read()
      n = struct.unpack('<Q', b[:8])[0]
      h = json.loads(b[8:8 + n])
      h['__metadata__'][sys.argv[1]] = sys.argv[2]
      hb = json.dumps(h).encode()
      open('bad.safetensors', 'wb').write(struct.pack('<Q', len(hb)) + hb + b[8 + n:])
      """
    _ = dir.write("edit.py", text: script)
    let edited = try CLI.shell("python3 edit.py '\(key)' '\(value)'", in: dir.path)
    #expect(edited.status == 0, "\(edited.stderr)")
    return dir.path + "/bad.safetensors"
  }

  @Test("an --init-model whose round overflows is a corrupt file (exit 3), not a trap")
  func overflowingRound() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    for round in ["9223372036854775807", "1000001", "-1", "x"] {
      let bad = try editedModel(in: dir, key: "round", value: round)
      let r = try CLI.run(["run", smoke, "--quiet", "--set", "expect=null", "--init-model", bad])
      #expect(r.status == 3, "\(round): \(r.status) \(r.stderr)")
      #expect(
        r.stderr.contains("its round \(round) is not a whole number from 0 to 1000000"),
        "\(r.stderr)")
    }
  }

  @Test("malformed privacy_sampling_rates in a model file are corrupt, not silently replaced")
  func samplingRates() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    for rates in ["[]", "[0.5]", "[0.5, 2]", "[-1, 0.5]", "\"x\"", "[0.5, 0.5, 0.5]"] {
      let bad = try editedModel(in: dir, key: "privacy_sampling_rates", value: rates)
      let r = try CLI.run(["run", smoke, "--quiet", "--set", "expect=null", "--init-model", bad])
      #expect(r.status == 3, "\(rates): \(r.status) \(r.stderr)")
      #expect(r.stderr.contains("is not a list of 2 rates from 0 to 1"), "\(r.stderr)")
    }
    // Two valid rates load.
    let good = try editedModel(in: dir, key: "privacy_sampling_rates", value: "[0.5, 0.25]")
    let r = try CLI.run(["run", smoke, "--quiet", "--set", "expect=null", "--init-model", good])
    #expect(r.status == 0, "\(r.stderr)")
  }

  @Test(
    "aggregate: a round file that is not JSON is an error, not a missing file; an unused input is refused"
  )
  func aggregateInputs() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let matrix = dir.write(
      "round-0003.npy", NPYArray(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]).serialized())
    _ = dir.write("round-0003.json", text: #"{"round": 3,"#)
    do {
      _ = try UpdateReplay.load(updates: matrix)
      Issue.record("a torn round file was read as none")
    } catch {
      #expect("\(error)".contains("round-0003.json") && "\(error)".contains("not valid JSON"))
    }
    let cli = try CLI.run(["aggregate", matrix, "--defense", "median"])
    #expect(cli.status == 3 && cli.stderr.contains("not valid JSON"), "\(cli.stderr)")
    // Beside a matrix not named as an export's, a .json that is not
    // poisonlab's, even one that is not JSON (JSON Lines), is ignored.
    let plain = dir.write(
      "data.npy", NPYArray(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]).serialized())
    _ = dir.write("data.json", text: "{\"a\": 1}\n{\"a\": 2}\n")
    let unrelated = try UpdateReplay.load(updates: plain)
    #expect(unrelated.exported == nil && unrelated.notes.isEmpty)
    let closed = try CLI.shell(
      #""$POISONLAB" aggregate data.npy --defense median --output agg.npy >&-"#, in: dir.path)
    #expect(closed.status == 0, "\(closed.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir.path + "/agg.npy"))
    // Another program's JSON beside it: named, and the defaults are used.
    _ = dir.write("round-0003.json", text: #"{"format": "other"}"#)
    let foreign = try UpdateReplay.load(updates: matrix)
    #expect(foreign.notes.first?.contains("is not a --save-updates round file") == true)
    _ = dir.write("round-0003.json", text: #"{"format": "poisonlab-round", "round": 1e300}"#)
    do {
      _ = try UpdateReplay.load(updates: matrix)
      Issue.record("a round of 1e300 was accepted")
    } catch {
      #expect("\(error)".contains("is not a whole number from 1 to 1000000"), "\(error)")
    }
    // Weights or a server update the chain would not read.
    let weights = dir.path + "/w.csv"
    _ = dir.write("w.csv", text: "1\n2\n3\n")
    let other = dir.write(
      "m.npy", NPYArray(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]).serialized())
    let median = try CLI.run(["aggregate", other, "--defense", "median", "--weights", weights])
    #expect(median.status == 2, "\(median.stderr)")
    #expect(median.stderr.contains("--weights: median treats every update alike"))
    let fedavg = try CLI.run(["aggregate", other, "--defense", "fedavg", "--weights", weights])
    #expect(fedavg.status == 0, "\(fedavg.stderr)")
    let server = dir.path + "/s.csv"
    _ = dir.write("s.csv", text: "1,2\n")
    let krum = try CLI.run(["aggregate", other, "--defense", "mean", "--server-update", server])
    #expect(krum.status == 2 && krum.stderr.contains("--server-update: mean does not read"))
  }

  @Test(
    "--checkpoint-every that would write no checkpoint is refused (exit 2), not silently unused")
  func checkpointEvery() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let never = try CLI.run([
      "run", smoke, "--set", "training.rounds=3", "--quiet", "--checkpoint-every", "4",
      "--checkpoint-dir", dir.path,
    ])
    #expect(never.status == 2, "\(never.stderr)")
    #expect(
      never.stderr.contains(
        "--checkpoint-every 4 would write no checkpoint: this run's rounds are 1 to 3, and none is a multiple of 4; give a value that has a multiple there (any from 1 to 3 does)"
      ))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    let last = try CLI.run([
      "run", smoke, "--set", "training.rounds=3", "--set", "expect=null", "--quiet",
      "--checkpoint-every", "3", "--checkpoint-dir", dir.path,
    ])
    #expect(last.status == 0, "\(last.stderr)")
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["round-0003.safetensors"])
  }

  @Test(
    "pipeline sources: a nameless source, a source named twice by an attack, one with no samples, cycles beyond the data"
  )
  func sources() throws {
    let breast = CLI.root.path + "/scenarios/pipeline/breast-cancer-label-flip.json"
    let text = try String(contentsOfFile: breast, encoding: .utf8)
    #expect(
      scenarioErrors(text, overrides: [#"attack.sources=["registry-c","registry-c"]"#])
        == [#"attack.sources[1]: names source "registry-c" twice"#])
    #expect(
      scenarioErrors(text, overrides: [#"sources[3].name="""#]).first
        == "sources[3].name: a source needs a name (attacks and records name it)")
    #expect(
      scenarioErrors(text, overrides: ["sources[0].share=0.249"])
        == ["sources: the shares sum to 0.999; they split the training set and must sum to 1"])
    // Size-dependent: known once the data are split (exit 2 before training).
    let none = try CLI.run([
      "run", breast, "--quiet", "--set", "sources[0].share=0.001", "--set",
      "sources[1].share=0.499",
    ])
    #expect(none.status == 2, "\(none.stderr)")
    #expect(
      none.stderr.contains(
        "sources[0].share: source hospital gets none of the 455 training samples (share 0.001); raise its share"
      ))
    let many = try CLI.run(["run", breast, "--quiet", "--set", "pipeline.cycles=100"])
    #expect(many.status == 2, "\(many.stderr)")
    #expect(
      many.stderr.contains(
        "pipeline.cycles: 100 cycles are more than the samples left after the initial share in hospital (91), clinic-a (91), clinic-b (91), registry-c (90)"
      ))
    #expect(many.stderr.contains("lower pipeline.cycles to at most 90"))
    // Nothing left at all: only the initial share can make room.
    let full = try CLI.run([
      "run", breast, "--quiet", "--set", "pipeline.initial_share=0.999", "--set",
      "pipeline.cycles=1",
    ])
    #expect(full.status == 2, "\(full.stderr)")
    #expect(full.stderr.contains("1 cycle is more than the samples left"), "\(full.stderr)")
    #expect(
      full.stderr.contains("lower pipeline.initial_share (it leaves nothing for the cycles)")
        && !full.stderr.contains("lower pipeline.cycles"))
  }

  @Test(
    "messages name what is wrong: the repeated signal, root_size's own path and bound, audit's --method"
  )
  func messages() throws {
    #expect(
      scenarioErrors(
        safeguardBase,
        overrides: [
          #"safeguards={"monitor": {"signals": ["update_norm", "cosine", "update_norm"]}}"#
        ]
      ) == ["safeguards.monitor.signals[2]: lists update_norm twice"])
    let chained = try CLI.run([
      "validate", smoke, "--set",
      #"defense=[{"name": "norm-clip"}, {"name": "fltrust", "root_size": 1190}]"#,
      "--set", #"safeguards={"validation": {"size": 10}}"#,
    ])
    #expect(chained.status == 2)
    #expect(
      chained.stderr.contains(
        "defense[1].root_size: 1190 leaves too few of the 1190 training samples (after safeguards.validation.size took 10) for 12 clients; at most 1177"
      ), "\(chained.stderr)")
    let torn = try CLI.run([
      "audit", "m.safetensors", "--scenario", smoke, "--method", #"{"name": "strip""#,
    ])
    #expect(torn.status == 2 && torn.stderr.contains("--method: not valid JSON"), "\(torn.stderr)")
    let array = try CLI.run(["audit", "m.safetensors", "--scenario", smoke, "--method", "[]"])
    #expect(array.status == 2 && array.stderr.contains("--method takes an audit name"))
  }

  @Test(
    "slurm-sweep.sh takes N as given: re-submitting some tasks resumes their shards; another N is refused"
  )
  func slurmResubmit() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let script = CLI.root.path + "/scripts/slurm-sweep.sh"
    let scenario = CLI.root.path + "/scenarios/federated/sweep-synthetic.json"
    func task(_ k: Int, of n: Int) throws -> CLI.Result {
      try CLI.shell(
        #"SLURM_ARRAY_TASK_ID=\#(k) POISONLAB="$POISONLAB" bash \#(script) \#(n) \#(scenario) w --seeds 0-1"#,
        in: dir.path)
    }
    // Tasks 1 and 4 ran; 2 and 3 are re-submitted alone (Slurm's task count is then 2).
    for k in [1, 4, 2, 3] { #expect(try task(k, of: 4).status == 0) }
    let whole = try CLI.shell(
      #""$POISONLAB" sweep \#(scenario) --seeds 0-1 --output all.jsonl --quiet"#, in: dir.path)
    #expect(whole.status == 0, "\(whole.stderr)")
    let merged = try CLI.shell("cat w.1.jsonl w.2.jsonl w.3.jsonl w.4.jsonl | sort", in: dir.path)
    let reference = try CLI.shell("sort all.jsonl", in: dir.path)
    func runs(_ text: String) -> [String] {
      text.split(separator: "\n").map {
        // Rows without timing fields and the sweep's own id.
        String($0).replacing(
          /"(seconds|total_seconds|mean_seconds_per_round|secagg_[a-z]+_seconds)": [0-9.e-]+/,
          with: ""
        )
        .replacing(/"sweep_id": "[^"]*"/, with: "")
      }.sorted()
    }
    #expect(!merged.stdout.isEmpty && runs(merged.stdout) == runs(reference.stdout))
    let other = try task(2, of: 2)
    #expect(other.status == 2 && other.stderr.contains("holds shards of 4"), "\(other.stderr)")
    let outside = try task(5, of: 4)
    #expect(outside.status == 2 && outside.stderr.contains("outside 1-4"), "\(outside.stderr)")
  }

  @Test(
    "report names a cell's missing seed and runs written twice; skipped runs have their own column")
  func reportGaps() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenario = CLI.root.path + "/scenarios/federated/sweep-synthetic.json"
    let swept = try CLI.shell(
      #""$POISONLAB" sweep \#(scenario) --seeds 0-1 --output all.jsonl --quiet"#, in: dir.path)
    #expect(swept.status == 0, "\(swept.stderr)")
    // Run 0 (the first cell's seed 0) lost; run 1's rows written twice.
    let lines = try String(contentsOfFile: dir.path + "/all.jsonl", encoding: .utf8)
      .split(separator: "\n").map(String.init)
    func index(_ line: String) -> Int? {
      guard case .number(let x)? = (try? JSONParser.parse(line))?["run_index"] else { return nil }
      return Int(x)
    }
    let kept = lines.filter { index($0) != 0 } + lines.filter { index($0) == 1 }
    _ = dir.write("gaps.jsonl", text: kept.joined(separator: "\n") + "\n")
    let json = try JSONParser.parse(
      try CLI.run(["report", dir.path + "/gaps.jsonl", "--format", "json"]).stdout)
    guard case .array(let gaps)? = json["missing_seeds"], let first = gaps.first else {
      Issue.record("no missing_seeds")
      return
    }
    #expect(gaps.count == 1 && first["seeds"] == .array([.string("0")]), "\(gaps)")
    guard case .array(let repeated)? = json["repeated_runs"] else {
      Issue.record("no repeated_runs")
      return
    }
    #expect(repeated.count == 1)
    // The cell that lost seed 0 holds one run: its sample std is undefined.
    guard case .array(let cells)? = json["cells"],
      let lone = cells.first(where: { $0["runs"] == .number(1) })
    else {
      Issue.record("no one-run cell")
      return
    }
    #expect(lone["metrics"]?["accuracy"]?["std"] == .null)
    #expect(lone["metrics"]?["accuracy"]?["count"] == .number(1))
    let table = try CLI.run(["report", dir.path + "/gaps.jsonl"])
    #expect(table.stdout.contains("seeds without a run (other runs of the sweep have them):"))
    #expect(table.stdout.contains(": seed 0\n"))
    #expect(table.stdout.contains("1 run appears more than once"))
    #expect(table.stdout.hasPrefix("attack.name") && table.stdout.contains("failed  skipped"))
  }

  @Test("the heatmap's title says which other axes its cells pool over")
  func heatmapPooling() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenario = CLI.root.path + "/scenarios/federated/sweep-synthetic.json"
    let swept = try CLI.shell(
      #""$POISONLAB" sweep \#(scenario) --seeds 0 --grid federation.clients=8,10 --output g.jsonl --quiet && mkdir p q && "$POISONLAB" report g.jsonl --plots p >/dev/null && "$POISONLAB" sweep \#(scenario) --seeds 0 --output s.jsonl --quiet && "$POISONLAB" report s.jsonl --plots q >/dev/null"#,
      in: dir.path)
    #expect(swept.status == 0, "\(swept.stderr)")
    let pooled = try String(contentsOfFile: dir.path + "/p/heatmap.svg", encoding: .utf8)
    #expect(pooled.contains("mean ± std over runs, pooled over"))
    #expect(pooled.contains("federation.clients)"))
    let single = try String(contentsOfFile: dir.path + "/q/heatmap.svg", encoding: .utf8)
    #expect(single.contains("mean ± std over runs)") && !single.contains("pooled over"))
  }

  @Test(
    "report --by scenario / config_id / sweep_id sets configurations side by side instead of pooling them"
  )
  func reportRecordAxes() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let runs = try CLI.shell(
      #""$POISONLAB" run \#(smoke) --set expect=null --format jsonl > a.jsonl && "$POISONLAB" run \#(smoke) --set expect=null --set training.learning_rate=0.2 --format jsonl > b.jsonl && "$POISONLAB" run \#(CLI.root.path)/scenarios/regression/smoke-synthetic.json --set expect=null --format jsonl > c.jsonl"#,
      in: dir.path)
    #expect(runs.status == 0, "\(runs.stderr)")
    let files = ["a.jsonl", "b.jsonl", "c.jsonl"].map { dir.path + "/" + $0 }
    let refused = try CLI.run(["report"] + files)
    #expect(refused.status == 2 && refused.stderr.contains("side by side with --by config_id"))
    let side = try JSONParser.parse(
      try CLI.run(["report"] + files + ["--by", "scenario,config_id", "--format", "json"]).stdout)
    guard case .array(let cells)? = side["cells"] else {
      Issue.record("no cells")
      return
    }
    #expect(cells.count == 3)
    let names = cells.compactMap { cell -> String? in
      if case .string(let s)? = cell["axes"]?["scenario"] { s } else { nil }
    }
    #expect(names == ["smoke-federated", "smoke-federated", "smoke-synthetic"])
    #expect(cells.allSatisfy { $0["runs"] == .number(1) })
    let byScenario = try CLI.run(["report"] + files + ["--by", "scenario", "--mixed"])
    #expect(byScenario.status == 0 && byScenario.stdout.contains("smoke-synthetic"))
  }

  @Test("a metric that some runs of a cell do not record shows its own n")
  func metricCount() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let swept = try CLI.shell(
      #""$POISONLAB" sweep \#(smoke) --set 'defense={"name":"multi-krum","f":1}' --set 'attack={"name":"alie","clients":2}' --grid federation.clients_per_round=4,7 --seeds 0-9 --skip-invalid --output sf.jsonl --quiet && "$POISONLAB" report sf.jsonl"#,
      in: dir.path)
    #expect(swept.status == 0, "\(swept.stderr)")
    // Rounds without a selected attacker record no recall: 8 of the 10 runs here (measured).
    let row =
      swept.stdout.split(separator: "\n").first { $0.hasPrefix("7 ") }.map(String.init) ?? ""
    #expect(row.contains(" 10 ") && row.hasSuffix("(n=8)"), "\(swept.stdout)")
    #expect(!row.contains("0.1061 (n="), "a metric every run records shows no n")
    let skipped = swept.stdout.split(separator: "\n").first { $0.hasPrefix("4 ") } ?? ""
    #expect(skipped.split(separator: " ").prefix(4) == ["4", "0", "0", "10"], "\(skipped)")
  }

  @Test(
    "a scenario's name is kebab-case, as the contract says: others are refused with a suggestion")
  func kebabName() {
    #expect(ScenarioLoader.nameProblem("w1-median-2") == nil)
    #expect(ScenarioLoader.nameProblem("a") == nil)
    for bad in ["", "-", "a--b", "a-", "-a", "W1", "a b", "a_b", "a,b", "é"] {
      #expect(ScenarioLoader.nameProblem(bad) != nil, "\(bad)")
    }
    // The schema's pattern says the same.
    for name in ["w1-median-2", "a", "", "-", "a--b", "a-", "-a", "W1", "a b", "a_b", "é"] {
      let matches = name.range(of: ScenarioLoader.namePattern, options: .regularExpression) != nil
      #expect(matches == (ScenarioLoader.nameProblem(name) == nil), "\(name)")
    }
    #expect(
      ScenarioLoader.nameProblem("W1_Fed Avg")
        == #"must be kebab-case (lowercase letters and digits, words joined by single hyphens), got "W1_Fed Avg"; did you mean "w1-fed-avg"?"#
    )
  }
}
