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
    /// The sweep's configuration (`sweep_id`; nil for `run` outputs and
    /// sweeps written before it was recorded).
    public var sweep: String? = nil
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
    /// The grouping axes' values as the runs record them (null where a run
    /// lacks the axis): numbers stay numbers, plug-in blocks objects.
    public var values: [JSONValue]
    /// Runs that completed.
    public var runs: Int
    /// Runs that failed.
    public var failed: Int
    /// Runs skipped as invalid.
    public var skipped: Int
    /// Statistics per metric name, in ``Report/metrics`` order.
    public var statistics: [(metric: String, value: Statistic?)]
    /// Mean and sample standard deviation of each metric per round (over
    /// the cell's runs), for curves: `(round, mean, std)`.
    public var curves: [(metric: String, points: [(x: Double, mean: Double, std: Double)])]
  }

  /// The metrics summarised by default.
  public static let metrics = [
    "accuracy", "attack_success", "robust_accuracy", "detection_precision", "detection_recall",
  ]

  /// The metrics `--metrics` may select: every numeric field of a round or
  /// summary record.
  public static var selectableMetrics: [String] {
    var names = MetricRecord.metricNames
    for extra in [
      "validation_accuracy", "seconds", "malicious_total", "flagged_total", "downweighted_total",
      "rounds",
      "total_seconds", "mean_seconds_per_round", "messages_total", "rejected_signature_total",
      "rejected_stale_total", "rejected_unknown_total", "rejected_duplicate_total",
      "honest_dropped_total", "secagg_dropped", "secagg_client_seconds", "secagg_server_seconds",
      "secagg_bytes_per_client", "audit_threshold", "audit_accuracy_before",
      "audit_attack_success_before",
    ]
    where !names.contains(extra) {
      names.append(extra)
    }
    return names
  }

  /// The grouping axes.
  public var by: [String]
  /// The metrics of the table, in column order.
  public var metrics: [String] = Report.metrics
  /// The round the table reads (nil: the final round, from the summary).
  public var round: Int?
  /// The distinct configurations among the runs (sweeps, and `run` outputs
  /// of one scenario name with different `config_id`s).
  ///
  /// Each is the scenario name and the axis names, for example
  /// `w1 (defense.name, seed)`.
  public var configurations: [String] = []
  /// What the runs' rounds are: `round` (federated), `epoch` (centralized)
  /// or `cycle` (pipelines).
  public var roundName = "round"
  /// The runs read, in file order.
  public var runs: [Run]
  /// The groups, in order of first appearance.
  public var cells: [Cell]
  /// Combinations of observed axis values that have no run.
  public var missing: [[String]]
  /// Whether combinations without a run exist but are too many to list
  /// (more than ``maxListedCombinations`` combinations of the observed values).
  public var missingUnlisted = false
  /// Files whose last line was cut off (no line feed, not JSON) and left out.
  public var tornFiles: [String] = []
  /// Cells that lack seeds other runs of the same sweep have: the cell's
  /// key and the seeds without a run (a lost shard, a killed task).
  public var missingSeeds: [(key: [String], seeds: [String])] = []
  /// Runs whose summary appears more than once in the files (one run_id
  /// written twice, as overlapping shards do); each is counted once.
  public var repeatedRuns: [String] = []
  /// What `--by` may name besides the sweep axes: the scenario name, the
  /// resolved configuration (`config_id`, which tells runs of one name with
  /// other settings apart) and the sweep (`sweep_id`).
  public static let recordAxes = ["scenario", "config_id", "sweep_id"]
  /// The most combinations of observed axis values checked for missing runs.
  public static let maxListedCombinations = 10_000

  /// The seeds each cell lacks among those its sweep's other runs have.
  /// - Parameters:
  ///   - runs: the runs.
  ///   - order: the cells' keys.
  ///   - members: each cell's run indices.
  /// - Returns: the cells with missing seeds, in cell order.
  static func missingSeeds(runs: [Run], order: [[String]], members: [[Int]])
    -> [(key: [String], seeds: [String])]
  {
    func seed(_ run: Run) -> String? {
      run.axes.first { $0.key == "seed" }.map {
        if case .string(let s) = $0.value { s } else { $0.value.serialized() }
      }
    }
    // Each sweep's seeds, in order of first appearance.
    var seedsOf: [String: [String]] = [:]
    for run in runs {
      guard let s = seed(run) else { continue }
      let sweep = run.sweep ?? ""
      if !(seedsOf[sweep] ?? []).contains(s) { seedsOf[sweep, default: []].append(s) }
    }
    var gaps: [(key: [String], seeds: [String])] = []
    for (key, indices) in zip(order, members) {
      var lacking: [String] = []
      let sweeps = Set(indices.map { runs[$0].sweep ?? "" })
      for sweep in sweeps.sorted() {
        let present = Set(
          indices.filter { (runs[$0].sweep ?? "") == sweep }.compactMap { seed(runs[$0]) })
        guard !present.isEmpty else { continue }
        lacking += (seedsOf[sweep] ?? []).filter { !present.contains($0) }
      }
      if !lacking.isEmpty { gaps.append((key, lacking)) }
    }
    return gaps
  }

  /// Reads JSONL files.
  /// - Parameters:
  ///   - files: sweep or run outputs (JSON Lines).
  ///   - by: the axes to group by (nil: every axis but `seed`).
  ///   - round: the round whose metrics the table shows (nil: the final one).
  ///   - metrics: the table's metrics.
  /// - Returns: the report.
  /// - Throws: `DataError` for unreadable files or lines that are not JSON.
  public static func read(
    _ files: [String], by: [String]?, round: Int? = nil, metrics: [String] = Report.metrics
  ) throws(DataError) -> Report {
    var runs: [Run] = []
    var scenarioOf: [String: String] = [:]
    var federated = false
    var federatedRuns = Set<String>()
    // The summary's `config_id` of each run (outputs written before it was
    // recorded have none).
    var configOf: [String: String] = [:]
    var index: [String: Int] = [:]
    // Outputs of `run` carry no run_id: a run is the rows up to its summary
    // (or error), so that runs appended to one file stay apart.
    var finished: [String: Int] = [:]
    var lastRound: [String: Double] = [:]
    var torn: [String] = []
    var repeated: [String] = []
    for file in files {
      // A pipe or a device is read up to 64 MiB, as scenario files are.
      let regular = (try? SystemFile.kind(of: file, followingLinks: true)) == .some(.regular)
      let bytes = try FileBytes.read(file, limit: regular ? 4 << 30 : 64 << 20, regularOnly: false)
      let lines = TextLines.split(String(decoding: bytes, as: UTF8.self))
      for (n, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
        guard case .object(let members) = (try? JSONParser.parse(String(line))) ?? .null else {
          // A last line without its line feed was cut off (a full disk, a
          // killed writer): the runs before it still count.
          if n == lines.count - 1, bytes.last != UInt8(ascii: "\n") {
            torn.append(file)
            continue
          }
          throw .csv(file: file, line: n + 1, column: nil, reason: "not a JSON object")
        }
        let record = JSONValue.object(members)
        let scenario: String = { if case .string(let s)? = record["scenario"] { s } else { "" } }()
        let plain = "\(file):\(scenario)"
        // A round that does not follow the last one starts another run (the
        // one before was killed before its summary).
        if record["run_id"] == nil, case .string("round")? = record["type"],
          case .number(let value)? = record["round"], let last = lastRound[plain], value <= last
        {
          finished[plain, default: 0] += 1
        }
        let id: String = {
          if case .string(let s)? = record["run_id"] { return s }
          let earlier = finished[plain, default: 0]
          return earlier == 0 ? plain : "\(plain)#\(earlier + 1)"
        }()
        let axes: [JSONMember] = { if case .object(let a)? = record["axes"] { a } else { [] } }()
        if index[id] == nil {
          index[id] = runs.count
          runs.append(Run(id: id, axes: axes, status: "ok", message: nil, summary: [], rounds: []))
        }
        let r = index[id] ?? 0
        if !scenario.isEmpty { scenarioOf[id] = scenario }
        if case .number? = record["messages"] {
          federated = true
          federatedRuns.insert(id)
        }
        if case .string(let sweep)? = record["sweep_id"] { runs[r].sweep = sweep }
        if case .string(let config)? = record["config_id"] { configOf[id] = config }
        let fields = members.filter {
          !["type", "run_id", "run_index", "axes", "sweep_id"].contains($0.key)
        }
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
          if record["run_id"] == nil { lastRound[plain] = value }
        case .string("summary")?:
          if !runs[r].summary.isEmpty, record["run_id"] != nil, !repeated.contains(id) {
            repeated.append(id)
          }
          runs[r].summary = fields
          if record["run_id"] == nil {
            finished[plain, default: 0] += 1
            lastRound[plain] = nil
          }
        case .string(let status)? where status == "error" || status == "skipped":
          runs[r].status = status
          if case .string(let m)? = record["message"] { runs[r].message = m }
          if record["run_id"] == nil {
            finished[plain, default: 0] += 1
            lastRound[plain] = nil
          }
        default:
          break
        }
      }
    }
    for i in runs.indices where runs[i].status == "ok" && runs[i].summary.isEmpty {
      runs[i].status = "error"
      runs[i].message = "no summary record (the run did not finish)"
    }
    // The run's own facts as axes, when asked for by name.
    for pseudo in Self.recordAxes where (by ?? []).contains(pseudo) {
      for i in runs.indices where !runs[i].axes.contains(where: { $0.key == pseudo }) {
        let value: String? =
          switch pseudo {
          case "scenario": scenarioOf[runs[i].id]
          case "config_id": configOf[runs[i].id]
          default: runs[i].sweep
          }
        if let value { runs[i].axes.append(JSONMember(pseudo, .string(value))) }
      }
    }
    var axisNames: [String] = []
    for run in runs {
      for member in run.axes where !axisNames.contains(member.key) { axisNames.append(member.key) }
    }
    let grouping = by ?? axisNames.filter { $0 != "seed" }
    // Labels: strings as they are; an object by its "name" when no other
    // value of its axis shares it, else by a short label of its settings.
    var labels: [String: [String: String]] = [:]
    for axis in grouping {
      let values = runs.compactMap { run in run.axes.first { $0.key == axis }?.value }
      var names: [String: Int] = [:]
      var distinct = Set<String>()
      var unique: [JSONValue] = []
      for value in values where distinct.insert(value.serialized()).inserted {
        unique.append(value)
        if case .string(let n)? = value["name"] { names[n, default: 0] += 1 }
      }
      var map: [String: String] = [:]
      for value in unique {
        switch value {
        case .string(let s): map[value.serialized()] = s
        case .object:
          if case .string(let n)? = value["name"], names[n] == 1 {
            map[value.serialized()] = n
          } else if case .string(let n)? = value["name"] {
            // Several settings of one plug-in: name only the settings that differ.
            let group = unique.filter { if case .string(n)? = $0["name"] { true } else { false } }
            map[value.serialized()] = Self.label(value, among: group)
          } else {
            map[value.serialized()] = Self.label(value)
          }
        default: map[value.serialized()] = Self.label(value)
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
    var cellOf: [[String]: Int] = [:]
    for (i, run) in runs.enumerated() {
      let k = key(run)
      if let c = cellOf[k] {
        members[c].append(i)
      } else {
        cellOf[k] = order.count
        order.append(k)
        members.append([i])
      }
    }
    let cells = zip(order, members).map { k, indices in
      cell(
        key: k,
        values: grouping.map { name in
          runs[indices[0]].axes.first { $0.key == name }?.value ?? .null
        },
        runs: indices.map { runs[$0] }, round: round, metrics: metrics)
    }
    var missing: [[String]] = []
    var missingUnlisted = false
    if !grouping.isEmpty {
      let values = grouping.indices.map { g in
        var seen = Set<String>()
        return order.compactMap { seen.insert($0[g]).inserted ? $0[g] : nil }
      }
      var counters = [Int](repeating: 0, count: grouping.count)
      // The combinations of the observed values: listed only when they are
      // few (runs that vary every axis at once make a grid of no use).
      var total = 1
      for axis in values {
        let (product, overflow) = total.multipliedReportingOverflow(by: axis.count)
        total = overflow ? Int.max : product
      }
      if total > Self.maxListedCombinations {
        missingUnlisted = total > order.count
        total = 0
      }
      let present = Set(order)
      for _ in 0..<total {
        let combination = grouping.indices.map { values[$0][counters[$0]] }
        if !present.contains(combination) { missing.append(combination) }
        var g = grouping.count - 1
        while g >= 0 {
          counters[g] += 1
          if counters[g] < values[g].count { break }
          counters[g] = 0
          g -= 1
        }
      }
    }
    var report = Report(by: grouping, runs: runs, cells: cells, missing: missing)
    report.tornFiles = torn
    report.repeatedRuns = repeated
    if !grouping.contains("seed") {
      report.missingSeeds = Self.missingSeeds(runs: runs, order: order, members: members)
    }
    report.missingUnlisted = missingUnlisted
    report.metrics = metrics
    report.round = round
    var configurations: [String] = []
    // What a run is: federated, a pipeline (cycles from 0) or centralized.
    func kind(_ run: Run) -> String {
      federatedRuns.contains(run.id)
        ? "federated" : run.rounds.contains { $0.round == 0 } ? "pipeline" : "centralized"
    }
    var kindsOf: [String: Set<String>] = [:]
    // (Outputs of `run` only: a sweep records its configuration, and an
    // axis may switch the federation on and off within one.)
    var configsOf: [String: Set<String>] = [:]
    for run in runs where scenarioOf[run.id] != nil && !run.rounds.isEmpty && run.axes.isEmpty {
      kindsOf[scenarioOf[run.id] ?? "?", default: []].insert(kind(run))
      if let config = configOf[run.id] {
        configsOf[scenarioOf[run.id] ?? "?", default: []].insert(config)
      }
    }
    // Error and skipped rows name no scenario: they belong to whichever configuration holds them.
    for run in runs where scenarioOf[run.id] != nil {
      // A sweep over `name` runs several scenario names in one configuration.
      let scenario = scenarioOf[run.id] ?? "?"
      var name = run.axes.contains { $0.key == "name" } ? "" : scenario
      // One scenario run federated and centralized (`--set federation=null`)
      // is two configurations.
      if (kindsOf[scenario]?.count ?? 0) > 1 && !run.rounds.isEmpty && run.axes.isEmpty {
        name += " [\(kind(run))]"
      }
      // Or with other settings (`--set`, an edited file): another
      // `config_id` in the summary.
      if (configsOf[scenario]?.count ?? 0) > 1 && run.axes.isEmpty, let config = configOf[run.id] {
        name += " [config_id \(config)]"
      }
      let axes = run.axes.map(\.key).joined(separator: ", ")
      // Sweeps record their configuration: the same axes run with another
      // base file or other --set values are another configuration.
      let sweep = run.sweep.map { ", sweep_id \($0)" } ?? ""
      let description = axes.isEmpty ? name + sweep : "\(name) (\(axes)\(sweep))"
      if !configurations.contains(description) { configurations.append(description) }
    }
    // One configuration can still hide two: the same axis values run twice
    // with different resolved scenarios (another base file or --set).
    var seen: [String: String] = [:]
    var noted = Set<String>()
    for run in runs where !run.axes.isEmpty {
      let key = JSONValue.object(run.axes).serialized()
      let scenario = scenarioOf[run.id] ?? "?"
      // Once per scenario, with the first pair as the example.
      if let other = seen[key], other != run.id, noted.insert(scenario).inserted {
        configurations.append(
          "\(scenario) with other settings (run \(run.id) repeats the axes of run \(other))")
      }
      seen[key] = run.id
    }
    report.configurations = configurations
    // Pipelines count cycles from 0, centralized runs epochs from 1.
    let cycles = runs.contains { run in
      !federatedRuns.contains(run.id) && run.rounds.contains { $0.round == 0 }
    }
    let epochs = runs.contains { run in
      !federatedRuns.contains(run.id) && !run.rounds.isEmpty
        && !run.rounds.contains { $0.round == 0 }
    }
    let names = [(federated, "round"), (cycles, "cycle"), (epochs, "epoch")].filter(\.0).map(\.1)
    report.roundName = names.isEmpty ? "round" : names.joined(separator: " or ")
    return report
  }

  /// A short label of a scenario value for tables and plots, never raw JSON.
  ///
  /// A plug-in block reads `name(key=value, ...)` and a chain its blocks
  /// joined by arrows, for example `norm-clip(max_norm=median) → fedavg`.
  /// - Parameter value: an axis value.
  /// - Returns: the label.
  public static func label(_ value: JSONValue) -> String {
    switch value {
    case .string(let s): return s
    case .number(let x): return JSONValue.format(x)
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .array(let items):
      return items.isEmpty ? "none" : items.map(label).joined(separator: " → ")
    case .object(let members):
      let name: String? = { if case .string(let n)? = value["name"] { n } else { nil } }()
      let settings = members.filter { $0.key != "name" }.map { member -> String in
        switch member.value {
        case .object, .array: return "\(member.key)=\(label(member.value))"
        default: return "\(member.key)=\(label(member.value))"
        }
      }
      if let name {
        return settings.isEmpty ? name : "\(name)(\(settings.joined(separator: ", ")))"
      }
      return "(" + settings.joined(separator: ", ") + ")"
    }
  }

  /// The short label of `value` naming only the settings that differ among
  /// `group` (values of one plug-in), nested objects likewise; the full
  /// label when nothing differs.
  /// - Parameters:
  ///   - value: an object with a `name`.
  ///   - group: the values it must be told apart from, itself included.
  /// - Returns: e.g. `backdoor(trigger=(size=2))` beside `backdoor(trigger=(size=3))`.
  public static func label(_ value: JSONValue, among group: [JSONValue]) -> String {
    guard case .object = value else { return label(value) }
    func differing(_ value: JSONValue, _ group: [JSONValue]) -> [String] {
      guard case .object(let members) = value else { return [] }
      var parts: [String] = []
      for member in members where member.key != "name" {
        let others = group.map { $0[member.key] }
        guard others.contains(where: { $0?.serialized() != member.value.serialized() }) else {
          continue
        }
        let nested = others.compactMap { $0 }
        if case .object = member.value, nested.count == group.count,
          nested.allSatisfy({ if case .object = $0 { true } else { false } })
        {
          let inner = differing(member.value, nested)
          parts.append(
            "\(member.key)=(\(inner.isEmpty ? label(member.value) : inner.joined(separator: ", ")))"
          )
        } else {
          parts.append("\(member.key)=\(label(member.value))")
        }
      }
      // Keys the others have and this value lacks: the plug-in's default
      // where its registry entry gives one.
      let own = Set(members.map(\.key))
      var name: String?
      if case .string(let given)? = value["name"] { name = given }
      let specs =
        PluginFamily.allCases.flatMap { Registry.descriptors($0) }
        .first { $0.name == name }?.parameters ?? []
      for other in group {
        guard case .object(let theirs) = other else { continue }
        for member in theirs where member.key != "name" && !own.contains(member.key) {
          // A scalar default by its value; an object's own defaults are not one value.
          let fallback: String? =
            switch specs.first(where: { $0.key == member.key })?.defaultValue {
            case .string(let text)?: text
            case .number(let x)?: JSONValue.format(x)
            case .bool(let b)?: "\(b)"
            default: nil
            }
          let part = "\(member.key)=\(fallback ?? "default")"
          if !parts.contains(part) { parts.append(part) }
        }
      }
      return parts
    }
    let parts = differing(value, group)
    guard case .string(let name)? = value["name"], !parts.isEmpty else { return label(value) }
    return "\(name)(\(parts.joined(separator: ", ")))"
  }

  private static func cell(
    key: [String], values: [JSONValue], runs: [Run], round: Int?, metrics: [String]
  ) -> Cell {
    let ok = runs.filter { $0.status == "ok" }
    func value(_ fields: [JSONMember], _ metric: String) -> Double? {
      if case .number(let x)? = fields.first(where: { $0.key == metric })?.value { return x }
      return nil
    }
    func fields(_ run: Run) -> [JSONMember]? {
      guard let round else { return run.summary }
      return run.rounds.last { $0.round == round }?.fields
    }
    let statistics: [(String, Statistic?)] = metrics.map { metric in
      let values = ok.compactMap { run in fields(run).flatMap { value($0, metric) } }
      guard !values.isEmpty else { return (metric, nil) }
      let (mean, std) = Self.meanAndStd(values)
      return (metric, Statistic(mean: mean, std: std, count: values.count))
    }
    let curves: [(String, [(x: Double, mean: Double, std: Double)])] = [
      "accuracy", "attack_success",
    ].compactMap { metric in
      var byRound: [Int: [Double]] = [:]
      for run in ok {
        for (round, fields) in run.rounds {
          if let v = value(fields, metric) { byRound[round, default: []].append(v) }
        }
      }
      guard !byRound.isEmpty else { return nil }
      return (
        metric,
        byRound.keys.sorted().map { round in
          let (mean, std) = Self.meanAndStd(byRound[round] ?? [])
          return (Double(round), mean, std)
        }
      )
    }
    return Cell(
      key: key, values: values, runs: ok.count, failed: runs.filter { $0.status == "error" }.count,
      skipped: runs.filter { $0.status == "skipped" }.count, statistics: statistics, curves: curves)
  }

  /// The mean and the sample standard deviation (n - 1; 0 for one value)
  /// of finite values, computed on values scaled by their largest magnitude
  /// so that finite values near Double's limit give a finite mean.
  /// - Parameter values: the values.
  /// - Returns: (0, 0) for no values.
  static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
    guard !values.isEmpty else { return (0, 0) }
    let scale = values.reduce(0) { max($0, abs($1)) }
    guard scale > 0, scale.isFinite else {
      // All zeros, or a non-finite value that no scaling can help.
      let mean = values.reduce(0, +) / Double(values.count)
      return (mean, scale > 0 ? .nan : 0)
    }
    let scaled = values.map { $0 / scale }
    let m = scaled.reduce(0, +) / Double(values.count)
    let variance =
      values.count > 1
      ? scaled.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1) : 0
    return (m * scale, variance.squareRoot() * scale)
  }

  /// The mean and sample standard deviation of the runs of several cells
  /// pooled into one, from each cell's mean, sample standard deviation and
  /// count: `sum((n_i - 1) s_i^2 + n_i (m_i - M)^2) / (N - 1)`.
  /// - Parameter parts: the cells' statistics.
  /// - Returns: the pooled statistic.
  static func pooled(_ parts: [Statistic]) -> Statistic {
    let n = parts.reduce(0) { $0 + $1.count }
    guard n > 0 else { return Statistic(mean: 0, std: 0, count: 0) }
    let scale = parts.reduce(0) { max($0, abs($1.mean), $1.std) }
    guard scale > 0, scale.isFinite else {
      return Statistic(mean: parts[0].mean, std: scale > 0 ? .nan : 0, count: n)
    }
    let mean = parts.reduce(0) { $0 + $1.mean / scale * Double($1.count) } / Double(n)
    let squares = parts.reduce(0) { total, part in
      let s = part.std / scale
      let d = part.mean / scale - mean
      return total + Double(part.count - 1) * s * s + Double(part.count) * d * d
    }
    let std = n > 1 ? (squares / Double(n - 1)).squareRoot() * scale : 0
    return Statistic(mean: mean * scale, std: std, count: n)
  }

  /// The metrics whose lower values are good for the defender.
  static let lowerIsBetter: Set<String> = [
    "attack_success", "loss", "epsilon", "seconds", "false_alarms", "false_quarantined",
    "time_to_detect", "first_alarm_round", "recovery_rounds", "gate_rejected_rounds",
    "honest_dropped", "secure_aggregation_failed_rounds", "rollbacks", "audit_false_acceptance",
    "audit_false_rejection", "audit_attack_success_after", "malicious", "malicious_total",
  ]

  /// Whether a higher value of `metric` is good for the defender.
  public static func higherIsBetter(_ metric: String) -> Bool { !lowerIsBetter.contains(metric) }

  /// The report without the column `metric` (`report` reads the worst
  /// case's metric before it knows whether the axes allow a worst case).
  /// - Parameter metric: the metric left out.
  /// - Returns: the report.
  public func dropping(_ metric: String) -> Report {
    var copy = self
    copy.metrics.removeAll { $0 == metric }
    for i in copy.cells.indices { copy.cells[i].statistics.removeAll { $0.metric == metric } }
    return copy
  }

  /// One defense's worst case over the attacks.
  public struct WorstCase: Sendable, Equatable {
    /// The defense.
    public var defense: String
    /// The worst cell mean (nil when every run of the defense failed).
    public var value: Double?
    /// The attack giving it (nil with `value`).
    public var attack: String?
    /// Attacks under which runs failed, with the failed runs and all runs.
    ///
    /// A failed run (diverged, stopped) is worse than any value; it has no
    /// number, so it is listed beside the worst value, never hidden.
    public var failed: [Failure]

    /// Runs of the defense that failed under one attack.
    public struct Failure: Sendable, Equatable {
      /// The attack.
      public var attack: String
      /// Its runs that failed.
      public var failed: Int
      /// All its runs with this defense.
      public var runs: Int
    }

    /// `value (attack)`, then the failures.
    public var text: String {
      let worst = value.map { "\(Report.number($0)) (\(attack ?? "-"))" } ?? "every run failed"
      let failures = failed.map { "\($0.attack) (\($0.failed) of \($0.runs) runs)" }
      return failures.isEmpty
        ? worst : worst + "; failed under " + failures.joined(separator: ", ")
    }
  }

  /// For each value of the defense axis, the worst cell mean of `metric`
  /// over the attack axis, and the attacks under which runs failed.
  /// - Parameter metric: the metric judged.
  /// - Returns: one entry per defense, or empty without both axes.
  public func worstCase(_ metric: String) -> [WorstCase] {
    guard let d = by.firstIndex(where: { $0.contains("defense") }),
      let a = by.firstIndex(where: { $0.contains("attack") })
    else { return [] }
    var out: [WorstCase] = []
    for defense in cells.map({ $0.key[d] }).reduce(
      into: [String](), { if !$0.contains($1) { $0.append($1) } })
    {
      let members = cells.filter { $0.key[d] == defense }
      let candidates = members.compactMap { cell -> (Double, String)? in
        guard let s = cell.statistics.first(where: { $0.metric == metric })?.value else {
          return nil
        }
        return (s.mean, cell.key[a])
      }
      let worst =
        Self.higherIsBetter(metric)
        ? candidates.min { $0.0 < $1.0 } : candidates.max { $0.0 < $1.0 }
      // Failures per attack, over every run of the attack (other grouping
      // axes pooled: cells without a failure count their runs too).
      var failures: [WorstCase.Failure] = []
      for cell in members
      where cell.failed > 0 && !failures.contains(where: { $0.attack == cell.key[a] }) {
        let runs = members.filter { $0.key[a] == cell.key[a] }
        failures.append(
          WorstCase.Failure(
            attack: cell.key[a], failed: runs.reduce(0) { $0 + $1.failed },
            runs: runs.reduce(0) { $0 + $1.failed + $1.runs }))
      }
      guard worst != nil || !failures.isEmpty else { continue }
      out.append(
        WorstCase(defense: defense, value: worst?.0, attack: worst?.1, failed: failures))
    }
    return out
  }

  /// The text of `statistic` as `mean +- std` (4 decimals), or `-`.
  public static func format(_ statistic: Statistic?) -> String {
    guard let s = statistic else { return "-" }
    return s.count > 1 ? "\(number(s.mean)) ± \(number(s.std))" : number(s.mean)
  }

  /// A value with 4 decimals, or in exponent form (4 significant digits)
  /// from 1e9 on, where fixed decimals would print hundreds of digits.
  public static func number(_ x: Double) -> String {
    abs(x) < 1e9 || !x.isFinite ? String(format: "%.4f", x) : String(format: "%.4g", x)
  }
}
