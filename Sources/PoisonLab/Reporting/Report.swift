import Foundation

/// Final-round results of many runs (sweep or `run` JSONL outputs), grouped
/// by scenario axes, with per-round curves, for `poisonlab report`.
public struct Report: Sendable {
  /// One run read back from JSONL.
  public struct Run: Sendable {
    /// `run_id` (sweeps), else the file name and scenario.
    public var id: String
    /// The sweep axes of the run (empty for `run` outputs).
    public var axes: [JSONMember]
    /// `ok`, `error` or `skipped`.
    public var status: String
    /// Why it failed or was skipped.
    public var message: String?
    /// The summary record's fields (ok runs).
    public var summary: [JSONMember]
    /// `(round, metric name) -> value` per round, in round order.
    public var rounds: [(round: Int, fields: [JSONMember])]
  }

  /// Mean, sample standard deviation and count of a metric in a cell.
  public struct Statistic: Sendable, Equatable {
    /// The mean.
    public var mean: Double
    /// The sample standard deviation (0 for one value).
    public var std: Double
    /// Values averaged.
    public var count: Int
  }

  /// A group of runs sharing the values of the grouping axes.
  public struct Cell: Sendable {
    /// The grouping axes' values (`-` where a run lacks the axis).
    public var key: [String]
    /// Runs that completed.
    public var runs: Int
    /// Runs that failed.
    public var failed: Int
    /// Runs skipped as invalid.
    public var skipped: Int
    /// Statistics per metric name, in ``Report/metrics`` order.
    public var statistics: [(metric: String, value: Statistic?)]
    /// Mean of each metric per round (over the cell's runs), for curves.
    public var curves: [(metric: String, points: [(Double, Double)])]
  }

  /// The metrics summarised.
  public static let metrics = [
    "accuracy", "attack_success", "robust_accuracy", "detection_precision", "detection_recall",
  ]

  /// The grouping axes.
  public var by: [String]
  /// The runs read, in file order.
  public var runs: [Run]
  /// The groups, in order of first appearance.
  public var cells: [Cell]
  /// Combinations of observed axis values that have no run.
  public var missing: [[String]]

  /// Reads JSONL files.
  /// - Parameters:
  ///   - files: sweep or run outputs (JSON Lines).
  ///   - by: the axes to group by (nil: every axis but `seed`).
  /// - Returns: the report.
  /// - Throws: `DataError` for unreadable files or lines that are not JSON.
  public static func read(_ files: [String], by: [String]?) throws(DataError) -> Report {
    var runs: [Run] = []
    var index: [String: Int] = [:]
    for file in files {
      let bytes = try FileBytes.read(file, regularOnly: false)
      for (n, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").enumerated() {
        guard case .object(let members) = (try? JSONParser.parse(String(line))) ?? .null else {
          throw .csv(file: file, line: n + 1, column: nil, reason: "not a JSON object")
        }
        let record = JSONValue.object(members)
        let scenario: String = { if case .string(let s)? = record["scenario"] { s } else { "" } }()
        let id: String = {
          if case .string(let s)? = record["run_id"] { s } else { "\(file):\(scenario)" }
        }()
        let axes: [JSONMember] = { if case .object(let a)? = record["axes"] { a } else { [] } }()
        if index[id] == nil {
          index[id] = runs.count
          runs.append(Run(id: id, axes: axes, status: "ok", message: nil, summary: [], rounds: []))
        }
        let r = index[id] ?? 0
        let fields = members.filter { !["type", "run_id", "run_index", "axes"].contains($0.key) }
        switch record["type"] {
        case .string("round")?:
          // Rounds are whole numbers within training.rounds' range.
          guard case .number(let value)? = record["round"], let round = Int(exactly: value),
            (0...1_000_000).contains(round)
          else {
            throw .csv(
              file: file, line: n + 1, column: nil,
              reason:
                "a round row's \"round\" must be a whole number from 0 to 1000000, got \(record["round"]?.serialized() ?? "nothing")"
            )
          }
          runs[r].rounds.append((round, fields))
        case .string("summary")?:
          runs[r].summary = fields
        case .string(let status)? where status == "error" || status == "skipped":
          runs[r].status = status
          if case .string(let m)? = record["message"] { runs[r].message = m }
        default:
          break
        }
      }
    }
    for i in runs.indices where runs[i].status == "ok" && runs[i].summary.isEmpty {
      runs[i].status = "error"
      runs[i].message = "no summary record (the run did not finish)"
    }
    var axisNames: [String] = []
    for run in runs {
      for member in run.axes where !axisNames.contains(member.key) { axisNames.append(member.key) }
    }
    let grouping = by ?? axisNames.filter { $0 != "seed" }
    // Labels: strings as they are; an object by its "name" when no other value of its axis shares it.
    var labels: [String: [String: String]] = [:]
    for axis in grouping {
      let values = runs.compactMap { run in run.axes.first { $0.key == axis }?.value }
      var names: [String: Int] = [:]
      var distinct: [String] = []
      for value in values where !distinct.contains(value.serialized()) {
        distinct.append(value.serialized())
        if case .string(let n)? = value["name"] { names[n, default: 0] += 1 }
      }
      var map: [String: String] = [:]
      for value in values {
        switch value {
        case .string(let s): map[value.serialized()] = s
        case .object:
          if case .string(let n)? = value["name"], names[n] == 1 {
            map[value.serialized()] = n
          } else {
            map[value.serialized()] = value.serialized()
          }
        default: map[value.serialized()] = value.serialized()
        }
      }
      labels[axis] = map
    }
    func key(_ run: Run) -> [String] {
      grouping.map { name in
        run.axes.first { $0.key == name }.map {
          labels[name]?[$0.value.serialized()] ?? $0.value.serialized()
        } ?? "-"
      }
    }
    var order: [[String]] = []
    var members: [[Int]] = []
    for (i, run) in runs.enumerated() {
      let k = key(run)
      if let c = order.firstIndex(of: k) {
        members[c].append(i)
      } else {
        order.append(k)
        members.append([i])
      }
    }
    let cells = zip(order, members).map { k, indices in cell(key: k, runs: indices.map { runs[$0] })
    }
    var missing: [[String]] = []
    if !grouping.isEmpty {
      let values = grouping.indices.map { g in
        order.reduce(into: [String]()) { if !$0.contains($1[g]) { $0.append($1[g]) } }
      }
      var counters = [Int](repeating: 0, count: grouping.count)
      let total = values.reduce(1) { $0 * $1.count }
      for _ in 0..<total {
        let combination = grouping.indices.map { values[$0][counters[$0]] }
        if !order.contains(combination) { missing.append(combination) }
        var g = grouping.count - 1
        while g >= 0 {
          counters[g] += 1
          if counters[g] < values[g].count { break }
          counters[g] = 0
          g -= 1
        }
      }
    }
    return Report(by: grouping, runs: runs, cells: cells, missing: missing)
  }

  private static func cell(key: [String], runs: [Run]) -> Cell {
    let ok = runs.filter { $0.status == "ok" }
    func value(_ fields: [JSONMember], _ metric: String) -> Double? {
      if case .number(let x)? = fields.first(where: { $0.key == metric })?.value { return x }
      return nil
    }
    let statistics: [(String, Statistic?)] = metrics.map { metric in
      let values = ok.compactMap { value($0.summary, metric) }
      guard !values.isEmpty else { return (metric, nil) }
      let mean = values.reduce(0, +) / Double(values.count)
      let variance =
        values.count > 1
        ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
      return (metric, Statistic(mean: mean, std: variance.squareRoot(), count: values.count))
    }
    let curves: [(String, [(Double, Double)])] = ["accuracy", "attack_success"].compactMap {
      metric in
      var sums: [Int: (Double, Int)] = [:]
      for run in ok {
        for (round, fields) in run.rounds {
          if let v = value(fields, metric) {
            let s = sums[round] ?? (0, 0)
            sums[round] = (s.0 + v, s.1 + 1)
          }
        }
      }
      guard !sums.isEmpty else { return nil }
      return (
        metric,
        sums.keys.sorted().map { (Double($0), (sums[$0]?.0 ?? 0) / Double(sums[$0]?.1 ?? 1)) }
      )
    }
    return Cell(
      key: key, runs: ok.count, failed: runs.filter { $0.status == "error" }.count,
      skipped: runs.filter { $0.status == "skipped" }.count, statistics: statistics, curves: curves)
  }

  /// Whether a higher value of `metric` is good for the defender.
  public static func higherIsBetter(_ metric: String) -> Bool { metric != "attack_success" }

  /// For each value of the defense axis, the worst cell mean of `metric` over the attack axis.
  /// - Parameter metric: the metric judged.
  /// - Returns: `(defense, worst value, the attack giving it)`, or empty without both axes.
  public func worstCase(_ metric: String) -> [(defense: String, value: Double, attack: String)] {
    guard let d = by.firstIndex(where: { $0.contains("defense") }),
      let a = by.firstIndex(where: { $0.contains("attack") })
    else { return [] }
    var out: [(String, Double, String)] = []
    for defense in cells.map({ $0.key[d] }).reduce(
      into: [String](), { if !$0.contains($1) { $0.append($1) } })
    {
      let candidates = cells.filter { $0.key[d] == defense }.compactMap {
        cell -> (Double, String)? in
        guard let s = cell.statistics.first(where: { $0.metric == metric })?.value else {
          return nil
        }
        return (s.mean, cell.key[a])
      }
      let worst =
        Self.higherIsBetter(metric)
        ? candidates.min { $0.0 < $1.0 } : candidates.max { $0.0 < $1.0 }
      if let worst { out.append((defense, worst.0, worst.1)) }
    }
    return out
  }

  /// The text of `statistic` as `mean +- std` (4 decimals), or `-`.
  public static func format(_ statistic: Statistic?) -> String {
    guard let s = statistic else { return "-" }
    return s.count > 1
      ? String(format: "%.4f ± %.4f", s.mean, s.std) : String(format: "%.4f", s.mean)
  }
}
