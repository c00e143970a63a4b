/// One JSON array holding every record (round records, then the summary).
public struct JSONFormat: ParameterlessFormat {
  public static let descriptor = PluginDescriptor(
    name: "json", summary: "a JSON array of all records, completed at the end of the run")

  public init() {}

  public func begin() -> String { "[" }

  public func line(for record: MetricRecord, index: Int) -> String {
    (index == 0 ? "\n  " : ",\n  ") + JSONValue.object(record.fields).serialized()
  }

  public func end(count: Int) -> String { count == 0 ? "]\n" : "\n]\n" }
}
