import Foundation
import Testing

@testable import PoisonLab

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Each defect the review of the plots found stays fixed.
///
/// The review (2026-12-03, session 21) rendered every figure to PNG and
/// looked at it; the cases here check the SVG text.
@Suite("Reliability: plots", .serialized)
struct PlotReviewTests {
  static func isXML(_ text: String) -> Bool { XMLParser(data: Data(text.utf8)).parse() }

  /// The number of times `needle` occurs in `text`.
  func count(_ needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
  }

  /// The canvas width an SVG document declares.
  func width(_ svg: String) -> Double? {
    svg.range(of: #"width="(\d+(\.\d+)?)""#, options: .regularExpression).flatMap {
      Double(svg[$0].dropFirst(7).dropLast())
    }
  }

  @Test("a run's attack start, alarms and gate rejections are read from its rows")
  func events() {
    let events = Report.events([
      (1, 0, "accepted", 0), (2, 0, "accepted", 0), (3, 2, "rejected", 1), (4, 2, "accepted", 0),
      (5, 0, "rejected", 2),
    ])
    #expect(
      events == [
        .init(x: 3, kind: .attackStart), .init(x: 3, kind: .alarm), .init(x: 3, kind: .rejected),
        .init(x: 5, kind: .alarm), .init(x: 5, kind: .rejected),
      ])
    // An attack from the first round is no event (its line would be the frame).
    #expect(Report.events([(1, 2, nil, 0), (2, 2, nil, 0)]).isEmpty)
  }

  @Test("run --plot marks alarms and the attack's start; the legend names them")
  func runPlotEvents() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let plot = dir.path + "/rb.svg"
    let output = dir.path + "/rb.jsonl"
    let r = try CLI.run([
      "run", "scenarios/regression/safeguards-rollback.json", "--plot", plot, "--output", output,
      "--quiet",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let svg = try String(contentsOfFile: plot, encoding: .utf8)
    #expect(Self.isXML(svg))
    let rows = try String(contentsOfFile: output, encoding: .utf8)
    let alarmRounds = Set(
      rows.split(separator: "\n").filter { $0.contains(#""type": "alarm""#) }.compactMap {
        line -> Int? in
        guard case .number(let round)? = (try? JSONParser.parse(String(line)))?["round"] else {
          return nil
        }
        return Int(round)
      })
    #expect(!alarmRounds.isEmpty)
    // One wine-red line per alarmed round, plus the legend's.
    #expect(
      count("stroke=\"\(SVGChart.alarmColour)\" stroke-width=\"1.5\"", in: svg)
        == alarmRounds.count + 1, "\(alarmRounds)")
    #expect(svg.contains(">alarm</text>") && svg.contains(">first malicious update</text>"))
    // The report of that one run marks the same events.
    let plots = dir.path + "/p"
    try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: false)
    #expect(try CLI.run(["report", output, "--plots", plots]).status == 0)
    let curves = try String(contentsOfFile: plots + "/curves.svg", encoding: .utf8)
    #expect(curves.contains(">alarm</text>") && curves.contains(">first malicious update</text>"))
  }

  /// A small scenario (its name and kind label the figures).
  func scenario() throws -> Scenario {
    try ScenarioLoader.load(file: CLI.root.path + "/scenarios/regression/smoke-synthetic.json")
  }

  @Test("rounds the gate rejected are grey columns; the gate's accuracy is a line")
  func gateColumns() throws {
    var rounds: [MetricRecord] = []
    for round in 1...4 {
      var record = MetricRecord(
        kind: .round, scenario: "g", round: round, accuracy: 0.5, loss: 1, attackSuccess: nil,
        robustAccuracy: nil, malicious: 0, flagged: 0, detectionPrecision: nil,
        detectionRecall: nil, seconds: 0)
      record.safeguards = MetricRecord.SafeguardFigures(
        gate: round == 3 ? "rejected" : "accepted", validationAccuracy: 0.6, alarms: [],
        quarantined: 0, falseQuarantined: 0)
      rounds.append(record)
    }
    let svg = Report.runFigure(rounds, scenario: try scenario())
    #expect(Self.isXML(svg))
    #expect(count("fill-opacity=\"0.10\"", in: svg) == 2, "one column and its legend swatch")
    #expect(svg.contains(">rejected by the gate</text>"))
    #expect(svg.contains(">validation accuracy of the candidate (gate)</text>"))
  }

  @Test("a failed run's plot says where and why it stopped, wrapped to the canvas")
  func failureSubtitle() throws {
    let record = MetricRecord(
      kind: .round, scenario: "d", round: 1, accuracy: 0.3, loss: 1, attackSuccess: nil,
      robustAccuracy: nil, malicious: 0, flagged: 0, detectionPrecision: nil, detectionRecall: nil,
      seconds: 0)
    let reason = String(repeating: "the global model became NaN ", count: 6)
    let svg = Report.runFigure([record], scenario: try scenario(), failure: reason)
    #expect(svg.contains("stopped after epoch 1: the global"), "\(svg)")
    let canvas = try #require(width(svg))
    var wrapped = 0
    for line in svg.split(separator: "\n") where line.contains("font-size=\"12\" fill=\"#882255\"")
    {
      let text = line.split(separator: ">").dropFirst().first?.split(separator: "<").first ?? ""
      #expect(SVGChart.textWidth(String(text), size: 12) <= canvas - 40, "\(text)")
      wrapped += 1
    }
    #expect(wrapped >= 2, "the long reason takes more than one line")
  }

  @Test("one round: a range one step wide around it, one tick")
  func singleRound() {
    let svg = SVGChart.lines(
      title: "t", xLabel: "round", yLabel: "y", series: [.init(name: "a", points: [(1, 0.5)])])
    #expect(svg.contains(">1</text>") && !svg.contains(">2</text>"))
  }

  @Test("fractional x ticks print the step exactly (1.25, not 1.2)")
  func fractionalTicks() {
    let (ticks, decimals) = SVGChart.xTicks(0.5, 2.6, integer: false)
    #expect(ticks.contains(1.25) && decimals == 2, "\(ticks) \(decimals)")
    let (entropy, places) = SVGChart.xTicks(0.58, 1.87, integer: false)
    #expect(places == 1 && abs((entropy.first ?? 0) - 0.6) < 1e-12, "\(entropy) \(places)")
  }

  @Test("heatmap cells: failed, n/a, some failed, and values of any size fit their cell")
  func heatmapCells() {
    let svg = SVGChart.heatmap(
      title: "t", rowLabel: "attack", columnLabel: "defense", rows: ["a", "b"],
      columns: ["x", "y"],
      cells: [
        [
          SVGChart.HeatCell(mean: .nan, std: 0, count: 0, failed: 2),
          SVGChart.HeatCell(mean: .nan, std: 0, count: 0),
        ],
        [
          SVGChart.HeatCell(mean: 1.234e9, std: 4.2e7, count: 2, failed: 1),
          SVGChart.HeatCell(mean: 0.000_204, std: 0.000_004_4, count: 2),
        ],
      ], metric: "loss", higherIsBetter: false)
    #expect(Self.isXML(svg))
    #expect(svg.contains(">failed</text>") && svg.contains(">2 run(s)</text>"))
    #expect(svg.contains(">n/a</text>"))
    #expect(svg.contains(">1.23e+09 ± 4.20e+07</text>") && svg.contains(">n=2, 1 failed</text>"))
    #expect(svg.contains(">2.04e-04 ± 4.40e-06</text>"), "not 0.000 ± 0.000")
    #expect(svg.contains("url(#failed)"))
    // The cells are as wide as their widest text (19 characters at 12 px).
    let widths = svg.matches(of: /<rect x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)" height="44.00"/)
      .compactMap { Double($0.1) }
    #expect(widths.count == 4, "\(widths)")
    let text = SVGChart.textWidth("1.23e+09 ± 4.20e+07", size: 12)
    #expect(widths.allSatisfy { $0 >= text }, "\(widths) vs \(text)")
    #expect(
      SVGChart.short(0.443, like: nil) == "0.443" && SVGChart.short(0.0035, like: 0.443) == "0.004")
  }

  @Test("rate heatmaps colour 0 to 1; rotated headers fit the canvas")
  func heatmapScale() {
    let long = "norm-clip(max_norm=median) → anomaly → bucketing(size=2) → multi-krum(f=2, m=4)"
    let svg = SVGChart.heatmap(
      title: "t", rowLabel: "attack", columnLabel: "defense", rows: ["a"],
      columns: ["fedavg", long],
      cells: [[SVGChart.HeatCell(mean: 0.61, std: 0, count: 1), nil]], metric: "clean accuracy",
      higherIsBetter: true, range: 0...1)
    #expect(svg.contains(">1.0</text>") && svg.contains(">0.0</text>"), "bar from 0 to 1")
    // The last header starts at the last column's centre and reaches
    // 0.82 of its width to the right.
    let left = 30 + SVGChart.textWidth("attack", size: 13)
    let reach = left + 124 * 1.5 + SVGChart.textWidth(long, size: 12) * 0.82
    #expect((width(svg) ?? 0) >= reach, "\(width(svg) ?? 0) < \(reach)")
  }

  @Test("report: a heatmap cell whose runs all failed says failed; attacks without a trigger n/a")
  func reportHeatmapFailures() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = """
      {"type": "summary", "run_id": "a", "axes": {"attack.name": "sign-flip", "defense.name": "fedavg", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.4, "attack_success": null}
      {"type": "error", "run_id": "b", "axes": {"attack.name": "gaussian", "defense.name": "fedavg", "seed": 0}, "exit_code": 3, "message": "diverged"}
      {"type": "summary", "run_id": "c", "axes": {"attack.name": "gaussian", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.5, "attack_success": null}
      {"type": "summary", "run_id": "d", "axes": {"attack.name": "sign-flip", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.45, "attack_success": null}

      """
    let file = dir.write("r.jsonl", text: rows)
    let report = try Report.read([file], by: nil)
    let accuracy = try #require(report.heatmapFigure(metric: "accuracy"))
    #expect(accuracy.contains(">failed</text>") && !accuracy.contains(">no run</text>"))
    let success = try #require(report.heatmapFigure(metric: "attack_success"))
    #expect(count(">n/a</text>", in: success) == 3, "three cells ran, none has a trigger")
    let json = try JSONParser.parse(
      try CLI.run(["report", file, "--format", "json"]).stdout)
    guard case .array(let worst)? = json["worst_case"] else {
      Issue.record("no worst case")
      return
    }
    #expect(worst.first?["defense"] == .string("fedavg"))
    guard case .array(let failed)? = worst.first?["failed"] else {
      Issue.record("no failures listed")
      return
    }
    #expect(failed.first?["attack"] == .string("gaussian"))
  }

  @Test("the worst case counts every run of a failing attack, across other axes")
  func worstCaseRuns() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // min-max/krum: one failed run (clients 4) and one finished (clients 2).
    let rows = """
      {"type": "summary", "run_id": "a", "axes": {"attack.name": "min-max", "attack.clients": 2, "defense.name": "krum", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.4}
      {"type": "error", "run_id": "b", "axes": {"attack.name": "min-max", "attack.clients": 4, "defense.name": "krum", "seed": 0}, "exit_code": 3, "message": "x"}

      """
    let file = dir.write("r.jsonl", text: rows)
    let report = try Report.read([file], by: nil)
    #expect(
      report.worstCase("accuracy").first?.failed == [.init(attack: "min-max", failed: 1, runs: 2)])
  }

  @Test("titles and subtitles without spaces are cut to the canvas; panel titles too")
  func unbrokenTitles() throws {
    let name = String(repeating: "x", count: 110)
    let svg = SVGChart.lines(
      title: name, xLabel: "round", yLabel: "y",
      series: [.init(name: "a", points: [(1, 0.5), (2, 0.6)])],
      subtitle: "stopped: /" + String(repeating: "p", count: 200))
    let canvas = try #require(width(svg))
    var centred = 0
    for line in svg.split(separator: "\n") where line.contains("text-anchor=\"middle\"") {
      let text = line.split(separator: ">").dropFirst().first?.split(separator: "<").first ?? ""
      let size: Double = line.contains("font-size=\"16\"") ? 16 : 12
      #expect(SVGChart.textWidth(String(text), size: size) <= canvas, "\(text)")
      centred += 1
    }
    #expect(centred >= 2, "the title and the subtitle")
    for line in SVGChart.wrap(name, width: 368, size: 13) {
      #expect(SVGChart.textWidth(line, size: 11) <= 368, "\(line)")
    }
  }

  @Test("heatmap colour bars: distinct labels for nearly equal values, no NaN near double's limits")
  func colourBarEdges() {
    func bar(_ values: [Double]) -> [String] {
      let svg = SVGChart.heatmap(
        title: "t", rowLabel: "a", columnLabel: "d", rows: values.map { "\($0)" }, columns: ["x"],
        cells: values.map { [SVGChart.HeatCell(mean: $0, std: 0, count: 1)] }, metric: "loss",
        higherIsBetter: false)
      #expect(!svg.contains("nan"), "\(values)")
      return svg.split(separator: "\n").filter { $0.contains("font-size=\"11\"") }.compactMap {
        $0.split(separator: ">").dropFirst().first?.split(separator: "<").first.map(String.init)
      }
    }
    for values in [[1e15, 1e15], [-5, -5.000_000_1], [1e308, -1e308], [3, 5]] {
      let labels = bar(values)
      #expect(Set(labels).count == labels.count && labels.count >= 2, "\(values): \(labels)")
    }
    #expect(SVGChart.short(0) == "0.000" && SVGChart.short(0, like: 0) == "0.000")
  }

  @Test("one scenario run federated and centralized by `run` is two configurations (--mixed)")
  func mixedKinds() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let federated = dir.path + "/fed.jsonl"
    let centralized = dir.path + "/cen.jsonl"
    let scenario = "scenarios/federated/sweep-synthetic.json"
    #expect(
      try CLI.run([
        "run", scenario, "--set", "sweep=null", "--format", "jsonl", "--quiet", "--output",
        federated,
      ]).status == 0)
    #expect(
      try CLI.run([
        "run", scenario, "--set", "sweep=null", "--set", "federation=null", "--set", "attack=null",
        "--set", "defense=null",
        "--format", "jsonl", "--quiet", "--output", centralized,
      ]).status == 0)
    let mixed = try CLI.run(["report", federated, centralized])
    #expect(
      mixed.status == 2 && mixed.stderr.contains("sweep-synthetic [federated]")
        && mixed.stderr.contains("sweep-synthetic [centralized]"), "\(mixed.stderr)")
    let both = try CLI.run(["report", federated, centralized, "--mixed", "--format", "json"])
    #expect(both.status == 0, "\(both.stderr)")
    #expect(try CLI.run(["report", federated]).status == 0)
  }
}
