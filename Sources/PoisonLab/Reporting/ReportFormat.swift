/// An output format plug-in (`--format`): turns metric records into text.
///
/// Writers are stateless: the text for a record depends only on the record
/// and its position, so records can be written and flushed one at a time.
public protocol ReportFormat: Plugin {
  /// Text before the first record.
  func begin() -> String
  /// Text for one record; `index` counts records written before it.
  /// - Parameters:
  ///   - record: the record.
  ///   - index: its position (0 for the first).
  /// - Returns: text for one record; `index` counts records written before it.
  func line(for record: MetricRecord, index: Int) -> String
  /// Text after the last record (`count` records were written).
  /// - Parameter count: how many records were written.
  /// - Returns: text after the last record (`count` records were written).
  func end(count: Int) -> String
}

extension ReportFormat {
  /// Nothing before the first record by default.
  public func begin() -> String { "" }
  /// Nothing after the last record by default.
  public func end(count: Int) -> String { "" }
}

/// Output formats need no configuration.
public protocol ParameterlessFormat: ReportFormat {
  /// Creates the format.
  init()
}

extension ParameterlessFormat {
  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    self.init()
  }
}

/// Looks up an output format by name.
public enum Formats {
  /// The format named `name`, or nil.
  /// - Parameter name: for example `"jsonl"`.
  /// - Returns: the format named `name`, or nil.
  public static func named(_ name: String) -> (any ReportFormat)? {
    for type in Registry.formats where type.descriptor.name == name {
      if let parameterless = type as? any ParameterlessFormat.Type { return parameterless.init() }
    }
    return nil
  }

  /// The registered names.
  public static var names: [String] { Registry.formats.map { $0.descriptor.name } }
}
