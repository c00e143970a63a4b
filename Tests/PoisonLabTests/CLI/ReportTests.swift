import Foundation
import Testing

@testable import PoisonLab

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("CLI report and plots", .serialized)
struct ReportTests {
  /// Rows of a tiny two-axis sweep written by hand: known means and stds.
  static let rows = """
    {"type": "round", "run_id": "a0", "run_index": 0, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 1, "accuracy": 0.55, "attack_success": null, "messages": 10}
    {"type": "round", "run_id": "a0", "run_index": 0, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.8, "attack_success": null, "messages": 10}
    {"type": "summary", "run_id": "a0", "run_index": 0, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.8, "attack_success": null}
    {"type": "round", "run_id": "a1", "run_index": 1, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 1}, "scenario": "s", "round": 1, "accuracy": 0.5, "attack_success": null, "messages": 10}
    {"type": "round", "run_id": "a1", "run_index": 1, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 1}, "scenario": "s", "round": 2, "accuracy": 0.6, "attack_success": null, "messages": 10}
    {"type": "summary", "run_id": "a1", "run_index": 1, "axes": {"attack.name": "ipm", "defense.name": "median", "seed": 1}, "scenario": "s", "round": 2, "accuracy": 0.6, "attack_success": null}
    {"type": "summary", "run_id": "b0", "run_index": 2, "axes": {"attack.name": "ipm", "defense.name": "krum", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.7, "attack_success": null}
    {"type": "summary", "run_id": "c0", "run_index": 3, "axes": {"attack.name": "alie", "defense.name": "median", "seed": 0}, "scenario": "s", "round": 2, "accuracy": 0.9, "attack_success": null}
    {"type": "error", "run_id": "d0", "run_index": 4, "axes": {"attack.name": "alie", "defense.name": "median", "seed": 1}, "exit_code": 3, "message": "diverged"}

    """

  static func isXML(_ text: String) -> Bool { XMLParser(data: Data(text.utf8)).parse() }

  @Test("groups by axes with mean and sample std; failed and missing cells; worst case per defense")
  func table() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("r.jsonl", text: Self.rows)
    let report = try Report.read([file], by: nil)
    #expect(report.by == ["attack.name", "defense.name"])
    #expect(report.cells.map(\.key) == [["ipm", "median"], ["ipm", "krum"], ["alie", "median"]])
    let ipmMedian = try #require(
      report.cells[0].statistics.first { $0.metric == "accuracy" }?.value)
    #expect(
      isClose(ipmMedian.mean, 0.7) && isClose(ipmMedian.std, 0.141_421_356, rtol: 1e-6)
        && ipmMedian.count == 2)
    #expect(report.cells[2].failed == 1 && report.cells[2].runs == 1)
    #expect(report.missing == [["alie", "krum"]])
    let worst = report.worstCase("accuracy")
    #expect(worst.map(\.defense) == ["median", "krum"])
    #expect(isClose(worst[0].value ?? 0, 0.7) && worst[0].attack == "ipm")
    // alie/median's failed run is worse than any value: listed, not hidden.
    #expect(worst[0].failed == [.init(attack: "alie", failed: 1, runs: 2)])
    let out = try CLI.run(["report", file])
    #expect(out.status == 0)
    #expect(
      out.stdout.contains("ipm          median           2        0        0  0.7000 ± 0.1414"),
      "\(out.stdout)")
    #expect(out.stdout.contains("alie         krum             0  missing"))
    #expect(
      out.stdout.contains(
        "worst case over attacks (accuracy):\n  median: 0.7000 (ipm); failed under alie (1 of 2 runs)"
      ), "\(out.stdout)")
    let markdown = try CLI.run(["report", file, "--format", "markdown"])
    #expect(
      markdown.stdout.hasPrefix(
        "| attack.name | defense.name | runs | failed | skipped | accuracy |"))
    let csv = try CLI.run(["report", file, "--format", "csv"])
    // One column per number, full precision, empty where there is no value.
    let csvLines = csv.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(
      String.init)
    let empty = ",,,0,,,0,,,0,,,0"
    #expect(
      csvLines.count == 6
        && csvLines[1].hasPrefix("ipm,median,2,0,0,false,") && csvLines[1].hasSuffix(",2" + empty),
      "\(csv.stdout)")
    let fields = csvLines[1].split(separator: ",", omittingEmptySubsequences: false)
    #expect(
      isClose(Double(fields[6]) ?? 0, 0.7)
        && isClose(Double(fields[7]) ?? 0, 0.141_421_356_237_309_5, rtol: 1e-12), "\(fields)")
    #expect(
      Array(csvLines.prefix(1) + csvLines.dropFirst(2)) == [
        "attack.name,defense.name,runs,failed,skipped,missing,accuracy_mean,accuracy_std,accuracy_n,attack_success_mean,attack_success_std,attack_success_n,robust_accuracy_mean,robust_accuracy_std,robust_accuracy_n,detection_precision_mean,detection_precision_std,detection_precision_n,detection_recall_mean,detection_recall_std,detection_recall_n",
        "ipm,krum,1,0,0,false,0.7,,1,,,0,,,0,,,0,,,0",
        "alie,median,1,1,0,false,0.9,,1,,,0,,,0,,,0,,,0",
        "alie,krum,0,0,0,true,,,0,,,0,,,0,,,0,,,0", "",
      ], "\(csv.stdout)")
    let json = try JSONParser.parse(try CLI.run(["report", file, "--format", "json"]).stdout)
    #expect(
      json["missing"]
        == .array([
          .object([
            JSONMember("attack.name", .string("alie")), JSONMember("defense.name", .string("krum")),
          ])
        ]))
    #expect(try CLI.run(["report", file, "--metric", "acuracy"]).status == 2)
    #expect(try CLI.run(["report", dir.path + "/none.jsonl"]).status == 3)
  }

  @Test("plots are valid SVG (XML) with labelled axes; the HTML holds tables and plots")
  func plots() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("r.jsonl", text: Self.rows)
    // poisonlab creates no folders: a missing --plots folder exits 3 before any output.
    let missing = try CLI.run(["report", file, "--plots", dir.path + "/plots"])
    #expect(missing.status == 3 && missing.stderr.contains("no such folder"), "\(missing.stderr)")
    try FileManager.default.createDirectory(
      atPath: dir.path + "/plots", withIntermediateDirectories: false)
    let out = try CLI.run([
      "report", file, "--plots", dir.path + "/plots", "--html", dir.path + "/report.html",
    ])
    #expect(out.status == 0, "\(out.stderr)")
    let curves = try String(contentsOfFile: dir.path + "/plots/curves.svg", encoding: .utf8)
    let heatmap = try String(contentsOfFile: dir.path + "/plots/heatmap.svg", encoding: .utf8)
    #expect(Self.isXML(curves) && Self.isXML(heatmap))
    #expect(curves.contains(">round</text>") && curves.contains(">clean accuracy</text>"))
    // Two runs in ipm/median: mean ± std, n, and a ±1 std band; one run in ipm/krum.
    #expect(heatmap.contains(">0.700 ± 0.141</text>") && heatmap.contains(">n=2</text>"))
    #expect(heatmap.contains(">0.700</text>") && heatmap.contains(">no run</text>"))
    #expect(heatmap.contains(">clean accuracy</text>"), "colour bar label")
    #expect(heatmap.contains(">n=1, 1 failed</text>"), "alie/median: one run failed")
    #expect(curves.contains("<polygon") && curves.contains("fill-opacity=\"0.15\""))
    let html = try String(contentsOfFile: dir.path + "/report.html", encoding: .utf8)
    #expect(html.contains("<table>") && html.components(separatedBy: "<svg").count == 3)
    // Offline: no scripts, and no address but the SVG namespace URI.
    #expect(!html.contains("<script"))
    #expect(
      html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http")
        == false)

    let plot = dir.path + "/run.svg"
    let run = try CLI.run([
      "run", "scenarios/regression/smoke-synthetic.json", "--format", "jsonl", "--plot", plot,
    ])
    #expect(run.status == 0)
    let svg = try String(contentsOfFile: plot, encoding: .utf8)
    #expect(Self.isXML(svg))
    #expect(svg.contains(">accuracy</text>") && svg.contains(">attack success</text>"))
    #expect(svg.contains(">epoch</text>"), "a centralized run's x axis says epoch")
  }

  @Test("short labels: a chain joined by arrows, settings in brackets, never raw JSON")
  func labels() throws {
    let chain = try JSONParser.parse(
      #"[{"name": "norm-clip", "max_norm": "median"}, {"name": "fedavg"}]"#)
    #expect(Report.label(chain) == "norm-clip(max_norm=median) → fedavg")
    let dp = try JSONParser.parse(#"[{"name": "dp", "clip": 1, "z": 0.01}, {"name": "mean"}]"#)
    #expect(Report.label(dp) == "dp(clip=1, z=0.01) → mean")
    #expect(
      Report.label(
        try JSONParser.parse(#"{"name": "spectral-signatures", "expected_fraction": 0.1}"#))
        == "spectral-signatures(expected_fraction=0.1)")
    #expect(Report.label(.number(0.5)) == "0.5")
    // Several settings of one plug-in: only what differs, nested too.
    let small = try JSONParser.parse(
      #"{"name": "backdoor", "clients": 2, "target": 0, "trigger": {"pattern": "square", "size": 2, "value": 6}}"#
    )
    let large = try JSONParser.parse(
      #"{"name": "backdoor", "clients": 2, "target": 0, "trigger": {"pattern": "square", "size": 3, "value": 6}}"#
    )
    let plain = try JSONParser.parse(#"{"name": "backdoor", "clients": 2}"#)
    #expect(Report.label(small, among: [small, large]) == "backdoor(trigger=(size=2))")
    #expect(Report.label(large, among: [small, large]) == "backdoor(trigger=(size=3))")
    // A key the value lacks shows the plug-in's default where the registry has one.
    #expect(
      Report.label(plain, among: [small, plain])
        == "backdoor(target=0, trigger=default)")
    let sum = try JSONParser.parse(#"{"name": "foolsgold"}"#)
    let mean = try JSONParser.parse(#"{"name": "foolsgold", "combine": "mean"}"#)
    #expect(Report.label(sum, among: [sum, mean]) == "foolsgold(combine=sum)")
    #expect(
      Report.label(small, among: [small, plain])
        == "backdoor(target=0, trigger=(pattern=square, size=2, value=6))")
  }

  @Test(
    "seed bands: full strength up to 4 lines, lighter up to 8, none above (they would cover the panel)"
  )
  func bands() {
    func series(_ count: Int) -> [SVGChart.Series] {
      (0..<count).map { k in
        SVGChart.Series(
          name: "s\(k)", points: [(1, 0.5), (2, 0.6)], band: [(1, 0.4, 0.6), (2, 0.5, 0.7)])
      }
    }
    let few = SVGChart.figure(
      title: "t", xLabel: "round",
      panels: [SVGChart.Panel(title: "", yLabel: "y", series: series(3))])
    let many = SVGChart.figure(
      title: "t", xLabel: "round",
      panels: [SVGChart.Panel(title: "", yLabel: "y", series: series(7))])
    let tooMany = SVGChart.figure(
      title: "t", xLabel: "round",
      panels: [SVGChart.Panel(title: "", yLabel: "y", series: series(9))])
    #expect(few.components(separatedBy: "fill-opacity=\"0.15\"").count - 1 == 3)
    #expect(many.components(separatedBy: "fill-opacity=\"0.07\"").count - 1 == 7)
    #expect(!tooMany.contains("fill-opacity"))
  }

  @Test("panel titles of any length wrap inside their panel and push the panels down")
  func longPanelTitles() {
    let long =
      "backdoor(clients=2, fraction=0.5, target=0, trigger=(pattern=square, size=2, position=bottom-right, value=6))"
    #expect(SVGChart.wrap(long, width: 368, size: 13).count >= 3)
    for line in SVGChart.wrap(long, width: 368, size: 13) {
      #expect(SVGChart.textWidth(line, size: 11) <= 368 || !line.contains(" "), "\(line)")
    }
    let series = [SVGChart.Series(name: "a", points: [(1, 0.5), (2, 0.6)])]
    let short = SVGChart.figure(
      title: "t", xLabel: "round",
      panels: [
        SVGChart.Panel(title: "fedavg", yLabel: "rate", series: series),
        SVGChart.Panel(title: "median", yLabel: "rate", series: series),
      ])
    let tall = SVGChart.figure(
      title: "t", xLabel: "round",
      panels: [
        SVGChart.Panel(title: long, yLabel: "rate", series: series),
        SVGChart.Panel(title: long, yLabel: "rate", series: series),
      ])
    func height(_ svg: String) -> Double? {
      svg.range(of: #"height="(\d+(\.\d+)?)""#, options: .regularExpression).flatMap {
        Double(svg[$0].dropFirst(8).dropLast())
      }
    }
    #expect((height(tall) ?? 0) > (height(short) ?? 0))
  }

  @Test("--round, --metrics, --panels; mixed sweep configurations are refused without --mixed")
  func options() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("r.jsonl", text: Self.rows)
    // Round 1 exists in runs a0 (0.55) and a1 (0.5) only.
    let round = try JSONParser.parse(
      try CLI.run(["report", file, "--round", "1", "--format", "json"]).stdout)
    guard case .array(let cells)? = round["cells"] else {
      Issue.record("no cells")
      return
    }
    #expect(cells.first?["metrics"]?["accuracy"]?["mean"] == .number(0.525))
    #expect(cells.first?["metrics"]?["accuracy"]?["count"] == .number(2))
    #expect(cells.dropFirst().first?["metrics"]?["accuracy"] == .null)
    #expect(try CLI.run(["report", file, "--round", "7"]).status == 2)
    let metrics = try CLI.run(["report", file, "--metrics", "accuracy,flagged,epsilon"])
    #expect(metrics.status == 0 && metrics.stdout.contains("accuracy  flagged  epsilon"))
    let typo = try CLI.run(["report", file, "--metrics", "flaged"])
    #expect(typo.status == 2 && typo.stderr.contains(#"did you mean "flagged""#), "\(typo.stderr)")
    try FileManager.default.createDirectory(
      atPath: dir.path + "/p", withIntermediateDirectories: false)
    let panels = try CLI.run([
      "report", file, "--plots", dir.path + "/p", "--panels", "defense.name",
    ])
    #expect(panels.status == 0, "\(panels.stderr)")
    let svg = try String(contentsOfFile: dir.path + "/p/panels.svg", encoding: .utf8)
    #expect(Self.isXML(svg) && svg.contains(">median</text>") && svg.contains(">krum</text>"))
    #expect(try CLI.run(["report", file, "--panels", "defence.name"]).status == 2)
    #expect(
      try CLI.run(["report", file, "--panels", "defense.name"]).status == 2, "no --plots or --html")
    #expect(try CLI.run(["report", file, "--metrics", ""]).status == 2)
    #expect(try CLI.run(["report", file, "--by", "attack.name,attack.name"]).status == 2)
    #expect(!Report.higherIsBetter("loss") && !Report.higherIsBetter("false_alarms"))
    #expect(Report.higherIsBetter("accuracy") && Report.label(.array([])) == "none")
    // Another sweep configuration appended to the same file.
    let other = dir.write(
      "o.jsonl",
      text: Self.rows
        + #"{"type": "summary", "run_id": "z9", "run_index": 0, "axes": {"attack.z": 1, "seed": 0}, "scenario": "w1", "round": 2, "accuracy": 0.85}"#
        + "\n")
    let mixed = try CLI.run(["report", other])
    #expect(mixed.status == 2 && mixed.stderr.contains("2 configurations"), "\(mixed.stderr)")
    #expect(try CLI.run(["report", other, "--mixed"]).status == 0)
  }

  @Test("chart text is escaped")
  func escaping() {
    let svg = SVGChart.lines(
      title: "a < b & \"c\"", xLabel: "x", yLabel: "y",
      series: [.init(name: "<s>", points: [(1, 0.5), (2, 0.6)])])
    #expect(Self.isXML(svg))
    #expect(svg.contains("a &lt; b &amp; &quot;c&quot;"))
  }
}
