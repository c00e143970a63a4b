/// A JSON value that keeps object members in file order (so errors, resolved
/// scenarios and outputs are stable) and rejects duplicate keys.
public indirect enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([JSONMember])

  /// The member `key` of an object, or nil.
  /// - Parameter key: the member name.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }

  /// A short rendering for error messages (`"abc"`, `12`, `[...]`, `{...}`).
  public var brief: String {
    switch self {
    case .array(let items): return items.isEmpty ? "[]" : "[...]"
    case .object(let members): return members.isEmpty ? "{}" : "{...}"
    default: return serialized()
    }
  }

  /// The type and a brief of the value for messages (`a string "x"`, `null`).
  public var described: String {
    if case .null = self { return "null" }
    return "\(typeName) \(brief)"
  }

  /// The JSON type name used in messages.
  public var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number(let x): return x == x.rounded() ? "an integer" : "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// Compact (single-line) or indented JSON text.
  ///
  /// Integral numbers print
  /// without a fraction; others use the shortest round-trip form.
  /// - Parameter indent: spaces per level, or nil for one line.
  /// - Returns: the JSON text.
  public func serialized(indent: Int? = nil) -> String {
    var out = ""
    write(to: &out, indent: indent, level: 0)
    return out
  }

  private func write(to out: inout String, indent: Int?, level: Int) {
    let newline = indent == nil ? "" : "\n"
    let pad = { (depth: Int) in String(repeating: " ", count: (indent ?? 0) * depth) }
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let x): out += JSONValue.format(x)
    case .string(let s): out += JSONValue.quote(s)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      // Arrays of scalars stay on one line.
      let flat =
        indent == nil
        || items.allSatisfy {
          if case .array = $0 { false } else if case .object = $0 { false } else { true }
        }
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += flat ? ", " : "," }
        if !flat { out += newline + pad(level + 1) }
        item.write(to: &out, indent: flat ? nil : indent, level: level + 1)
      }
      if !flat { out += newline + pad(level) }
      out += "]"
    case .object(let members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{"
      for (i, member) in members.enumerated() {
        if i > 0 { out += indent == nil ? ", " : "," }
        out += newline + pad(level + 1) + JSONValue.quote(member.key) + ": "
        member.value.write(to: &out, indent: indent, level: level + 1)
      }
      out += newline + pad(level) + "}"
    }
  }

  /// Formats a number: integral values without a fraction, others shortest
  /// round-trip; non-finite values become `null` (JSON has no NaN).
  /// - Parameter x: the number.
  /// - Returns: the number as JSON text.
  public static func format(_ x: Double) -> String {
    guard x.isFinite else { return "null" }
    // Every integer a double holds exactly (seeds go up to 2^53 - 1).
    if x == x.rounded() && abs(x) <= 9_007_199_254_740_992 { return String(Int64(x)) }
    return "\(x)"
  }

  /// A JSON string literal.
  /// - Parameter s: the text.
  /// - Returns: a JSON string literal.
  public static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hexDigits = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hexDigits.count) + hexDigits
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Sendable, Equatable {
  /// The member name.
  public var key: String
  /// The member value.
  public var value: JSONValue

  /// Creates a member.
  /// - Parameters:
  ///   - key: the name.
  ///   - value: the value.
  public init(_ key: String, _ value: JSONValue) {
    self.key = key
    self.value = value
  }
}

/// A JSON syntax error with its 1-based line and column.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Line of the problem.
  public var line: Int
  /// Column of the problem.
  public var column: Int
  /// What is wrong.
  public var message: String

  public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser (no comments, no trailing commas, no NaN).
public struct JSONParser {
  private let bytes: [UInt8]
  private var index = 0

  /// Parses one JSON document.
  /// - Parameter text: the document.
  /// - Throws: `JSONSyntaxError` with the position of the first problem.
  /// - Returns: the parsed value.
  public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
    var parser = JSONParser(bytes: Array(text.utf8))
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.index == parser.bytes.count else {
      throw parser.error("unexpected text after the JSON value")
    }
    return value
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private func error(_ message: String, at position: Int? = nil) -> JSONSyntaxError {
    let end = min(position ?? index, bytes.count)
    var line = 1
    var column = 1
    for byte in bytes[0..<end] {
      if byte == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        column += 1
      }
    }
    return JSONSyntaxError(line: line, column: column, message: message)
  }

  private mutating func skipSpace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  private func describeHere() -> String {
    guard index < bytes.count else { return "the end of the file" }
    let byte = bytes[index]
    return byte >= 0x20 && byte < 0x7F ? "'\(Character(UnicodeScalar(byte)))'" : "byte \(hex(byte))"
  }

  private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth < 200 else { throw error("nesting deeper than 200 levels") }
    guard index < bytes.count else { throw error("expected a value, found the end of the file") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw error("expected a value, found \(describeHere())")
    }
  }

  private mutating func literal(_ word: String, _ result: JSONValue) throws(JSONSyntaxError)
    -> JSONValue
  {
    let w = Array(word.utf8)
    guard index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w else {
      throw error("expected a value, found \(describeHere()) (strings need double quotes)")
    }
    index += w.count
    return result
  }

  private mutating func number() throws(JSONSyntaxError) -> JSONValue {
    let start = index
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    func digits() -> Int {
      let s = index
      while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
      return index - s
    }
    let intStart = index
    guard digits() > 0 else { throw error("expected a digit", at: index) }
    if bytes[intStart] == UInt8(ascii: "0") && index - intStart > 1 {
      throw error("numbers may not have leading zeros", at: intStart)
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard digits() > 0 else { throw error("expected a digit after '.'") }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")
      {
        index += 1
      }
      guard digits() > 0 else { throw error("expected a digit in the exponent") }
    }
    let text = String(decoding: bytes[start..<index], as: UTF8.self)
    guard let x = Double(text), x.isFinite else {
      throw error("number \(text) is out of range", at: start)
    }
    return .number(x)
  }

  private mutating func string() throws(JSONSyntaxError) -> String {
    let start = index
    index += 1
    var out: [UInt8] = []
    while true {
      guard index < bytes.count else { throw error("unterminated string", at: start) }
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        index += 1
        break
      }
      if byte < 0x20 { throw error("control character in a string (use \\n, \\t, ...)") }
      if byte != UInt8(ascii: "\\") {
        out.append(byte)
        index += 1
        continue
      }
      index += 1
      guard index < bytes.count else { throw error("unterminated string", at: start) }
      let escape = bytes[index]
      index += 1
      switch escape {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {
          guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u")
          else {
            throw error("unpaired surrogate in \\u escape")
          }
          index += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else {
            throw error("invalid low surrogate in \\u escape")
          }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = UnicodeScalar(code) else { throw error("invalid \\u escape") }
        out += Array(String(Character(scalar)).utf8)
      default:
        throw error("invalid escape '\\\(Character(UnicodeScalar(escape)))'", at: index - 2)
      }
    }
    guard let text = String(validating: out, as: UTF8.self) else {
      throw error("string is not valid UTF-8", at: start)
    }
    return text
  }

  private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let b = bytes[index]
      let digit: UInt32
      switch b {
      case 0x30...0x39: digit = UInt32(b - 0x30)
      case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
      case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
      default: throw error("bad hex digit in \\u escape")
      }
      value = value * 16 + digit
      index += 1
    }
    return value
  }

  private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    index += 1
    var items: [JSONValue] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(items)
    }
    while true {
      skipSpace()
      items.append(try value(depth: depth + 1))
      skipSpace()
      guard index < bytes.count else { throw error("unterminated array: expected ',' or ']'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
          throw error("trailing comma before ']'")
        }
        continue
      }
      if bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(items)
      }
      throw error("expected ',' or ']' in an array, found \(describeHere())")
    }
  }

  private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    index += 1
    var members: [JSONMember] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object(members)
    }
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
        throw error("expected a quoted key, found \(describeHere())")
      }
      let keyStart = index
      let key = try string()
      if members.contains(where: { $0.key == key }) {
        throw error("duplicate key \"\(key)\"", at: keyStart)
      }
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
        throw error("expected ':' after key \"\(key)\", found \(describeHere())")
      }
      index += 1
      skipSpace()
      members.append(JSONMember(key, try value(depth: depth + 1)))
      skipSpace()
      guard index < bytes.count else { throw error("unterminated object: expected ',' or '}'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
          throw error("trailing comma before '}'")
        }
        continue
      }
      if bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(members)
      }
      throw error("expected ',' or '}' after the value of \"\(key)\", found \(describeHere())")
    }
  }
}
