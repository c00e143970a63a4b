/// Which runs a key applies to.
public enum RunMode: String, Sendable {
  /// Every run.
  case any
  /// Runs without a `federation` block.
  case centralized
  /// Runs with a `federation` block.
  case federated
}

/// The type and range of one scenario value; validation, `poisonlab list`
/// and the documentation all read it.
public indirect enum ValueType: Sendable {
  /// An integer in `min...max` (either bound optional).
  case integer(min: Int?, max: Int?)
  /// An odd integer in `min...max` (a kernel side with size-preserving padding).
  case oddInteger(min: Int, max: Int)
  /// A number between bounds; `open` bounds are exclusive.
  case number(min: Double?, max: Double?, minOpen: Bool, maxOpen: Bool)
  /// `true` or `false`.
  case boolean
  /// Any string.
  case string
  /// One of these strings.
  case choice([String])
  /// An array of elements of one type, with a count range.
  case array(ValueType, minCount: Int, maxCount: Int?)
  /// A nested object with its own keys.
  case object([ParameterSpec])
  /// An object whose keys are checked elsewhere (a plug-in block, `expect`).
  case anyObject
  /// Any one of several types (the first that matches the JSON type).
  case either([ValueType])

  /// A number `>= min` (or `> min` when `open`).
  /// - Parameters:
  ///   - min: the lower bound.
  ///   - open: whether the bound is exclusive.
  /// - Returns: a number `>= min` (or `> min` when `open`).
  public static func number(atLeast min: Double, open: Bool = false) -> ValueType {
    .number(min: min, max: nil, minOpen: open, maxOpen: false)
  }

  /// How the type reads in messages and `list`: `integer >= 1`, `number in (0, 1]`.
  public var summary: String {
    switch self {
    case .integer(let lo, let hi):
      switch (lo, hi) {
      case (let lo?, let hi?): return "integer in \(lo)...\(hi)"
      case (let lo?, nil): return "integer >= \(lo)"
      case (nil, let hi?): return "integer <= \(hi)"
      default: return "integer"
      }
    case .oddInteger(let lo, let hi): return "odd integer in \(lo)...\(hi)"
    case .number(let lo, let hi, let minOpen, let maxOpen):
      let l = lo.map(JSONValue.format)
      let h = hi.map(JSONValue.format)
      switch (l, h) {
      case (let l?, let h?):
        return "number in \(minOpen ? "(" : "[")\(l), \(h)\(maxOpen ? ")" : "]")"
      case (let l?, nil): return "number \(minOpen ? ">" : ">=") \(l)"
      case (nil, let h?): return "number \(maxOpen ? "<" : "<=") \(h)"
      default: return "number"
      }
    case .boolean: return "boolean"
    case .string: return "string"
    case .choice(let options): return "one of " + options.joined(separator: ", ")
    case .array(let element, let lo, let hi):
      let count =
        hi.map { $0 == lo ? " (exactly \(lo))" : " (\(lo)...\($0) items)" }
        ?? (lo > 0 ? " (at least \(lo))" : "")
      return "array of \(element.summary)\(count)"
    case .object, .anyObject: return "object"
    case .either(let types): return types.map(\.summary).joined(separator: " or ")
    }
  }
}

/// One key a plug-in (or a scenario block) accepts.
public struct ParameterSpec: Sendable {
  /// The snake_case key.
  public var key: String
  /// Its type and range.
  public var type: ValueType
  /// The value used when the key is absent (nil: no default).
  public var defaultValue: JSONValue?
  /// Whether the key must be given.
  public var isRequired: Bool
  /// One line saying what it does.
  public var doc: String
  /// The runs the key applies to.
  public var mode: RunMode

  /// Creates a spec.
  /// - Parameters:
  ///   - key: the key.
  ///   - type: its type.
  ///   - defaultValue: the default, or nil.
  ///   - isRequired: whether it must be given.
  ///   - mode: the runs it applies to.
  ///   - doc: what it means.
  public init(
    _ key: String, _ type: ValueType, default defaultValue: JSONValue? = nil,
    required isRequired: Bool = false, mode: RunMode = .any, doc: String
  ) {
    self.key = key
    self.type = type
    self.defaultValue = defaultValue
    self.isRequired = isRequired
    self.doc = doc
    self.mode = mode
  }
}

/// A validated object: the given keys plus defaults, in spec order, with the
/// path it came from so plug-ins can report errors on their own keys.
public struct Parameters: Sendable, Equatable {
  /// Members in spec order (defaults filled in).
  public var members: [JSONMember]
  /// Where the object is in the scenario.
  public var path: JSONPath
  /// Keys the user wrote (as opposed to defaults).
  public var given: [String]

  /// The value of `key`, or nil when absent without default.
  /// - Parameter key: the member name.
  public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

  /// The path of `key` inside this object.
  /// - Parameter key: the member name.
  /// - Returns: the path of `key` inside this object.
  public func path(_ key: String) -> JSONPath { path.appending(key) }

  /// An integer member (validated by the schema), or nil.
  /// - Parameter key: the member name.
  /// - Returns: an integer member (validated by the schema), or nil.
  public func int(_ key: String) -> Int? {
    if case .number(let x)? = self[key] { return Int(exactly: x) }
    return nil
  }

  /// A number member, or nil.
  /// - Parameter key: the member name.
  /// - Returns: a number member, or nil.
  public func double(_ key: String) -> Double? {
    if case .number(let x)? = self[key] { return x }
    return nil
  }

  /// A string member, or nil.
  /// - Parameter key: the member name.
  /// - Returns: a string member, or nil.
  public func string(_ key: String) -> String? {
    if case .string(let s)? = self[key] { return s }
    return nil
  }

  /// A boolean member, or nil.
  /// - Parameter key: the member name.
  /// - Returns: a boolean member, or nil.
  public func bool(_ key: String) -> Bool? {
    if case .bool(let b)? = self[key] { return b }
    return nil
  }

  /// An array of integers, or nil.
  /// - Parameter key: the member name.
  /// - Returns: an array of integers, or nil.
  public func ints(_ key: String) -> [Int]? {
    guard case .array(let items)? = self[key] else { return nil }
    let values = items.compactMap { item -> Int? in
      if case .number(let x) = item { return Int(exactly: x) }
      return nil
    }
    return values.count == items.count ? values : nil
  }

  /// The object as JSON.
  public var json: JSONValue { .object(members) }
}

/// Checks JSON values against ``ValueType``s, collecting every problem.
public struct SchemaValidator {
  /// Problems found so far, in document order.
  public var errors: [ScenarioError] = []
  /// The keys the user wrote in each object checked, by path (defaults excluded).
  private var givenKeys: [String: [String]] = [:]
  /// The keys allowed in each object checked, by path.
  private var allowedKeys: [String: [String]] = [:]

  /// The keys an object checked at `path` allows (nil: none checked there).
  public func allowed(at path: JSONPath) -> [String]? { allowedKeys[path.description] }

  /// The keys written by the user in the object at `path` (empty if none was checked there).
  /// - Parameter path: the object's location.
  /// - Returns: the keys (empty if none was checked there).
  public func given(at path: JSONPath) -> [String] { givenKeys[path.description] ?? [] }

  /// Whether the scenario is federated (nil: unknown, mode-specific keys pass).
  public var federated: Bool?

  /// Creates an empty validator.
  /// - Parameter federated: whether the scenario being checked is federated.
  public init(federated: Bool? = nil) { self.federated = federated }

  /// Whether a key of `mode` applies to the scenario being checked.
  func applies(_ mode: RunMode) -> Bool {
    switch (mode, federated) {
    case (.any, _), (_, nil): return true
    case (.federated, true?), (.centralized, false?): return true
    default: return false
    }
  }

  /// Records a problem.
  /// - Parameters:
  ///   - path: where.
  ///   - message: what.
  public mutating func fail(_ path: JSONPath, _ message: String) {
    errors.append(ScenarioError(path, message))
  }

  /// Checks `value` against `type`; returns it (objects with defaults filled) or nil.
  /// - Parameters:
  ///   - value: the JSON value.
  ///   - type: the expected type.
  ///   - path: where the value is.
  /// - Returns: the value (objects with defaults filled in), or nil when invalid.
  public mutating func check(_ value: JSONValue, _ type: ValueType, at path: JSONPath) -> JSONValue?
  {
    switch (type, value) {
    case (.integer(let lo, let hi), .number(let x)):
      guard x == x.rounded(), abs(x) <= 9_007_199_254_740_991 else {
        fail(path, "expected \(type.summary), got \(value.brief)")
        return nil
      }
      if let lo, x < Double(lo) {
        fail(path, "must be \(type.summary), got \(value.brief)")
        return nil
      }
      if let hi, x > Double(hi) {
        fail(path, "must be \(type.summary), got \(value.brief)")
        return nil
      }
      return value
    case (.oddInteger(let lo, let hi), .number(let x)):
      guard x == x.rounded(), x >= Double(lo), x <= Double(hi),
        x.truncatingRemainder(dividingBy: 2) != 0
      else {
        fail(path, "must be \(type.summary), got \(value.brief)")
        return nil
      }
      return value
    case (.number(let lo, let hi, let minOpen, let maxOpen), .number(let x)):
      let belowLow = lo.map { minOpen ? x <= $0 : x < $0 } ?? false
      let aboveHigh = hi.map { maxOpen ? x >= $0 : x > $0 } ?? false
      if belowLow || aboveHigh {
        fail(path, "must be \(type.summary), got \(value.brief)")
        return nil
      }
      // The engine computes in float32: the value must also hold there.
      let single = Float(x)
      guard single.isFinite else {
        fail(
          path,
          "\(value.brief) is out of float32 range (±3.4e38); poisonlab computes in float32")
        return nil
      }
      let belowLow32 = lo.map { minOpen ? single <= Float($0) : single < Float($0) } ?? false
      let aboveHigh32 = hi.map { maxOpen ? single >= Float($0) : single > Float($0) } ?? false
      if belowLow32 || aboveHigh32 || (x != 0 && single == 0) {
        fail(
          path,
          "must be \(type.summary) in float32, the engine's type, got \(value.brief) "
            + "(\(single == 0 ? "0, it underflows" : "\(single)") in float32)")
        return nil
      }
      return value
    case (.boolean, .bool), (.string, .string):
      return value
    case (.choice(let options), .string(let s)):
      guard options.contains(s) else {
        fail(
          path,
          "unknown value \"\(s)\"\(Suggest.phrase(for: s, in: options)) (allowed: \(options.joined(separator: ", ")))"
        )
        return nil
      }
      return value
    case (.array(let element, let lo, let hi), .array(let items)):
      if items.count < lo || hi.map({ items.count > $0 }) == true {
        fail(path, "expected \(type.summary), got \(items.count) item(s)")
        return nil
      }
      var checked: [JSONValue] = []
      for (i, item) in items.enumerated() {
        guard let ok = check(item, element, at: path.appending(i)) else { continue }
        checked.append(ok)
      }
      return checked.count == items.count ? .array(checked) : nil
    case (.object(let specs), .object):
      return object(value, specs, at: path)?.json
    case (.anyObject, .object):
      return value
    case (.either(let types), _):
      for candidate in types where ValueType.matchesJSONType(candidate, value) {
        return check(value, candidate, at: path)
      }
      fail(path, "expected \(type.summary), got \(value.described)")
      return nil
    default:
      fail(path, "expected \(type.summary), got \(value.described)")
      return nil
    }
  }

  /// Checks an object's keys against `specs`: unknown keys (with a
  /// suggestion), missing required keys, each value's type; fills defaults.
  /// - Parameters:
  ///   - value: the JSON value (must be an object).
  ///   - specs: the accepted keys.
  ///   - path: where the object is.
  ///   - extraKeys: keys handled by the caller (for example `name`), accepted as is.
  ///   - context: words for the unknown-key message (for example `for attack "backdoor"`).
  /// - Returns: the resolved object, or nil when a problem was recorded.
  public mutating func object(
    _ value: JSONValue, _ specs: [ParameterSpec], at path: JSONPath, extraKeys: [String] = [],
    context: String = ""
  ) -> Parameters? {
    guard case .object(let members) = value else {
      fail(path, "expected an object, got \(value.described)")
      return nil
    }
    let allowed = extraKeys + specs.map(\.key)
    allowedKeys[path.description] = allowed
    let before = errors.count
    givenKeys[path.description] = members.map(\.key)
    for member in members where !allowed.contains(member.key) {
      let suffix = context.isEmpty ? "" : " \(context)"
      fail(
        path.appending(member.key),
        "unknown key\(suffix)\(Suggest.phrase(for: member.key, in: allowed)) (allowed: \(allowed.joined(separator: ", ")))"
      )
    }
    var resolved: [JSONMember] = []
    for member in members where extraKeys.contains(member.key) { resolved.append(member) }
    for spec in specs {
      if !applies(spec.mode) {
        if members.contains(where: { $0.key == spec.key }) {
          fail(
            path.appending(spec.key),
            spec.mode == .federated
              ? "applies to federated runs only (this scenario has no federation block)"
              : "applies to centralized runs only (this scenario has a federation block)")
        }
        continue
      }
      if let given = members.first(where: { $0.key == spec.key }) {
        if let ok = check(given.value, spec.type, at: path.appending(spec.key)) {
          resolved.append(JSONMember(spec.key, ok))
        }
      } else if spec.isRequired {
        fail(path.appending(spec.key), "missing required key (\(spec.type.summary): \(spec.doc))")
      } else if let fallback = spec.defaultValue {
        let filled: JSONValue
        if case .object(let nested) = spec.type, case .object = fallback {
          filled = object(fallback, nested, at: path.appending(spec.key))?.json ?? fallback
        } else {
          filled = fallback
        }
        resolved.append(JSONMember(spec.key, filled))
      }
    }
    guard errors.count == before else { return nil }
    return Parameters(members: resolved, path: path, given: members.map(\.key))
  }
}

extension ValueType {
  /// Whether `value` has the JSON type `type` expects (ranges aside).
  static func matchesJSONType(_ type: ValueType, _ value: JSONValue) -> Bool {
    switch (type, value) {
    case (.integer, .number(let x)), (.oddInteger, .number(let x)): return x == x.rounded()
    case (.number, .number), (.boolean, .bool), (.string, .string), (.choice, .string),
      (.array, .array), (.object, .object), (.anyObject, .object):
      return true
    case (.either(let types), _): return types.contains { matchesJSONType($0, value) }
    default: return false
    }
  }
}
