import Foundation

/// CSV with a header row; every record has every column (summary-only
/// columns are empty on round rows; null is an empty field).
public struct CSVFormat: ParameterlessFormat {
  public static let descriptor = PluginDescriptor(
    name: "csv", summary: "comma-separated values with a header; null is an empty field")

  public init() {}

  public func begin() -> String { MetricRecord.columns.joined(separator: ",") + "\n" }

  public func line(for record: MetricRecord, index: Int) -> String {
    let fields = record.fields
    return MetricRecord.columns.map { column in
      guard let value = fields.first(where: { $0.key == column })?.value else { return "" }
      switch value {
      case .null: return ""
      case .string(let s): return CSVFormat.escape(s)
      case .array(let items):
        return CSVFormat.escape(
          items.map { if case .string(let s) = $0 { s } else { $0.serialized() } }.joined(
            separator: "; "))
      default: return value.serialized()
      }
    }.joined(separator: ",") + "\n"
  }

  /// Quotes a field when it holds a comma, quote or newline.
  /// - Parameter s: the field.
  /// - Returns: the field, quoted when needed.
  static func escape(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
      return s
    }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
