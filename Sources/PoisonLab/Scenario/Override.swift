/// `--set PATH=VALUE`: assignments applied to the scenario document before
/// validation (so they are validated exactly like the file).
///
/// `PATH` is dot-separated keys with optional `[i]` indices
/// (`training.learning_rate`, `attack[0].fraction`); `VALUE` is JSON
/// (`0.1`, `[100]`, `true`, `"text"`), and a bare word that is not JSON is a
/// string (`label-flip`); a value starting with `[`, `{` or `"` must be valid
/// JSON. Missing objects along the path are created, and
/// `null` removes the key (`attack=null` drops the attack block).
public enum Override {
  /// Applies one assignment; returns a problem, or nil on success.
  /// - Parameters:
  ///   - assignment: `PATH=VALUE`.
  ///   - document: the scenario document.
  /// - Returns: the problem, or nil on success.
  public static func apply(_ assignment: String, to document: inout JSONValue) -> ScenarioError? {
    let here = JSONPath(components: [.key("--set \(assignment)")])
    guard let equals = assignment.firstIndex(of: "=") else {
      return ScenarioError(here, "expected PATH=VALUE, for example training.learning_rate=0.1")
    }
    let pathText = String(assignment[..<equals])
    let valueText = String(assignment[assignment.index(after: equals)...])
    guard let path = parsePath(pathText) else {
      return ScenarioError(
        here, "bad path \"\(pathText)\": use keys separated by dots, with [i] for array elements")
    }
    let value: JSONValue
    switch parseValue(valueText) {
    case .success(let parsed): value = parsed
    case .failure(let error):
      return ScenarioError(
        here,
        "the value is not valid JSON: \(error) (a text starting with [, { or \" is written as a JSON string: \"...\")"
      )
    }
    if value == .null {
      // null removes the key (an optional block: attack=null, expect=null, sweep=null).
      if let problem = remove(&document, path: path) { return ScenarioError(here, problem) }
      return nil
    }
    if let problem = set(&document, path: path, value: value) {
      return ScenarioError(here, problem)
    }
    return nil
  }

  /// Parses a `--set` or `--grid` value: JSON, or a bare word as a string.
  ///
  /// A value that starts as JSON's arrays, objects and strings do is meant
  /// as JSON: a typo in it is an error, not a string.
  /// - Parameter text: the value's text.
  /// - Returns: the value, or the parser's error.
  public static func parseValue(_ text: String) -> Result<JSONValue, JSONSyntaxError> {
    do {
      return .success(try JSONParser.parse(text))
    } catch {
      if let first = text.first(where: { !$0.isWhitespace }), "[{\"".contains(first) {
        return .failure(error)
      }
      return .success(.string(text))
    }
  }

  /// Parses `a.b[0].c` into components; nil when malformed.
  /// - Parameter text: the path text.
  /// - Returns: the components, or nil when malformed.
  public static func parsePath(_ text: String) -> [JSONPath.Component]? {
    var components: [JSONPath.Component] = []
    for part in text.split(separator: ".", omittingEmptySubsequences: false) {
      var rest = Substring(part)
      guard let keyEnd = rest.firstIndex(of: "[") ?? Optional(rest.endIndex) else { return nil }
      let key = rest[..<keyEnd]
      guard !key.isEmpty else { return nil }
      components.append(.key(String(key)))
      rest = rest[keyEnd...]
      while !rest.isEmpty {
        guard rest.first == "[", let close = rest.firstIndex(of: "]"),
          let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0
        else { return nil }
        components.append(.index(index))
        rest = rest[rest.index(after: close)...]
      }
    }
    return components.isEmpty ? nil : components
  }

  /// Removes the key at `path` (nothing to do when it is absent); returns a
  /// problem or nil.
  /// - Parameters:
  ///   - document: the tree.
  ///   - path: the key to remove (its last component must be a key).
  /// - Returns: the problem, or nil on success.
  @discardableResult
  public static func remove(_ document: inout JSONValue, path: [JSONPath.Component]) -> String? {
    guard let last = path.last, case .key(let key) = last else {
      return "null removes a key; it cannot replace an array element (set the whole array instead)"
    }
    if path.count == 1 {
      guard case .object(var members) = document else { return nil }
      members.removeAll { $0.key == key }
      document = .object(members)
      return nil
    }
    let first = path[0]
    let rest = Array(path.dropFirst())
    switch (first, document) {
    case (.key(let name), .object(var members)):
      guard let i = members.firstIndex(where: { $0.key == name }) else { return nil }
      if let problem = remove(&members[i].value, path: rest) { return problem }
      document = .object(members)
      return nil
    case (.index(let i), .array(var items)) where i < items.count:
      if let problem = remove(&items[i], path: rest) { return problem }
      document = .array(items)
      return nil
    default:
      return nil
    }
  }

  /// Sets `value` at `path`, creating objects as needed; returns a problem or nil.
  /// - Parameters:
  ///   - document: the tree.
  ///   - path: where to write.
  ///   - value: what to write.
  /// - Returns: the problem, or nil on success.
  @discardableResult
  public static func set(
    _ document: inout JSONValue, path: [JSONPath.Component], value: JSONValue
  ) -> String? {
    guard let first = path.first else {
      document = value
      return nil
    }
    let rest = Array(path.dropFirst())
    switch (first, document) {
    case (.key(let key), .object(var members)):
      if let i = members.firstIndex(where: { $0.key == key }) {
        if let problem = set(&members[i].value, path: rest, value: value) { return problem }
      } else {
        var child: JSONValue = .object([])
        if let problem = set(&child, path: rest, value: value) { return problem }
        members.append(JSONMember(key, child))
      }
      document = .object(members)
      return nil
    case (.key(let key), _):
      return "cannot set key \"\(key)\" inside \(document.typeName)"
    case (.index(let i), .array(var items)):
      guard i < items.count else {
        return "index \(i) is past the end of an array of \(items.count)"
      }
      if let problem = set(&items[i], path: rest, value: value) { return problem }
      document = .array(items)
      return nil
    case (.index(let i), _):
      return "cannot index [\(i)] into \(document.typeName)"
    }
  }
}
