/// An aligned table for people: one row per evaluated round, then a summary.
public struct TableFormat: ParameterlessFormat {
  public static let descriptor = PluginDescriptor(
    name: "table", summary: "aligned columns for a terminal (the default on a terminal)")

  public init() {}

  private static let headers = [
    "round", "accuracy", "loss", "attack_success", "robust_acc", "malicious", "flagged",
    "precision", "recall", "rejected", "seconds",
  ]
  private static let widths = [5, 8, 8, 14, 10, 9, 7, 9, 7, 8, 8]

  private static func row(_ cells: [String]) -> String {
    zip(cells, widths).map { cell, width in
      String(repeating: " ", count: max(0, width - cell.count)) + cell
    }.joined(separator: "  ") + "\n"
  }

  private static func fixed(_ x: Double?, _ digits: Int) -> String {
    guard let x else { return "-" }
    let scale = (0..<digits).reduce(1.0) { r, _ in r * 10 }
    // Non-finite, or too large for fixed digits in an Int (a diverging loss,
    // a boosted norm): Swift's shortest form, e.g. 2.7e+28.
    guard x.isFinite, abs(x) * scale < 1e15 else { return "\(x)" }
    let scaled = (abs(x) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled) - whole * Int(scale)
    let digitsText = String(fraction)
    let padded = String(repeating: "0", count: max(0, digits - digitsText.count)) + digitsText
    return (x < 0 && scaled > 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + padded : "")
  }

  public func begin() -> String { Self.row(Self.headers) }

  public func line(for record: MetricRecord, index: Int) -> String {
    if record.kind == .alarm, let alarm = record.alarm {
      let suspects =
        alarm.suspected.isEmpty
        ? "no client suspected"
        : "suspected " + alarm.suspected.map(String.init).joined(separator: ", ")
      return
        "  ! alarm in round \(record.round): \(alarm.signal) = \(Self.fixed(alarm.value, 4)), "
        + "score \(Self.fixed(alarm.score, 2)) beyond \(Self.fixed(alarm.threshold, 2)); \(suspects)\n"
    }
    let cells = [
      String(record.round), Self.fixed(record.accuracy, 4), Self.fixed(record.loss, 4),
      Self.fixed(record.attackSuccess, 4), Self.fixed(record.robustAccuracy, 4),
      String(record.malicious), String(record.flagged), Self.fixed(record.detectionPrecision, 3),
      Self.fixed(record.detectionRecall, 3), record.channel.map { String($0.rejected) } ?? "-",
      Self.fixed(record.seconds, 2),
    ]
    var notes: [String] = []
    if let e = record.epsilon, record.kind == .round { notes.append("epsilon \(Self.fixed(e, 3))") }
    if let s = record.safeguards {
      if let gate = s.gate, gate == "rejected" { notes.append("gate rejected the round") }
      if s.quarantined > 0 {
        notes.append("\(s.quarantined) quarantined (\(s.falseQuarantined) honest)")
      }
    }
    guard record.kind == .summary, let totals = record.totals else {
      return Self.row(cells).dropLast()
        + (notes.isEmpty ? "" : "   " + notes.joined(separator: "; "))
        + "\n"
    }
    var text = "\nsummary of \"\(record.scenario)\" after \(totals.rounds) round(s), "
    text +=
      "\(Self.fixed(totals.totalSeconds, 1)) s (\(Self.fixed(totals.meanSecondsPerRound, 2)) s/round)\n"
    text += "  accuracy \(Self.fixed(record.accuracy, 4))   loss \(Self.fixed(record.loss, 4))"
    if let asr = record.attackSuccess { text += "   attack_success \(Self.fixed(asr, 4))" }
    if let ra = record.robustAccuracy { text += "   robust_accuracy \(Self.fixed(ra, 4))" }
    text += "\n  malicious \(totals.maliciousTotal)   flagged \(totals.flaggedTotal)"
    if let kept = totals.downweightedTotal, kept > 0 { text += "   downweighted \(kept)" }
    if let p = record.detectionPrecision { text += "   precision \(Self.fixed(p, 3))" }
    if let r = record.detectionRecall { text += "   recall \(Self.fixed(r, 3))" }
    if let e = record.epsilon { text += "   epsilon \(Self.fixed(e, 3))" }
    text += "\n"
    if let c = totals.channel, c.messages > 0 {
      text +=
        "  channel: \(c.messages) messages; rejected \(c.rejectedSignature) signature, "
        + "\(c.rejectedStale) stale, \(c.rejectedUnknown) unknown, \(c.rejectedDuplicate) duplicate; "
        + "honest dropped \(c.honestDropped)\n"
    }
    if let g = totals.safeguards {
      text +=
        "  safeguards: first alarm \(g.firstAlarmRound.map { "in round \($0)" } ?? "never")"
        + (g.timeToDetect.map { "; attack detected \($0) round(s) after it began" } ?? "")
        + ", \(g.falseAlarms) false alarm(s), \(g.rollbacks) response(s) costing \(g.recoveryRounds) round(s), "
        + "gate rejected \(g.rejectedRounds) round(s)"
        + (record.safeguards.map {
          "; \($0.quarantined) quarantined (\($0.falseQuarantined) honest)"
        } ?? "")
        + "\n"
    }
    if let failed = totals.secureAggregationFailedRounds, let s = record.secureAggregation {
      text +=
        "  secure aggregation: \(failed) round(s) failed; last round \(s.dropped) dropped, "
        + "\(Self.fixed(s.bytesPerClient / 1e6, 3)) MB sent and \(Self.fixed(s.clientSeconds, 3)) s per client, "
        + "unmasking \(Self.fixed(s.serverSeconds, 3)) s\n"
    }
    if let flagged = totals.flaggedSources {
      let rate = { (x: Double?) in x.map { Self.fixed($0, 3) } ?? "-" }
      text +=
        "  sources flagged: " + (flagged.isEmpty ? "none" : flagged.joined(separator: ", "))
        + " (precision \(rate(totals.sourceDetectionPrecision)), recall "
        + "\(rate(totals.sourceDetectionRecall))); rejected deliveries: precision "
        + "\(rate(totals.deliveryDetectionPrecision)), recall "
        + "\(rate(totals.deliveryDetectionRecall))\n"
    }
    if let audit = totals.audit {
      // Every audit_* field the method measured, as JSON values.
      let fields = AuditFindings.fields(audit).filter { $0.value != .null && $0.key != "audit" }
      text += "  audit (\(audit.method)):\n"
      for field in fields {
        var value = field.value.serialized()
        if case .array(let items) = field.value, items.count > 12 {
          value = "[\(items.count) values]"
        } else if case .number(let x) = field.value {
          value = JSONValue.format((x * 10_000).rounded() / 10_000)
        } else if case .array(let items) = field.value {
          value =
            "["
            + items.map {
              if case .number(let x) = $0 { return JSONValue.format((x * 100).rounded() / 100) }
              return $0.serialized()
            }.joined(separator: ", ") + "]"
        }
        text += "    \(field.key): \(value)\n"
      }
    }
    if let passed = totals.expectPassed {
      text +=
        passed
        ? "  expect: all thresholds met\n"
        : "  expect: \(totals.expectMisses.count) threshold(s) missed\n"
      for miss in totals.expectMisses { text += "    - \(miss)\n" }
    }
    return text
  }
}
