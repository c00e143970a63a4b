/// JSON Lines: one compact JSON object per record and line.
public struct JSONLinesFormat: ParameterlessFormat {
  public static let descriptor = PluginDescriptor(
    name: "jsonl", summary: "one JSON object per line (round records, then the summary)")

  public init() {}

  public func line(for record: MetricRecord, index: Int) -> String {
    JSONValue.object(record.fields).serialized() + "\n"
  }
}
