import Foundation

/// One axis of a sweep: a scenario path and the values it takes.
public struct SweepAxis: Sendable, Equatable {
  /// A `--set` path (`attack.name`, `seed`).
  public var path: String
  /// The values, in order.
  public var values: [JSONValue]

  /// Creates an axis.
  /// - Parameters:
  ///   - path: the scenario path.
  ///   - values: its values.
  public init(path: String, values: [JSONValue]) {
    self.path = path
    self.values = values
  }

  /// Parses `--grid PATH=V1,V2,...`: values are JSON (a bare word is a
  /// string) separated by commas outside brackets, braces and quotes.
  /// - Parameter text: the grid option.
  /// - Returns: the axis, or nil when malformed.
  public static func parse(grid text: String) -> SweepAxis? {
    guard let equals = text.firstIndex(of: "="), Override.parsePath(String(text[..<equals])) != nil
    else { return nil }
    var values: [JSONValue] = []
    var depth = 0
    var quoted = false
    var current = ""
    var previous: Character = " "
    for c in text[text.index(after: equals)...] {
      if c == "\"" && previous != "\\" { quoted.toggle() }
      if !quoted {
        if c == "[" || c == "{" { depth += 1 }
        if c == "]" || c == "}" { depth -= 1 }
        if c == "," && depth == 0 {
          guard let value = try? Override.parseValue(current).get() else { return nil }
          values.append(value)
          current = ""
          previous = c
          continue
        }
      }
      current.append(c)
      previous = c
    }
    guard let last = try? Override.parseValue(current).get() else { return nil }
    values.append(last)
    guard !values.contains(.string("")) else { return nil }
    return SweepAxis(path: String(text[..<equals]), values: values)
  }

  /// Why `--seeds` text is refused, when it is well formed but too large
  /// or out of range (nil: malformed, or fine).
  /// - Parameter text: the seeds option.
  /// - Returns: the problem in words.
  public static func seedsProblem(_ text: String) -> String? {
    var count: UInt64 = 0
    for part in text.split(separator: ",") {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 2, let lo = UInt64(bounds[0]), let hi = UInt64(bounds[1]) {
        guard lo <= hi else { return "the range \(part) runs backwards" }
        count = count.addingReportingOverflow(hi - lo).partialValue &+ 1
      } else if bounds.count == 1, UInt64(bounds[0]) != nil {
        count += 1
      } else if part.hasPrefix("-") {
        return "seeds are whole numbers from 0 to 2^64-1, got \(part)"
      } else {
        return nil
      }
      if count > UInt64(SweepPlan.maxRuns) {
        return
          "more than \(SweepPlan.maxRuns) seeds, the most runs a sweep may hold (see README, Sweeps)"
      }
    }
    return nil
  }

  /// Parses `--seeds 0-4` or `--seeds 0,3,7`.
  /// - Parameter text: the seeds option.
  /// - Returns: the seeds, or nil when malformed.
  public static func parse(seeds text: String) -> [UInt64]? {
    var seeds: [UInt64] = []
    for part in text.split(separator: ",") {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 2, let lo = UInt64(bounds[0]), let hi = UInt64(bounds[1]), lo <= hi,
        hi - lo < UInt64(SweepPlan.maxRuns), seeds.count + Int(hi - lo) < SweepPlan.maxRuns
      {
        seeds += Array(lo...hi)
      } else if bounds.count == 1, let value = UInt64(bounds[0]) {
        seeds.append(value)
      } else {
        return nil
      }
    }
    return seeds.isEmpty ? nil : seeds
  }
}

/// A sweep expanded into runs: every combination of the axes, in a fixed order.
public struct SweepPlan: Sendable {
  /// One combination.
  public struct Run: Sendable {
    /// Position in the expansion (from 0); shards take `index % N == K - 1`.
    public var index: Int
    /// The axis values of this run, in axis order.
    public var axes: [JSONMember]
    /// The validated scenario, or the problems that make it invalid.
    public var scenario: Result<Scenario, ScenarioErrors>
    /// A stable id: FNV-1a (64 bits) of the resolved scenario (or of the axes when invalid).
    public var id: String
    /// The sweep's configuration, the same for all its runs: FNV-1a of the
    /// base scenario, the `--set` overrides and the axis paths (not their
    /// values or the seeds), so that `report` can tell two sweeps apart
    /// whose runs share the axes but not the settings.
    public var sweepID: String = ""
  }

  /// The most runs one sweep may expand to (each run is validated, and held,
  /// before any runs); larger studies are several sweeps.
  public static let maxRuns = 100_000

  /// The axes, outermost first (the last varies fastest).
  public var axes: [SweepAxis]
  /// The runs, in expansion order.
  public var runs: [Run]

  /// Expands a scenario file: its `sweep` block's axes, then `grids`, then `seeds`.
  /// - Parameters:
  ///   - file: the scenario file.
  ///   - grids: extra axes (`--grid`).
  ///   - seeds: the seeds axis (`--seeds`), or nil.
  ///   - overrides: `--set` assignments applied to every run first.
  /// - Returns: the plan.
  /// - Throws: `ScenarioErrors` when the file or an axis is unusable (not for invalid
  ///   combinations).
  public static func expand(
    file: String, grids: [SweepAxis], seeds: [UInt64]?, overrides: [String]
  ) throws(ScenarioErrors) -> SweepPlan {
    let text = try ScenarioLoader.readText(file)
    var document: JSONValue
    do {
      document = try JSONParser.parse(text)
    } catch {
      throw ScenarioErrors(source: file, errors: [ScenarioError(.root, "not valid JSON: \(error)")])
    }
    // `--set sweep...` changes the sweep block itself, before it is expanded.
    let isSweepAssignment = { (assignment: String) in
      assignment.hasPrefix("sweep=") || assignment.hasPrefix("sweep.")
    }
    for assignment in overrides where isSweepAssignment(assignment) {
      if let problem = Override.apply(assignment, to: &document) {
        throw ScenarioErrors(source: file, errors: [problem])
      }
    }
    let overrides = overrides.filter { !isSweepAssignment($0) }
    // A key set to null is left out (`"sweep": null` is no sweep block; a
    // null axis is none); the runs' own nulls are left out when each is decoded.
    if case .object(var members) = document {
      members.removeAll { $0.key == "sweep" && $0.value == .null }
      if let i = members.firstIndex(where: { $0.key == "sweep" }),
        case .object(let axes) = members[i].value
      {
        members[i].value = .object(axes.filter { $0.value != .null })
      }
      document = .object(members)
    }
    var axes: [SweepAxis] = []
    if case .object(var members) = document,
      let i = members.firstIndex(where: { $0.key == "sweep" })
    {
      guard case .object(let block) = members[i].value else {
        throw ScenarioErrors(
          source: file,
          errors: [
            ScenarioError(JSONPath.root.appending("sweep"), "expected an object of path: [values]")
          ])
      }
      for member in block {
        guard case .array(let values) = member.value, !values.isEmpty,
          Override.parsePath(member.key) != nil
        else {
          throw ScenarioErrors(
            source: file,
            errors: [
              ScenarioError(
                JSONPath.root.appending("sweep").appending(member.key),
                "expected a scenario path and a non-empty array of values")
            ])
        }
        axes.append(SweepAxis(path: member.key, values: values))
      }
      members.remove(at: i)
      document = .object(members)
    }
    // A later axis on the same path replaces the earlier one in its place:
    // --grid over the block, --seeds over a seed axis, a repeated --grid.
    var merged: [SweepAxis] = []
    let seedAxis = seeds.map { SweepAxis(path: "seed", values: $0.map { .number(Double($0)) }) }
    for axis in axes + grids + (seedAxis.map { [$0] } ?? []) {
      if let i = merged.firstIndex(where: { $0.path == axis.path }) {
        merged[i] = axis
      } else {
        merged.append(axis)
      }
    }
    axes = merged
    // An axis inside a later axis's path would be overwritten in every run
    // (a later one inside an earlier one refines it, and is kept).
    for (i, inner) in axes.enumerated() {
      if let outer = axes[(i + 1)...].first(where: {
        inner.path.hasPrefix($0.path + ".") || inner.path.hasPrefix($0.path + "[")
      }) {
        throw ScenarioErrors(
          source: file,
          errors: [
            ScenarioError(
              JSONPath.root.appending("sweep"),
              "the axis \(inner.path) would be overwritten in every run by the later axis \(outer.path); "
                + "drop one of them (an axis of the file's sweep block: edit the block, or replace it with --set 'sweep={...}')"
            )
          ])
      }
    }
    // An override inside an axis's path would be overwritten in every run.
    for assignment in overrides {
      let path = String(assignment.prefix { $0 != "=" })
      if let axis = axes.first(where: {
        path == $0.path || path.hasPrefix($0.path + ".") || path.hasPrefix($0.path + "[")
      }) {
        throw ScenarioErrors(
          source: file,
          errors: [
            ScenarioError(
              JSONPath.root.appending("sweep"),
              "--set \(path) would be overwritten in every run by the sweep axis \(axis.path); "
                + "drop the --set, or the axis (one of the file's sweep block: edit the block, or replace it with --set 'sweep={...}')"
            )
          ])
      }
    }
    let directory = (file as NSString).deletingLastPathComponent
    let base = document.serialized()
    // The configuration: the base scenario as the --set values leave it
    // (nulls out, keys sorted, so that their order and no-op values do not
    // count), and the axis paths.
    var configured = document
    for assignment in overrides { _ = Override.apply(assignment, to: &configured) }
    let sweepID = fnv1a(
      ([Self.canonical(ScenarioLoader.withoutNullMembers(configured)).serialized()]
        + axes.map { "axis " + $0.path }.sorted()).joined(separator: "\n"))
    var runs: [Run] = []
    var counters = [Int](repeating: 0, count: axes.count)
    var total = 1
    for axis in axes {
      let (product, overflow) = total.multipliedReportingOverflow(by: axis.values.count)
      guard !overflow, product <= maxRuns else {
        let sizes = axes.map { "\($0.path) \($0.values.count)" }.joined(separator: " x ")
        throw ScenarioErrors(
          source: file,
          errors: [
            ScenarioError(
              JSONPath.root.appending("sweep"),
              "the axes (\(sizes)) make more than \(maxRuns) runs, the most one sweep may hold; "
                + "split the study into several sweeps")
          ])
      }
      total = product
    }
    for index in 0..<total {
      let values = axes.indices.map { axes[$0].values[counters[$0]] }
      let assignments = overrides + zip(axes, values).map { "\($0.path)=\($1.serialized())" }
      let members = zip(axes, values).map { JSONMember($0.path, $1) }
      let scenario: Result<Scenario, ScenarioErrors>
      do {
        scenario = .success(
          try ScenarioLoader.decode(
            base, source: file, baseDirectory: directory.isEmpty ? "." : directory,
            overrides: assignments))
      } catch {
        scenario = .failure(error)
      }
      let key =
        (try? scenario.get().resolved.serialized()) ?? JSONValue.object(members).serialized()
      runs.append(
        Run(index: index, axes: members, scenario: scenario, id: fnv1a(key), sweepID: sweepID))
      // Advance the counters, last axis fastest.
      var axis = axes.count - 1
      while axis >= 0 {
        counters[axis] += 1
        if counters[axis] < axes[axis].values.count { break }
        counters[axis] = 0
        axis -= 1
      }
    }
    return SweepPlan(axes: axes, runs: runs)
  }

  /// `value` with every object's members sorted by key, at any depth.
  static func canonical(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
      return .object(
        members.sorted { $0.key < $1.key }.map { JSONMember($0.key, canonical($0.value)) })
    case .array(let items): return .array(items.map(canonical))
    default: return value
    }
  }

  /// FNV-1a 64-bit hash as 16 hex digits.
  static func fnv1a(_ text: String) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01B3
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}
