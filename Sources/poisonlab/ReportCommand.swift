import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab report`: tables and plots of sweep results.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract:
      "Summarise sweep (or run) results: grouped tables, worst case per defense, SVG plots, HTML.",
    discussion: """
      Reads JSON Lines written by `poisonlab sweep` or `poisonlab run --format jsonl`. Final-round \
      metrics are grouped by --by (default: every sweep axis but seed) as mean ± std over the \
      runs of a cell (the seeds), with the number of runs; failed, skipped and missing \
      combinations are shown as such. With an attack axis and a defense axis, the worst case over \
      attacks per defense is listed (the lowest --metric, or the highest for metrics where lower is \
      better: attack_success, loss and the like). --round N reads \
      round N instead of the final one; --metrics picks the table's columns (with a worst case, \
      its --metric is shown too). --plots writes \
      curves.svg (clean accuracy and attack success per round, one panel each, mean with a ±1 std \
      band over seeds), heatmap.svg (attack x defense: mean ± std and n, with a colour bar) and, \
      with --panels AXIS, panels.svg (one panel per value of AXIS); --html writes one offline HTML \
      file with the tables and plots. Runs of different configurations in one file (sweeps with \
      another sweep_id; `run` outputs of one scenario name with another config_id, i.e. other \
      settings than the seed) are refused unless --mixed is given.

      Example:
        poisonlab report results.jsonl --metrics accuracy,flagged \\
          --plots plots/ --panels defense.name --html report.html
      """)

  @Argument(help: "JSON Lines result files.")
  var results: [String]

  @Option(
    help: ArgumentHelp(
      "Axes to group by, comma-separated (e.g. attack.name,defense.name); also scenario, config_id, sweep_id.",
      valueName: "axes"))
  var by: String?

  @Option(help: "The metric of the heatmap and the worst case.")
  var metric: String = "accuracy"

  @Option(
    help: ArgumentHelp(
      "The table's metrics, comma-separated (default: accuracy, attack_success, robust_accuracy, detection_precision, detection_recall); any numeric field of the records, e.g. flagged,epsilon,false_alarms,total_seconds (with --round, fields only the summary holds, the totals, show -).",
      valueName: "metrics"))
  var metrics: String?

  @Option(help: "Report this round instead of the final one.")
  var round: Int?

  @Option(
    help:
      "Output format: table, markdown (mean ± std, 4 decimals), csv (columns METRIC_mean, METRIC_std, METRIC_n at full precision) or json."
  )
  var format: String = "table"

  @Option(
    help:
      "Write curves.svg, heatmap.svg and, with --panels, panels.svg (small multiples) into this existing folder."
  )
  var plots: String?

  @Option(
    help: ArgumentHelp(
      "Small multiples: one panel per value of this grouping axis (e.g. defense.name).",
      valueName: "axis"))
  var panels: String?

  @Option(help: "Write one self-contained HTML report to this file.")
  var html: String?

  @Flag(help: "Report runs of different configurations together (refused otherwise).")
  var mixed = false

  var metricList: [String] {
    metrics.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
      ?? Report.metrics
  }

  func validate() throws {
    let formats = Report.formats
    if !formats.contains(format) {
      throw ValidationError(
        "unknown format \"\(format)\"\(Suggest.phrase(for: format, in: formats)) (allowed: \(formats.joined(separator: ", ")))"
      )
    }
    let allowed = Report.selectableMetrics
    for name in metricList + [metric] where !allowed.contains(name) {
      throw ValidationError(
        "unknown metric \"\(name)\"\(Suggest.phrase(for: name, in: allowed)) (allowed: \(allowed.joined(separator: ", ")))"
      )
    }
    if metrics != nil && metricList.allSatisfy(\.isEmpty) {
      throw ValidationError("--metrics needs at least one metric")
    }
    if let html, OutputPath.isStandardOutput(html) {
      throw ValidationError(
        "--html - would mix the page with the table on standard output; give --html a file")
    }
    if panels != nil && plots == nil && html == nil {
      throw ValidationError(
        "--panels draws small multiples into --plots or --html; give one of them")
    }
    if let axes = by?.split(separator: ",").map(String.init), Set(axes).count != axes.count {
      throw ValidationError("--by names an axis twice: \(by ?? "")")
    }
    if let round, round < 0 || round > 1_000_000 {
      throw ValidationError("--round must be from 0 to 1000000, got \(round)")
    }
  }

  func run() throws {
    // Files to write outlive a reader of the table that went away (| head).
    Terminal.outlivesReader = plots != nil || html != nil
    let names = ["curves.svg", "heatmap.svg"] + (panels != nil ? ["panels.svg"] : [])
    let files = plots.map { folder in names.map { folder + "/" + $0 } } ?? []
    try checkDistinct(
      results.map { ("a results file", $0) } + [("--html", html)] + files.map { ("--plots", $0) })
    try checkOutput(html)
    if let plots {
      // Like every folder option (--audit-dir, --checkpoint-dir, --save-updates),
      // the folder must exist: poisonlab creates no folders.
      try RunCommand.checkFolder("--plots", plots)
      for file in files { try checkOutput(file) }
    }
    var report: Report
    do {
      // The heatmap's and the worst case's metric is in the table when
      // the axes give a heatmap and a worst case.
      report = try Report.read(
        results, by: by.map { $0.split(separator: ",").map(String.init) }, round: round,
        metrics: metricList.contains(metric) ? metricList : metricList + [metric])
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
    for file in report.tornFiles {
      Terminal.error(
        "poisonlab: \(file): its last line was cut off (no line feed, not JSON; a writer stopped "
          + "mid-line) and is left out")
    }
    if !metricList.contains(metric) && report.worstCase(metric).isEmpty {
      report = report.dropping(metric)
    }
    // An axis no run records would lump every run into one row.
    var recorded: [String] = []
    for run in report.runs {
      for member in run.axes where !recorded.contains(member.key) { recorded.append(member.key) }
    }
    for axis in report.by + (panels.map { [$0] } ?? [])
    where !recorded.contains(axis) && !Report.recordAxes.contains(axis) {
      // `defense.name` when `defense` was swept whole (or the reverse).
      let nested = recorded.first { axis.hasPrefix($0 + ".") || $0.hasPrefix(axis + ".") }
      let hint =
        nested.map { "; did you mean \"\($0)\"?" } ?? Suggest.phrase(for: axis, in: recorded)
      Terminal.error(
        "poisonlab: \(report.by.contains(axis) ? "--by" : "--panels") \(axis): no run records this axis\(hint) "
          + "(recorded: \(recorded.isEmpty ? "none" : recorded.joined(separator: ", ")))")
      throw ExitCode(Exit.invalid)
    }
    if let panels, !report.by.contains(panels) {
      Terminal.error(
        "poisonlab: --panels \(panels): panels split the grouping axes (\(report.by.joined(separator: ", "))); add it to --by"
      )
      throw ExitCode(Exit.invalid)
    }
    if report.configurations.count > 1 && !mixed && !report.by.contains("config_id") {
      Terminal.error(
        "poisonlab: the results hold runs of \(report.configurations.count) configurations: "
          + report.configurations.joined(separator: "; ")
          + ". Report them separately, side by side with --by \((report.by + ["config_id"]).joined(separator: ",")), or pooled with --mixed"
      )
      throw ExitCode(Exit.invalid)
    }
    if let round, !report.runs.contains(where: { $0.rounds.contains { $0.round == round } }) {
      Terminal.error("poisonlab: --round \(round): no run recorded that round")
      throw ExitCode(Exit.invalid)
    }
    Terminal.out(report.render(format, metric: metric))
    // CSV holds the table alone: its notes (unlisted combinations, missing
    // seeds, runs written twice) go to standard error, as a reader of the
    // file would otherwise never see them.
    if format == "csv", !report.unlistedNote.isEmpty {
      Terminal.error(
        "poisonlab report:"
          + report.unlistedNote.split(separator: "\n").map { " \($0)" }
          .joined(separator: "\n"))
    }
    let curves = report.curvesFigure()
    let heatmap = report.heatmapFigure(metric: metric)
    let multiples = panels.flatMap { report.panelsFigure(by: $0) }
    if let plots {
      try Self.write(curves, to: plots + "/curves.svg")
      if let heatmap { try Self.write(heatmap, to: plots + "/heatmap.svg") }
      if let multiples { try Self.write(multiples, to: plots + "/panels.svg") }
      // A picture this report does not draw is left as it was: say so.
      for (name, drawn) in [("heatmap.svg", heatmap != nil), ("panels.svg", multiples != nil)]
      where !drawn && (try? SystemFile.kind(of: plots + "/" + name)) != nil {
        Terminal.error(
          "poisonlab: \(plots)/\(name) is from an earlier report and was left as it was (this one draws "
            + (name == "heatmap.svg"
              ? "no heatmap: it needs attack and defense axes in --by" : "no panels: no --panels")
            + ")")
      }
    }
    if let html {
      var figures: [(heading: String, svg: String)] = []
      if let heatmap {
        figures.append(
          ("Heatmap: \(Report.metricLabel(metric)) by attack and defense", heatmap))
      }
      figures.append(("Curves", curves))
      if let multiples, let panels { figures.append(("Small multiples by \(panels)", multiples)) }
      try Self.write(report.html(files: results, metric: metric, figures: figures), to: html)
    }
  }

  static func write(_ text: String, to path: String) throws {
    try writeOutput(Array(text.utf8), to: path)
  }
}
