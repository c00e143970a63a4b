import Foundation

/// What `poisonlab report` prints and draws from a ``Report``: tables in
/// four formats, per-round curves (one panel per metric, or small multiples
/// per defense or attack), the attack x defense heatmap, and one offline
/// HTML page with all of them.
extension Report {
  /// The metric's name on a y axis or a colour bar.
  static func metricLabel(_ metric: String) -> String {
    switch metric {
    case "accuracy": return "clean accuracy"
    case "attack_success": return "attack success rate"
    default: return metric.replacingOccurrences(of: "_", with: " ")
    }
  }

  /// A cell's legend name (its axis values).
  func name(_ cell: Cell) -> String {
    cell.key.isEmpty ? "all runs" : cell.key.joined(separator: " / ")
  }

  /// Series of `metric` for `cells`, with the ±1 std band when a cell has several runs.
  func series(_ metric: String, cells: [Cell], dashed: Bool = false, name: (Cell) -> String)
    -> [SVGChart.Series]
  {
    cells.compactMap { cell in
      guard cell.runs > 0, let points = cell.curves.first(where: { $0.metric == metric })?.points
      else { return nil }
      let band = cell.runs > 1 ? points.map { ($0.x, $0.mean - $0.std, $0.mean + $0.std) } : []
      return SVGChart.Series(
        name: name(cell), points: points.map { ($0.x, $0.mean) }, dashed: dashed, band: band)
    }
  }

  /// Per-round curves: one panel for clean accuracy and, when any run has
  /// an attack success, one for it; every group in its colour and marker,
  /// mean over the runs with a shaded ±1 std band.
  /// - Returns: the SVG document.
  public func curvesFigure() -> String {
    var panels = [
      SVGChart.Panel(
        title: Self.metricLabel("accuracy"), yLabel: Self.metricLabel("accuracy"),
        series: series("accuracy", cells: cells, name: name))
    ]
    let success = series("attack_success", cells: cells, name: name)
    if !success.isEmpty {
      panels.append(
        SVGChart.Panel(
          title: Self.metricLabel("attack_success"), yLabel: Self.metricLabel("attack_success"),
          series: success))
    }
    let seeds = cells.map(\.runs).max() ?? 1
    return SVGChart.figure(
      title: "Per-\(roundName) curves" + (seeds > 1 ? " (mean of the runs, band: ±1 std)" : ""),
      xLabel: roundName, panels: panels, columns: 2)
  }

  /// Small multiples: one panel per value of `axis` (a grouping axis),
  /// each with clean accuracy (solid) and attack success (dashed) of every
  /// value of the other axes, on shared axes.
  /// - Parameter axis: the grouping axis that makes the panels.
  /// - Returns: the SVG document, or nil when `axis` is not a grouping axis.
  public func panelsFigure(by axis: String) -> String? {
    guard let a = by.firstIndex(of: axis) else { return nil }
    var values: [String] = []
    for cell in cells where !values.contains(cell.key[a]) { values.append(cell.key[a]) }
    func rest(_ cell: Cell) -> String {
      let others = cell.key.enumerated().filter { $0.offset != a }.map(\.element)
      return others.isEmpty ? "all runs" : others.joined(separator: " / ")
    }
    let panels = values.map { value in
      let members = cells.filter { $0.key[a] == value }
      return SVGChart.Panel(
        title: value, yLabel: "rate",
        series: series("accuracy", cells: members, name: { "\(rest($0)): accuracy" })
          + series(
            "attack_success", cells: members, dashed: true, name: { "\(rest($0)): attack success" }
          ))
    }
    // The same group keeps its colour in every panel: accuracy and attack
    // success share it (the dash tells them apart).
    var style: [String: Int] = [:]
    var styled = panels
    for p in styled.indices {
      for i in styled[p].series.indices {
        let group = styled[p].series[i].name.components(separatedBy: ": ").dropLast().joined(
          separator: ": ")
        if style[group] == nil { style[group] = style.count }
        styled[p].series[i].style = style[group]
      }
    }
    let dashed = styled.contains { $0.series.contains(where: \.dashed) }
    return SVGChart.figure(
      title: (dashed
        ? "Clean accuracy (solid) and attack success (dashed)" : "Clean accuracy")
        + " per \(roundName), by \(axis)",
      xLabel: roundName, panels: styled, columns: min(3, styled.count))
  }

  /// The attack x defense heatmap of `metric`, when both axes are grouped:
  /// mean ± std and n per cell.
  /// - Parameter metric: the metric.
  /// - Returns: the SVG document, or nil without an attack and a defense axis.
  public func heatmapFigure(metric: String) -> String? {
    guard let a = by.firstIndex(where: { $0.contains("attack") }),
      let d = by.firstIndex(where: { $0.contains("defense") })
    else { return nil }
    let unique = { (i: Int) in
      self.cells.map { $0.key[i] }.reduce(into: [String]()) {
        if !$0.contains($1) { $0.append($1) }
      }
    }
    let attacks = unique(a)
    let defenses = unique(d)
    let values: [[SVGChart.HeatCell?]] = attacks.map { attack in
      defenses.map { defense in
        // Other grouping axes are pooled: the cell holds every matching run.
        let matching = cells.filter { $0.key[a] == attack && $0.key[d] == defense }
          .compactMap { $0.statistics.first { $0.metric == metric }?.value }
        guard !matching.isEmpty else { return nil }
        if matching.count == 1 {
          return SVGChart.HeatCell(
            mean: matching[0].mean, std: matching[0].std, count: matching[0].count)
        }
        let pooled = Report.pooled(matching)
        return SVGChart.HeatCell(mean: pooled.mean, std: pooled.std, count: pooled.count)
      }
    }
    let when = round.map { "round \($0)" } ?? "final"
    return SVGChart.heatmap(
      title: "\(Self.metricLabel(metric).capitalizedFirst) (\(when); mean ± std over runs)",
      rowLabel: by[a], columnLabel: by[d], rows: attacks, columns: defenses, cells: values,
      metric: metric, higherIsBetter: Self.higherIsBetter(metric))
  }

  /// The table's header.
  var headers: [String] { by + ["runs", "failed"] + metrics }

  /// The table's rows: cells, then missing combinations.
  var rows: [[String]] {
    cells.map { cell in
      cell.key + ["\(cell.runs)", "\(cell.failed + cell.skipped)"]
        + cell.statistics.map { Self.format($0.value) }
    } + missing.map { $0 + ["0", "missing"] + metrics.map { _ in "-" } }
  }

  /// The table in `format` (`table`, `markdown`, `csv`, `json`) with the worst case per defense.
  /// - Parameters:
  ///   - format: the format.
  ///   - metric: the metric of the worst case.
  /// - Returns: the text.
  public func render(_ format: String, metric: String) -> String {
    let head = headers
    let rows = self.rows
    switch format {
    case "json":
      let cellsJSON: [JSONValue] = cells.map { cell in
        .object([
          JSONMember("axes", .object(zip(by, cell.key).map { JSONMember($0, .string($1)) })),
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
      let worst: [JSONValue] = worstCase(metric).map {
        .object([
          JSONMember("defense", .string($0.defense)), JSONMember(metric, .number($0.value)),
          JSONMember("attack", .string($0.attack)),
        ])
      }
      return JSONValue.object([
        JSONMember("by", .array(by.map { .string($0) })),
        JSONMember("round", round.map { .number(Double($0)) } ?? .string("final")),
        JSONMember("cells", .array(cellsJSON)),
        JSONMember("worst_case", .array(worst)),
        JSONMember(
          "missing",
          missingUnlisted
            ? .null
            : .array(missing.map { .object(zip(by, $0).map { JSONMember($0, .string($1)) }) })),
      ]).serialized(indent: 2) + "\n"
    case "csv":
      return ([head] + rows).map {
        $0.map {
          $0.contains(where: { ",\"\n\r".contains($0) })
            ? "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" : $0
        }
        .joined(separator: ",")
      }.joined(separator: "\n") + "\n"
    case "markdown":
      var text =
        "| " + head.joined(separator: " | ") + " |\n|"
        + head.map { _ in "---" }.joined(separator: "|") + "|\n"
      // A cell is one line, and a bar inside it is not a column break.
      func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").split(whereSeparator: \.isNewline)
          .joined(separator: " ")
      }
      text +=
        rows.map { "| " + $0.map(cell).joined(separator: " | ") + " |" }.joined(separator: "\n")
        + "\n"
      return text + unlistedNote + worstText(metric, markdown: true)
    default:
      let widths = head.indices.map { i in
        ([head[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0
      }
      func line(_ r: [String]) -> String {
        r.enumerated().map { i, v in
          // Widths in characters (padding(toLength:) counts UTF-16 units).
          i < by.count
            ? v + String(repeating: " ", count: max(0, widths[i] - v.count))
            : String(repeating: " ", count: max(0, widths[i] - v.count)) + v
        }
        .joined(separator: "  ")
      }
      return ([line(head)] + rows.map(line)).joined(separator: "\n") + "\n"
        + unlistedNote + worstText(metric, markdown: false)
    }
  }

  /// Says that combinations without a run were not listed (too many).
  var unlistedNote: String {
    missingUnlisted
      ? "\n(combinations of the axis values without a run are not listed: more than \(Report.maxListedCombinations))\n"
      : ""
  }

  func worstText(_ metric: String, markdown: Bool) -> String {
    let worst = worstCase(metric)
    guard !worst.isEmpty else { return "" }
    var text =
      markdown
      ? "\n| defense | worst \(metric) | attack |\n|---|---|---|\n"
      : "\nworst case over attacks (\(metric)):\n"
    for w in worst {
      text +=
        markdown
        ? "| \(w.defense) | \(Report.number(w.value)) | \(w.attack) |\n"
        : "  \(w.defense): \(Report.number(w.value)) (\(w.attack))\n"
    }
    return text
  }

  /// One offline HTML page: the table, the worst case, the heatmap, the
  /// curves and the small multiples (no scripts, no external resources).
  /// - Parameters:
  ///   - files: the result files read (named in the page).
  ///   - metric: the metric of the heatmap and the worst case.
  ///   - figures: the SVG documents to inline, with their headings.
  /// - Returns: the page.
  public func html(files: [String], metric: String, figures: [(heading: String, svg: String)])
    -> String
  {
    func escape(_ s: String) -> String { XMLText.escape(s) }
    var page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>poisonlab report</title>\n"
    page +=
      "<style>body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    page +=
      "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right;white-space:nowrap}th{background:#f4f4f4}td.k{text-align:left}svg{max-width:100%;height:auto;display:block;margin:1em 0}.wide{overflow-x:auto}</style></head><body>\n"
    page +=
      "<h1>poisonlab report</h1>\n<p>\(escape(files.joined(separator: ", "))): \(runs.count) runs, "
    page +=
      "grouped by \(escape(by.isEmpty ? "nothing" : by.joined(separator: ", "))).</p>\n"
    let when = round.map { "round \($0)" } ?? "final-round"
    // Wide tables scroll inside their own box instead of spilling off the page.
    page +=
      "<h2>\(when.capitalizedFirst) metrics (mean ± std over runs)</h2>\n<div class=\"wide\"><table><tr>"
    page += headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
    for row in rows {
      page +=
        "<tr>"
        + row.enumerated().map { i, v in
          i < by.count ? "<td class=\"k\">\(escape(v))</td>" : "<td>\(escape(v))</td>"
        }.joined() + "</tr>\n"
    }
    page += "</table></div>\n"
    let worst = worstCase(metric)
    if !worst.isEmpty {
      page +=
        "<h2>Worst case over attacks (\(escape(metric)))</h2>\n<div class=\"wide\"><table><tr><th>defense</th><th>\(escape(metric))</th><th>attack</th></tr>\n"
      for w in worst {
        page +=
          "<tr><td class=\"k\">\(escape(w.defense))</td><td>\(Report.number(w.value))</td><td class=\"k\">\(escape(w.attack))</td></tr>\n"
      }
      page += "</table></div>\n"
    }
    for figure in figures {
      page += "<h2>\(escape(figure.heading))</h2>\n"
      if let start = figure.svg.range(of: "<svg") {
        page += String(figure.svg[start.lowerBound...]) + "\n"
      }
    }
    return page + "</body></html>\n"
  }
}

extension String {
  /// The string with its first letter upper-cased.
  var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension Report {
  /// What a scenario's rounds are called on an x axis: `round` (federated),
  /// `cycle` (pipelines) or `epoch` (centralized).
  /// - Parameter scenario: the scenario.
  /// - Returns: the name.
  public static func roundName(of scenario: Scenario) -> String {
    scenario.federation != nil ? "round" : scenario.pipeline != nil ? "cycle" : "epoch"
  }

  /// One run's curves (`run --plot`): accuracy, attack success (dashed) and
  /// robust accuracy per round.
  /// - Parameters:
  ///   - rounds: the run's round records so far.
  ///   - scenario: the scenario.
  /// - Returns: the SVG document.
  public static func runFigure(_ rounds: [MetricRecord], scenario: Scenario) -> String {
    func series(_ name: String, _ value: (MetricRecord) -> Double?, dashed: Bool, style: Int)
      -> SVGChart.Series?
    {
      let points = rounds.compactMap { r in value(r).map { (Double(r.round), $0) } }
      return points.isEmpty
        ? nil : SVGChart.Series(name: name, points: points, dashed: dashed, style: style)
    }
    let lines = [
      series("accuracy", { $0.accuracy }, dashed: false, style: 0),
      series("attack success", { $0.attackSuccess }, dashed: true, style: 1),
      series("robust accuracy", { $0.robustAccuracy }, dashed: false, style: 2),
    ].compactMap { $0 }
    let name = roundName(of: scenario)
    return SVGChart.lines(
      title: "\(scenario.name): per-\(name) metrics", xLabel: name,
      yLabel: lines.count > 1 ? "rate" : "clean accuracy", series: lines)
  }
}
