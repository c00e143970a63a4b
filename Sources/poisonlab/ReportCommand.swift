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
      attacks per defense is listed (lowest --metric, or highest attack_success). --plots writes \
      curves.svg (per-round accuracy, solid, and attack success, dashed, per group) and \
      heatmap.svg (attack x defense); --html writes one offline HTML file with the tables and plots.
      """)

  @Argument(help: "JSON Lines result files.")
  var results: [String]

  @Option(
    help: ArgumentHelp(
      "Axes to group by, comma-separated (e.g. attack.name,defense.name).", valueName: "axes"))
  var by: String?

  @Option(help: "The metric of the heatmap and the worst case.")
  var metric: String = "accuracy"

  @Option(help: "Output format: table, markdown, csv or json.")
  var format: String = "table"

  @Option(help: "Write curves.svg and heatmap.svg into this folder.")
  var plots: String?

  @Option(help: "Write one self-contained HTML report to this file.")
  var html: String?

  func validate() throws {
    let formats = ["table", "markdown", "csv", "json"]
    if !formats.contains(format) {
      throw ValidationError(
        "unknown format \"\(format)\"\(Suggest.phrase(for: format, in: formats)) (allowed: \(formats.joined(separator: ", ")))"
      )
    }
    if !Report.metrics.contains(metric) {
      throw ValidationError(
        "unknown metric \"\(metric)\"\(Suggest.phrase(for: metric, in: Report.metrics)) (allowed: \(Report.metrics.joined(separator: ", ")))"
      )
    }
  }

  func run() throws {
    try checkDistinct(
      results.map { ("a results file", $0) } + [
        ("--html", html), ("--plots", plots.map { $0 + "/curves.svg" }),
        ("--plots", plots.map { $0 + "/heatmap.svg" }),
      ])
    try checkOutput(html)
    if let plots {
      // The folder itself is created (not its parents); its two files are checked like any output.
      if (try? SystemFile.kind(of: plots)) == .some(nil) {
        do {
          try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: false)
        } catch {
          Terminal.error(
            "poisonlab: \(plots): cannot create the folder: "
              + (FileManager.default.fileExists(atPath: OutputPath.folder(of: plots))
                ? "permission denied or read-only"
                : "its parent \(OutputPath.folder(of: plots)) does not exist"))
          throw ExitCode(Exit.runtime)
        }
      }
      try checkOutput(plots + "/curves.svg")
      try checkOutput(plots + "/heatmap.svg")
    }
    let report: Report
    do {
      report = try Report.read(results, by: by.map { $0.split(separator: ",").map(String.init) })
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
    // An axis no run records would lump every run into one row.
    var recorded: [String] = []
    for run in report.runs {
      for member in run.axes where !recorded.contains(member.key) { recorded.append(member.key) }
    }
    for axis in report.by where !recorded.contains(axis) {
      Terminal.error(
        "poisonlab: --by \(axis): no run records this axis\(Suggest.phrase(for: axis, in: recorded)) "
          + "(recorded: \(recorded.isEmpty ? "none" : recorded.joined(separator: ", ")))")
      throw ExitCode(Exit.invalid)
    }
    Terminal.out(render(report, as: format))
    let curves = Self.curves(report)
    let heatmap = Self.heatmap(report, metric: metric)
    if let plots {
      try Self.write(curves, to: plots + "/curves.svg")
      if let heatmap { try Self.write(heatmap, to: plots + "/heatmap.svg") }
    }
    if let html {
      var page =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>poisonlab report</title>\n"
      page +=
        "<style>body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
      page +=
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}td.k{text-align:left}</style></head><body>\n"
      page +=
        "<h1>poisonlab report</h1>\n<p>\(Self.escape(results.joined(separator: ", "))): \(report.runs.count) runs, "
      page +=
        "grouped by \(Self.escape(report.by.isEmpty ? "nothing" : report.by.joined(separator: ", "))).</p>\n"
      page += "<h2>Final-round metrics (mean ± std over runs)</h2>\n" + htmlTable(report)
      let worst = report.worstCase(metric)
      if !worst.isEmpty {
        page +=
          "<h2>Worst case over attacks (\(Self.escape(metric)))</h2>\n<table><tr><th>defense</th><th>\(Self.escape(metric))</th><th>attack</th></tr>\n"
        for w in worst {
          page +=
            "<tr><td class=\"k\">\(Self.escape(w.defense))</td><td>\(String(format: "%.4f", w.value))</td><td class=\"k\">\(Self.escape(w.attack))</td></tr>\n"
        }
        page += "</table>\n"
      }
      if let heatmap {
        page += "<h2>\(Self.escape(metric)) by attack and defense</h2>\n" + Self.inline(heatmap)
      }
      page += "<h2>Per-round curves</h2>\n" + Self.inline(curves) + "</body></html>\n"
      try Self.write(page, to: html)
    }
  }

  static func escape(_ s: String) -> String { XMLText.escape(s) }

  static func inline(_ svg: String) -> String {
    guard let start = svg.range(of: "<svg") else { return svg }
    return String(svg[start.lowerBound...]) + "\n"
  }

  static func write(_ text: String, to path: String) throws {
    try writeOutput(Array(text.utf8), to: path)
  }

  /// Per-round mean accuracy (solid) and attack success (dashed) of every cell.
  static func curves(_ report: Report) -> String {
    var series: [SVGChart.Series] = []
    for cell in report.cells where cell.runs > 0 {
      let name = cell.key.isEmpty ? "all runs" : cell.key.joined(separator: " / ")
      for (metric, points) in cell.curves {
        series.append(
          SVGChart.Series(
            name: metric == "accuracy" ? name : "\(name): ASR", points: points,
            dashed: metric != "accuracy"))
      }
    }
    return SVGChart.lines(
      title: "Clean accuracy (solid) and attack success (dashed) per round", xLabel: "round",
      yLabel: "rate", series: series)
  }

  /// The attack x defense heatmap of `metric`, when both axes are grouped.
  static func heatmap(_ report: Report, metric: String) -> String? {
    guard let a = report.by.firstIndex(where: { $0.contains("attack") }),
      let d = report.by.firstIndex(where: { $0.contains("defense") })
    else { return nil }
    let unique = { (i: Int) in
      report.cells.map { $0.key[i] }.reduce(into: [String]()) {
        if !$0.contains($1) { $0.append($1) }
      }
    }
    let attacks = unique(a)
    let defenses = unique(d)
    let values: [[Double?]] = attacks.map { attack in
      defenses.map { defense in
        let matching = report.cells.filter { $0.key[a] == attack && $0.key[d] == defense }
          .compactMap { $0.statistics.first { $0.metric == metric }?.value?.mean }
        return matching.isEmpty ? nil : matching.reduce(0, +) / Double(matching.count)
      }
    }
    return SVGChart.heatmap(
      title: "Final \(metric) (mean over runs)", rowLabel: report.by[a], columnLabel: report.by[d],
      rows: attacks,
      columns: defenses, values: values, higherIsBetter: Report.higherIsBetter(metric))
  }

  private func headers(_ report: Report) -> [String] {
    report.by + ["runs", "failed"] + Report.metrics
  }

  private func cells(_ report: Report) -> [[String]] {
    report.cells.map { cell in
      cell.key + ["\(cell.runs)", "\(cell.failed + cell.skipped)"]
        + cell.statistics.map { Report.format($0.value) }
    } + report.missing.map { $0 + ["0", "missing"] + Report.metrics.map { _ in "-" } }
  }

  private func htmlTable(_ report: Report) -> String {
    var t =
      "<table><tr>" + headers(report).map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
    for row in cells(report) {
      t +=
        "<tr>"
        + row.enumerated().map { i, v in
          i < report.by.count
            ? "<td class=\"k\">\(Self.escape(v))</td>" : "<td>\(Self.escape(v))</td>"
        }.joined() + "</tr>\n"
    }
    return t + "</table>\n"
  }

  private func render(_ report: Report, as format: String) -> String {
    let head = headers(report)
    let rows = cells(report)
    switch format {
    case "json":
      let cellsJSON: [JSONValue] = report.cells.map { cell in
        .object([
          JSONMember("axes", .object(zip(report.by, cell.key).map { JSONMember($0, .string($1)) })),
          JSONMember("runs", .number(Double(cell.runs))),
          JSONMember("failed", .number(Double(cell.failed))),
          JSONMember("skipped", .number(Double(cell.skipped))),
          JSONMember(
            "metrics",
            .object(
              cell.statistics.map { m in
                JSONMember(
                  m.metric,
                  m.value.map {
                    .object([
                      JSONMember("mean", .number($0.mean)), JSONMember("std", .number($0.std)),
                      JSONMember("count", .number(Double($0.count))),
                    ])
                  } ?? .null)
              })),
        ])
      }
      let worst: [JSONValue] = report.worstCase(metric).map {
        .object([
          JSONMember("defense", .string($0.defense)), JSONMember(metric, .number($0.value)),
          JSONMember("attack", .string($0.attack)),
        ])
      }
      return JSONValue.object([
        JSONMember("by", .array(report.by.map { .string($0) })),
        JSONMember("cells", .array(cellsJSON)),
        JSONMember("worst_case", .array(worst)),
        JSONMember(
          "missing",
          .array(
            report.missing.map { .object(zip(report.by, $0).map { JSONMember($0, .string($1)) }) })),
      ]).serialized(indent: 2) + "\n"
    case "csv":
      return ([head] + rows).map {
        $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",")
      }.joined(separator: "\n") + "\n"
    case "markdown":
      var text =
        "| " + head.joined(separator: " | ") + " |\n|"
        + head.map { _ in "---" }.joined(separator: "|") + "|\n"
      text += rows.map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n") + "\n"
      return text + worstText(report, markdown: true)
    default:
      let widths = head.indices.map { i in ([head[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0
      }
      func line(_ r: [String]) -> String {
        r.enumerated().map { i, v in
          i < report.by.count
            ? v.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: widths[i] - v.count) + v
        }
        .joined(separator: "  ")
      }
      return ([line(head)] + rows.map(line)).joined(separator: "\n") + "\n"
        + worstText(report, markdown: false)
    }
  }

  private func worstText(_ report: Report, markdown: Bool) -> String {
    let worst = report.worstCase(metric)
    guard !worst.isEmpty else { return "" }
    var text =
      markdown
      ? "\n| defense | worst \(metric) | attack |\n|---|---|---|\n"
      : "\nworst case over attacks (\(metric)):\n"
    for w in worst {
      text +=
        markdown
        ? "| \(w.defense) | \(String(format: "%.4f", w.value)) | \(w.attack) |\n"
        : "  \(w.defense): \(String(format: "%.4f", w.value)) (\(w.attack))\n"
    }
    return text
  }
}
