import Foundation
import Testing

@testable import PoisonLab

/// Each case the adversarial review of sweeps, reports and checks found
/// (2026-12-02, session 19) stays fixed.
@Suite("Reliability: sweeps, reports and checks", .serialized)
struct ReportReviewTests {
  let sweep = CLI.root.path + "/scenarios/federated/sweep-synthetic.json"

  /// A summary row of a sweep run.
  func summary(_ id: String, axes: String, accuracy: String = "0.5") -> String {
    #"{"type": "summary", "run_id": "\#(id)", "axes": {\#(axes)}, "scenario": "s", "round": 1, "accuracy": \#(accuracy)}"#
  }

  @Test(
    "runs varying many axes at once do not overflow or hang the listing of missing combinations")
  func manyAxes() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = (0..<100).map { i in
      summary("r\(i)", axes: (0..<10).map { #""a\#($0)": "v\#(i)""# }.joined(separator: ", "))
    }
    let file = dir.write("many.jsonl", text: rows.joined(separator: "\n") + "\n")
    let r = try CLI.run(["report", file, "--format", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains(#""missing": null"#))
    let table = try CLI.run(["report", file])
    #expect(table.stdout.contains("are not listed: more than 10000"))
    // CSV: whether a combination lacks runs is unknown (empty), and the note
    // goes to standard error.
    let csv = try CLI.run(["report", file, "--format", "csv"])
    #expect(csv.status == 0)
    let first = csv.stdout.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
    #expect(first.hasPrefix("v0,v0,v0,v0,v0,v0,v0,v0,v0,v0,1,0,0,,"), "\(first)")
    #expect(csv.stderr.contains("are not listed: more than 10000"), "\(csv.stderr)")
  }

  @Test("report --format csv writes the notes on missing seeds to standard error")
  func csvNotes() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = [
      summary("m0", axes: #""defense.name": "median", "seed": 0"#),
      summary("m1", axes: #""defense.name": "median", "seed": 1"#),
      summary("k0", axes: #""defense.name": "krum", "seed": 0"#),
    ]
    let file = dir.write("seeds.jsonl", text: rows.joined(separator: "\n") + "\n")
    let csv = try CLI.run(["report", file, "--format", "csv"])
    #expect(csv.status == 0 && csv.stdout.contains("krum,1,0,0,false,0.5,,1"), "\(csv.stdout)")
    #expect(csv.stderr.contains("defense.name=krum: seed 1"), "\(csv.stderr)")
    // Other formats carry their notes on standard output, as before.
    let table = try CLI.run(["report", file])
    #expect(table.stderr.isEmpty && table.stdout.contains("defense.name=krum: seed 1"))
  }

  @Test("mean and std stay finite for finite values near Double's limit; pooled cells are exact")
  func statistics() {
    let (mean, std) = Report.meanAndStd([1e308, 1.5e308])
    #expect(abs(mean / 1.25e308 - 1) < 1e-15 && abs(std / 3.5355339059327376e307 - 1) < 1e-12)
    let (m, s) = Report.meanAndStd([1, 2, 3, 5])
    #expect(m == 2.75 && abs(s - 1.707825127659933) < 1e-12)
    // Two cells [1, 2] and [3, 5] pooled are the four values: NumPy
    // np.std([1, 2, 3, 5], ddof=1) = 1.707825127659933.
    let a = Report.Statistic(mean: 1.5, std: 0.7071067811865476, count: 2)
    let b = Report.Statistic(mean: 4, std: 1.4142135623730951, count: 2)
    let pooled = Report.pooled([a, b])
    #expect(pooled.count == 4 && abs(pooled.mean - 2.75) < 1e-12)
    #expect(abs(pooled.std - 1.707825127659933) < 1e-12)
    #expect(Report.number(1e308) == "1e+308" && Report.number(0.5) == "0.5000")
  }

  @Test("sweep --output with a note line is refused and left untouched (not resumed over)")
  func sweepKeepsNotes() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let out = dir.path + "/r.jsonl"
    let first = try CLI.run(["sweep", sweep, "--seeds", "0", "--threads", "1", "--output", out])
    #expect(first.status == 0, "\(first.stderr)")
    var text = try String(contentsOfFile: out, encoding: .utf8)
    text = text.replacingOccurrences(of: "\n", with: "\n# a note\n", options: [], range: nil)
    try text.write(toFile: out, atomically: false, encoding: .utf8)
    let again = try CLI.run(["sweep", sweep, "--seeds", "0", "--threads", "1", "--output", out])
    #expect(again.status == 3, "\(again.stderr)")
    #expect(again.stderr.contains("not a sweep's rows"))
    #expect(try String(contentsOfFile: out, encoding: .utf8) == text)
  }

  @Test("a --set or an axis that a later axis overwrites in every run is refused (exit 2)")
  func overwrittenSettings() throws {
    let plan = { (grids: [String], overrides: [String]) throws(ScenarioErrors) in
      _ = try SweepPlan.expand(
        file: sweep, grids: grids.compactMap(SweepAxis.parse(grid:)), seeds: nil,
        overrides: overrides)
    }
    #expect(throws: ScenarioErrors.self) { try plan([], ["attack.name=sign-flip"]) }
    #expect(throws: ScenarioErrors.self) { try plan(["seed=0,1"], ["seed=5"]) }
    #expect(throws: ScenarioErrors.self) {
      try plan([#"defense={"name": "median"},{"name": "krum"}"#], [])
    }
    // Refining an earlier axis, or a --set beside the axes, is fine.
    try plan([], ["training.rounds=1", #"attack={"name": "alie", "clients": 2}"#])
  }

  @Test("report refuses two sweeps with the same axes but other settings unless --mixed")
  func sweepConfigurations() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let out = dir.path + "/r.jsonl"
    for (seeds, rate) in [("0", "0.05"), ("1", "0.5")] {
      let r = try CLI.run([
        "sweep", sweep, "--seeds", seeds, "--threads", "1", "--output", out,
        "--set", "training.learning_rate=\(rate)",
      ])
      #expect(r.status == 0, "\(r.stderr)")
    }
    let mixed = try CLI.run(["report", out])
    #expect(mixed.status == 2 && mixed.stderr.contains("sweep_id"), "\(mixed.stderr)")
    #expect(try CLI.run(["report", out, "--mixed"]).status == 0)
    // One sweep resumed with more seeds is one configuration.
    let one = dir.path + "/one.jsonl"
    for seeds in ["0", "1"] {
      _ = try CLI.run(["sweep", sweep, "--seeds", seeds, "--threads", "1", "--output", one])
    }
    let report = try CLI.run(["report", one])
    #expect(report.status == 0, "\(report.stderr)")
  }

  @Test("runs of poisonlab run appended to one file are one run per summary")
  func appendedRuns() throws {
    let rows = (1...3).map { k in
      #"{"type": "round", "scenario": "s", "round": 1, "accuracy": 0.\#(k)}"# + "\n"
        + #"{"type": "summary", "scenario": "s", "round": 1, "accuracy": 0.\#(k)}"#
    }
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("runs.jsonl", text: rows.joined(separator: "\n") + "\n")
    let report = try Report.read([file], by: nil)
    #expect(report.runs.count == 3)
    let cell = try #require(report.cells.first)
    #expect(cell.runs == 3)
    let accuracy = cell.statistics.first { $0.metric == "accuracy" }?.value
    #expect(abs((accuracy?.mean ?? 0) - 0.2) < 1e-12 && accuracy?.count == 3)
    // A run killed before its summary does not merge into the next one.
    let killed =
      #"{"type": "round", "scenario": "s", "round": 1, "accuracy": 0.9}"# + "\n"
      + #"{"type": "round", "scenario": "s", "round": 2, "accuracy": 0.9}"# + "\n"
      + rows.joined(separator: "\n") + "\n"
    let withKilled = try Report.read([dir.write("killed.jsonl", text: killed)], by: nil)
    #expect(withKilled.runs.count == 4 && withKilled.runs[0].status == "error")
    #expect(withKilled.runs[1].rounds.count == 1)
  }

  @Test("report --format json gives each cell's axes as labels and as the values the runs recorded")
  func rawAxisValues() throws {
    let settings: [(Double, String)] = [
      (0.1, #"{"name": "trimmed-mean", "f": 2}"#), (0.25, #"{"name": "trimmed-mean", "f": 3}"#),
    ]
    let rows = settings.enumerated().map { k, setting in
      #"{"type": "summary", "scenario": "s", "run_id": "r\#(k)", "round": 1, "accuracy": 0.5, "axes": {"attack.fraction": \#(setting.0), "defense": \#(setting.1)}}"#
    }
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("runs.jsonl", text: rows.joined(separator: "\n") + "\n")
    let json = try JSONParser.parse(try CLI.run(["report", file, "--format", "json"]).stdout)
    guard case .array(let cells)? = json["cells"], cells.count == 2 else {
      Issue.record("not two cells: \(json.serialized())")
      return
    }
    #expect(cells[0]["axes"]?["attack.fraction"] == .string("0.1"))
    #expect(cells[0]["axes"]?["defense"] == .string("trimmed-mean(f=2)"))
    #expect(cells[0]["values"]?["attack.fraction"] == .number(0.1))
    #expect(cells[1]["values"]?["attack.fraction"] == .number(0.25))
    #expect(cells[1]["values"]?["defense"]?["f"] == .number(3))
    #expect(cells[1]["values"]?["defense"]?["name"] == .string("trimmed-mean"))
  }

  @Test(
    "labels with newlines and bars stay in their cells (csv, markdown); table widths count characters"
  )
  func labelEscaping() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = [
      summary("a", axes: #""attack.name": "x\ny|z""#),
      summary("b", axes: #""attack.name": "😀😀😀""#),
      summary("c", axes: #""attack.name": "p""#),
    ]
    let file = dir.write("l.jsonl", text: rows.joined(separator: "\n") + "\n")
    let csv = try CLI.run(["report", file, "--format", "csv"])
    #expect(csv.stdout.contains("\"x\ny|z\""), "\(csv.stdout)")
    let markdown = try CLI.run(["report", file, "--format", "markdown"])
    #expect(markdown.stdout.contains(#"| x y\|z |"#), "\(markdown.stdout)")
    let table = try CLI.run(["report", file, "--format", "table"])
    let lines = table.stdout.split(separator: "\n").filter {
      $0.hasPrefix("😀") || $0.hasPrefix("p ")
    }
    #expect(lines.count == 2 && lines[0].count == lines[1].count, "\(table.stdout)")
  }

  @Test(
    "report writes its plots and page even when the table's reader goes away; --html - is refused")
  func filesOutliveReader() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let out = dir.path + "/r.jsonl"
    _ = try CLI.run(["sweep", sweep, "--seeds", "0", "--threads", "1", "--output", out])
    try FileManager.default.createDirectory(
      atPath: dir.path + "/p", withIntermediateDirectories: false)
    // The reader (`true`) exits at once; report's own exit code is kept in rc.
    let r = try CLI.shell(
      #"("$POISONLAB" report r.jsonl --plots p --html page.html; echo $? > rc) | true"#,
      in: dir.path)
    #expect(r.status == 0)
    let rc = try String(contentsOfFile: dir.path + "/rc", encoding: .utf8)
    #expect(rc.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "report exited \(rc)")
    #expect(FileManager.default.fileExists(atPath: dir.path + "/page.html"))
    #expect(FileManager.default.fileExists(atPath: dir.path + "/p/curves.svg"))
    let page = try CLI.run(["report", out, "--html", "-"])
    #expect(page.status == 2 && page.stderr.contains("--html -"))
  }

  @Test("check refuses a scenario with a sweep block, and says so when a file is named twice")
  func checkRefusals() throws {
    let r = try CLI.run(["check", sweep])
    #expect(r.status == 2 && r.stdout.contains("sweep block"), "\(r.stdout)")
    let quick = CLI.root.path + "/scenarios/quickstart.json"
    let twice = try CLI.run(["check", quick, quick])
    #expect(twice.status == 2 && twice.stderr.contains("is named twice"), "\(twice.stderr)")
  }

  @Test("a sweep output with CRLF line ends resumes without losing runs")
  func crlfResume() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let out = dir.path + "/r.jsonl"
    _ = try CLI.run(["sweep", sweep, "--seeds", "0-1", "--threads", "1", "--output", out])
    let text = try String(contentsOfFile: out, encoding: .utf8)
    try text.replacingOccurrences(of: "\n", with: "\r\n").write(
      toFile: out, atomically: false, encoding: .utf8)
    let again = try CLI.run(["sweep", sweep, "--seeds", "0-2", "--threads", "1", "--output", out])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stderr.contains("18 already in"), "\(again.stderr)")
    let report = try Report.read([out], by: nil)
    #expect(report.runs.count == 27 && report.runs.allSatisfy { $0.status == "ok" })
  }

  @Test("sweep_id ignores the order of --set values and --set values the file already holds")
  func sweepIDCanonical() throws {
    let id = { (overrides: [String]) throws(ScenarioErrors) -> String in
      try SweepPlan.expand(
        file: sweep, grids: [], seeds: [0], overrides: overrides
      ).runs[0].sweepID
    }
    let a = try id(["training.rounds=1", "federation.clients=9"])
    #expect(try id(["federation.clients=9", "training.rounds=1"]) == a)
    #expect(try id(["federation.clients=9", "training.rounds=1", "training.batch_size=16"]) == a)
    #expect(try id(["training.rounds=2", "federation.clients=9"]) != a)
  }

  @Test("y ticks sit at a 1-2-2.5-5 step and print it exactly (no 0.66 labelled 0.7)")
  func yTicks() {
    let unit = SVGChart.yTicks(0, 1)
    #expect(unit.ticks.count == 6 && unit.decimals == 1)
    #expect(zip(unit.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0]).allSatisfy { abs($0 - $1) < 1e-12 })
    let strip = SVGChart.yTicks(0, 1.155)
    #expect(strip.ticks == [0, 0.25, 0.5, 0.75, 1.0] && strip.decimals == 2)
    let narrow = SVGChart.yTicks(0.5, 0.9)
    #expect(narrow.ticks.count == 5 && narrow.decimals == 1)
    #expect(abs(narrow.ticks[0] - 0.5) < 1e-12 && abs(narrow.ticks[4] - 0.9) < 1e-12)
    #expect(SVGChart.yTicks(3, 3).ticks == [3])
  }

  @Test(
    "`run` outputs of one scenario name with other settings are two configurations; seeds pool (config_id)"
  )
  func runConfigurations() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    var files: [String] = []
    func run(_ extra: [String]) throws {
      files.append(dir.path + "/run\(files.count).jsonl")
      let r = try CLI.run(
        ["run", sweep, "--set", "sweep=null", "--format", "jsonl", "--quiet", "--output"]
          + [files[files.count - 1]] + extra)
      #expect(r.status == 0, "\(r.stderr)")
    }
    // Seeds, and a --set writing the default value, are one configuration.
    try run(["--seed", "0"])
    try run(["--seed", "1", "--set", "defense.name=median"])
    let pooled = try CLI.run(["report"] + files + ["--format", "json"])
    #expect(pooled.status == 0, "\(pooled.stderr)")
    let ids = try files.flatMap { file in
      try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap {
        line -> String? in
        guard case .string(let id)? = (try? JSONParser.parse(String(line)))?["config_id"] else {
          return nil
        }
        return id
      }
    }
    #expect(ids.count == 2 && Set(ids).count == 1 && ids.first?.count == 16, "\(ids)")
    // Another defense under the same name is another configuration.
    try run(["--seed", "0", "--set", "defense.name=trimmed-mean"])
    let mixed = try CLI.run(["report"] + files)
    #expect(
      mixed.status == 2 && mixed.stderr.contains("2 configurations")
        && mixed.stderr.contains("sweep-synthetic [config_id \(ids.first ?? "")]"),
      "\(mixed.stderr)")
    #expect(try CLI.run(["report"] + files + ["--mixed"]).status == 0)
  }
}
