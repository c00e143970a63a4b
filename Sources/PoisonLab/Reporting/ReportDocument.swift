import Foundation

/// What `poisonlab report` prints and draws from a ``Report``: tables in
/// four formats, per-round curves (one panel per metric, or small multiples
/// per defense or attack), the attack x defense heatmap, and one offline
/// HTML page with all of them.
extension Report {
  /// The metric's name on a y axis or a colour bar.
  public static func metricLabel(_ metric: String) -> String {
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

  /// Per-round curves: clean accuracy and attack success.
  ///
  /// One panel for clean accuracy and, when any run has an attack success,
  /// one for it; every group in its colour and marker, mean over the runs
  /// with a shaded ±1 std band. The report of a single
  /// run marks its attack start, alarms and gate rejections, as
  /// ``runFigure(_:scenario:failure:)`` does.
  /// - Returns: the SVG document.
  public func curvesFigure() -> String {
    let events = runs.count == 1 ? Self.events(runs[0]) : []
    var panels = [
      SVGChart.Panel(
        title: Self.metricLabel("accuracy"), yLabel: "rate",
        series: series("accuracy", cells: cells, name: name), events: events)
    ]
    let success = series("attack_success", cells: cells, name: name)
    if !success.isEmpty {
      panels.append(
        SVGChart.Panel(
          title: Self.metricLabel("attack_success"), yLabel: "rate", series: success,
          events: events))
    }
    let seeds = cells.map(\.runs).max() ?? 1
    let failedRuns = runs.filter { $0.status == "error" }.count
    let banded = panels.filter { $0.series.count <= SVGChart.maxBandedLines }.count
    let note =
      seeds <= 1
      ? ""
      : banded == panels.count
        ? " (mean of the runs, band: ±1 std)"
        : banded == 0
          ? " (mean of the runs; too many lines for std bands)"
          : " (mean of the runs, band: ±1 std in panels of at most \(SVGChart.maxBandedLines) lines)"
    return SVGChart.figure(
      title: "Curves per \(roundName)" + note,
      xLabel: roundName, panels: panels, columns: 2,
      legendTitle: by.isEmpty ? nil : by.joined(separator: " / "),
      subtitle: failedRuns > 0 ? Self.failureNote(runs.filter { $0.status == "error" }) : nil)
  }

  /// Says which runs failed and why (the first message), for a figure's subtitle.
  static func failureNote(_ failed: [Run]) -> String {
    let first = failed.first?.message.map { ": \($0)" } ?? ""
    let text =
      failed.count == 1
      ? "1 run failed and is not drawn\(first)"
      : "\(failed.count) runs failed and are not drawn (first\(first))"
    return text
  }

  /// The events of one run read back from its rows: the first round with
  /// an attacker's message (after the first round), rounds with an alarm,
  /// rounds the validation gate rejected.
  static func events(_ run: Run) -> [SVGChart.Event] {
    func number(_ fields: [JSONMember], _ key: String) -> Double? {
      if case .number(let x)? = fields.first(where: { $0.key == key })?.value { return x }
      return nil
    }
    return events(
      run.rounds.map { row in
        let alarms: Int = {
          if case .array(let a)? = row.fields.first(where: { $0.key == "alarms" })?.value {
            return a.count
          }
          return 0
        }()
        let gate: String? = {
          if case .string(let g)? = row.fields.first(where: { $0.key == "gate" })?.value {
            return g
          }
          return nil
        }()
        return (row.round, number(row.fields, "malicious") ?? 0, gate, alarms)
      })
  }

  /// Events from `(round, malicious messages, gate decision, alarms)` per round.
  static func events(_ rows: [(round: Int, malicious: Double, gate: String?, alarms: Int)])
    -> [SVGChart.Event]
  {
    var events: [SVGChart.Event] = []
    if let first = rows.first, let start = rows.first(where: { $0.malicious > 0 }),
      start.round > first.round
    {
      events.append(SVGChart.Event(x: Double(start.round), kind: .attackStart))
    }
    for row in rows {
      if row.alarms > 0 { events.append(SVGChart.Event(x: Double(row.round), kind: .alarm)) }
      if row.gate == "rejected" {
        events.append(SVGChart.Event(x: Double(row.round), kind: .rejected))
      }
    }
    return events
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
      let failed = members.allSatisfy { $0.runs == 0 }
      return SVGChart.Panel(
        title: failed ? "\(value) (every run failed)" : value, yLabel: "rate",
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
    let banded =
      cells.contains { $0.runs > 1 }
      && styled.allSatisfy { $0.series.count <= SVGChart.maxBandedLines }
    let others = by.enumerated().filter { $0.offset != a }.map(\.element)
    return SVGChart.figure(
      title: (dashed
        ? "Clean accuracy (solid) and attack success (dashed)" : "Clean accuracy")
        + " per \(roundName), by \(axis)" + (banded ? " (band: ±1 std)" : ""),
      xLabel: roundName, panels: styled, columns: min(3, styled.count),
      legendTitle: others.isEmpty ? nil : others.joined(separator: " / "))
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
        let members = cells.filter { $0.key[a] == attack && $0.key[d] == defense }
        guard !members.isEmpty else { return nil }
        let failed = members.reduce(0) { $0 + $1.failed }
        let matching = members.compactMap { $0.statistics.first { $0.metric == metric }?.value }
        guard !matching.isEmpty else {
          // Runs without the metric (attack success of an attack without a
          // trigger), or runs that all failed.
          return SVGChart.HeatCell(mean: .nan, std: 0, count: 0, failed: failed)
        }
        let pooled = matching.count == 1 ? matching[0] : Report.pooled(matching)
        return SVGChart.HeatCell(
          mean: pooled.mean, std: pooled.std, count: pooled.count, failed: failed)
      }
    }
    let when = round.map { "round \($0)" } ?? "final"
    // The grouping axes other than attack and defense are pooled: say so.
    let pooledAxes = by.indices.filter { $0 != a && $0 != d }.map { by[$0] }
      .filter { axis in
        guard let i = by.firstIndex(of: axis) else { return false }
        return Set(cells.map { $0.key[i] }).count > 1
      }
    let pooling = pooledAxes.isEmpty ? "" : ", pooled over " + pooledAxes.joined(separator: ", ")
    let observed = values.flatMap { $0.compactMap { $0 } }.filter { $0.count > 0 }.map(\.mean)
    let rate = Self.rates.contains(metric) && observed.allSatisfy { (0...1).contains($0) }
    return SVGChart.heatmap(
      title:
        "\(Self.metricLabel(metric).capitalizedFirst) (\(when); mean ± std over runs\(pooling))",
      rowLabel: by[a], columnLabel: by[d], rows: attacks, columns: defenses, cells: values,
      metric: Self.metricLabel(metric), higherIsBetter: Self.higherIsBetter(metric),
      range: rate ? 0...1 : nil)
  }

  /// Metrics that are shares in [0, 1]: their heatmaps colour the whole
  /// range, so that a colour means the same value in every figure.
  static let rates: Set<String> = [
    "accuracy", "attack_success", "robust_accuracy", "detection_precision", "detection_recall",
    "validation_accuracy", "audit_false_rejection", "audit_false_acceptance",
    "audit_accuracy_after", "audit_attack_success_after", "audit_accuracy_before",
    "audit_attack_success_before", "source_detection_precision", "source_detection_recall",
    "delivery_detection_precision", "delivery_detection_recall",
  ]

  /// The table's header.
  var headers: [String] { by + ["runs", "failed", "skipped"] + metrics }

  /// The CSV's header: the axes, the run counts, whether the combination
  /// has no run (empty when there were too many combinations to list), then
  /// each metric's mean, sample std and count in columns of their own, for
  /// a program to read; the notes go to standard error (`report`).
  var csvHeaders: [String] {
    by + ["runs", "failed", "skipped", "missing"]
      + metrics.flatMap { ["\($0)_mean", "\($0)_std", "\($0)_n"] }
  }

  /// The CSV's rows: full-precision numbers (Swift's shortest text that
  /// reads back to the same double), an empty field where there is no
  /// value (no run recorded the metric; the std of a single run).
  var csvRows: [[String]] {
    cells.map { cell in
      // Whether the combination lacks runs is unknown when the combinations were not listed.
      cell.key + [
        "\(cell.runs)", "\(cell.failed)", "\(cell.skipped)", missingUnlisted ? "" : "false",
      ]
        + cell.statistics.flatMap { entry -> [String] in
          guard let value = entry.value else { return ["", "", "0"] }
          return ["\(value.mean)", value.count > 1 ? "\(value.std)" : "", "\(value.count)"]
        }
    } + missing.map { $0 + ["0", "0", "0", "true"] + metrics.flatMap { _ in ["", "", "0"] } }
  }

  /// The table's rows: cells, then missing combinations.
  var rows: [[String]] {
    cells.map { cell in
      cell.key + ["\(cell.runs)", "\(cell.failed)", "\(cell.skipped)"]
        + cell.statistics.map { entry in
          // A metric some runs do not record says over how many it is taken.
          guard let value = entry.value, value.count < cell.runs else {
            return Self.format(entry.value)
          }
          return Self.format(value) + " (n=\(value.count))"
        }
    } + missing.map { $0 + ["0", "missing", "-"] + metrics.map { _ in "-" } }
  }

  /// The formats ``render(_:metric:)`` writes (`report --format`); `table`
  /// is what any other name gets.
  public static let formats = ["table", "markdown", "csv", "json"]

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
          JSONMember("values", .object(zip(by, cell.values).map { JSONMember($0, $1) })),
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
                      JSONMember("mean", .number($0.mean)),
                      JSONMember("std", $0.count > 1 ? .number($0.std) : .null),
                      JSONMember("count", .number(Double($0.count))),
                    ])
                  } ?? .null)
              })),
        ])
      }
      let worst: [JSONValue] = worstCase(metric).map { w in
        .object([
          JSONMember("defense", .string(w.defense)),
          JSONMember(metric, w.value.map { .number($0) } ?? .null),
          JSONMember("attack", w.attack.map { .string($0) } ?? .null),
          JSONMember(
            "failed",
            .array(
              w.failed.map {
                .object([
                  JSONMember("attack", .string($0.attack)),
                  JSONMember("runs_failed", .number(Double($0.failed))),
                  JSONMember("runs", .number(Double($0.runs))),
                ])
              })),
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
        JSONMember(
          "missing_seeds",
          .array(
            missingSeeds.map { gap in
              .object([
                JSONMember("axes", .object(zip(by, gap.key).map { JSONMember($0, .string($1)) })),
                JSONMember("seeds", .array(gap.seeds.map { .string($0) })),
              ])
            })),
        JSONMember("repeated_runs", .array(repeatedRuns.map { .string($0) })),
      ]).serialized(indent: 2) + "\n"
    case "csv":
      return ([csvHeaders] + csvRows).map {
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

  /// Says that combinations without a run were not listed (too many), which
  /// cells lack seeds their sweep's other runs have, and which runs appear
  /// twice.
  public var unlistedNote: String {
    var text =
      missingUnlisted
      ? "\n(combinations of the axis values without a run are not listed: more than \(Report.maxListedCombinations))\n"
      : ""
    if !missingSeeds.isEmpty {
      text += "\nseeds without a run (other runs of the sweep have them):\n"
      for gap in missingSeeds {
        let cell = zip(by, gap.key).map { "\($0)=\($1)" }.joined(separator: ", ")
        text += "  \(cell.isEmpty ? "all runs" : cell): seed \(gap.seeds.joined(separator: ", "))\n"
      }
    }
    if !repeatedRuns.isEmpty {
      let shown = repeatedRuns.prefix(5).joined(separator: ", ")
      text +=
        "\n\(repeatedRuns.count == 1 ? "1 run appears" : "\(repeatedRuns.count) runs appear") more than once in the files (one run_id written twice, as overlapping shards do; each counted once): \(shown)\(repeatedRuns.count > 5 ? ", ..." : "")\n"
    }
    return text
  }

  func worstText(_ metric: String, markdown: Bool) -> String {
    let worst = worstCase(metric)
    guard !worst.isEmpty else { return "" }
    var text =
      markdown
      ? "\n| defense | worst \(metric) | attack |\n|---|---|---|\n"
      : "\nworst case over attacks (\(metric)):\n"
    for w in worst {
      let value = w.value.map(Report.number) ?? "failed"
      let attack =
        ([w.attack].compactMap { $0 }
        + w.failed.map { "\($0.attack): \($0.failed) of \($0.runs) runs failed" })
        .joined(separator: "; ")
      text +=
        markdown
        ? "| \(w.defense.replacingOccurrences(of: "|", with: "\\|")) | \(value) | \(attack.replacingOccurrences(of: "|", with: "\\|")) |\n"
        : "  \(w.defense): \(w.text)\n"
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
      "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right;white-space:nowrap}th{background:#f4f4f4}td.k,th.k{text-align:left}svg{max-width:100%;height:auto;display:block;margin:1em 0}.wide{overflow-x:auto}</style></head><body>\n"
    page +=
      "<h1>poisonlab report</h1>\n<p>\(escape(files.joined(separator: ", "))): \(runs.count) run\(runs.count == 1 ? "" : "s"), "
    page +=
      (by.isEmpty ? "not grouped" : "grouped by \(escape(by.joined(separator: ", ")))") + ".</p>\n"
    let when = round.map { "round \($0)" } ?? "final-round"
    // Wide tables scroll inside their own box instead of spilling off the page.
    page +=
      "<h2>\(when.capitalizedFirst) metrics (mean ± std over runs)</h2>\n<div class=\"wide\"><table><tr>"
    page +=
      headers.enumerated().map { i, h in
        i < by.count ? "<th class=\"k\">\(escape(h))</th>" : "<th>\(escape(h))</th>"
      }.joined() + "</tr>\n"
    for row in rows {
      page +=
        "<tr>"
        + row.enumerated().map { i, v in
          i < by.count ? "<td class=\"k\">\(escape(v))</td>" : "<td>\(escape(v))</td>"
        }.joined() + "</tr>\n"
    }
    page += "</table></div>\n"
    // What the table cannot show: unlisted combinations, missing seeds, repeated runs.
    let notes = unlistedNote.split(separator: "\n", omittingEmptySubsequences: false)
      .split(whereSeparator: \.isEmpty)
    for note in notes {
      page +=
        "<p class=\"note\">" + note.map { escape(String($0)) }.joined(separator: "<br>") + "</p>\n"
    }
    let worst = worstCase(metric)
    if !worst.isEmpty {
      page +=
        "<h2>Worst case over attacks (\(escape(metric)))</h2>\n<div class=\"wide\"><table><tr><th class=\"k\">defense</th><th>\(escape(metric))</th><th class=\"k\">attack</th></tr>\n"
      for w in worst {
        let attack =
          ([w.attack].compactMap { $0 }
          + w.failed.map { "\($0.attack): \($0.failed) of \($0.runs) runs failed" })
          .joined(separator: "; ")
        page +=
          "<tr><td class=\"k\">\(escape(w.defense))</td><td>\(w.value.map(Report.number) ?? "failed")</td><td class=\"k\">\(escape(attack))</td></tr>\n"
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

  /// One run's curves (`run --plot`): accuracy, attack success (dashed),
  /// robust accuracy and the validation gate's accuracy per round, with the
  /// attack's start, the alarms and the rounds the gate rejected marked.
  /// - Parameters:
  ///   - rounds: the run's round records so far.
  ///   - scenario: the scenario.
  ///   - failure: why the run stopped early, or nil.
  /// - Returns: the SVG document.
  public static func runFigure(_ rounds: [MetricRecord], scenario: Scenario, failure: String? = nil)
    -> String
  {
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
      series(
        "validation accuracy of the candidate (gate)", { $0.safeguards?.validationAccuracy },
        dashed: false,
        style: 4),
    ].compactMap { $0 }
    let events = Self.events(
      rounds.map {
        (
          $0.round, Double($0.malicious), $0.safeguards?.gate,
          $0.safeguards?.alarms.count ?? 0
        )
      })
    let name = roundName(of: scenario)
    let stopped = failure.map { reason in
      let last = rounds.last.map { " after \(name) \($0.round)" } ?? ""
      return "stopped\(last): \(reason)"
    }
    return SVGChart.lines(
      title: "\(scenario.name): per-\(name) metrics", xLabel: name,
      yLabel: lines.count > 1 ? "rate" : "clean accuracy", series: lines, events: events,
      subtitle: stopped)
  }
}
