/// A data file that is missing, unreadable or malformed.
///
/// Every case names the file and says what is wrong; loaders never trap on bad bytes.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file (or directory) does not exist; `hint` says how to get it.
  case missing(file: String, hint: String)
  /// The file exists but cannot be read.
  case unreadable(file: String, reason: String)
  /// The bytes do not form a valid file of the expected format.
  case corrupt(file: String, reason: String)
  /// A CSV problem at a line (1-based) and optionally a column (1-based).
  case csv(file: String, line: Int, column: Int?, reason: String)
  /// Two files that must agree do not (for example image and label counts).
  case mismatch(reason: String)
  /// A `dataset` value the file turns out not to fit (a `label_column` name
  /// the header lacks): a scenario error at `dataset.<key>` (exit 2).
  case setting(key: String, reason: String)

  public var description: String {
    switch self {
    case .missing(let file, let hint):
      return "\(file): not found" + (hint.isEmpty ? "" : "; \(hint)")
    case .unreadable(let file, let reason):
      return "\(file): cannot be read: \(reason)"
    case .corrupt(let file, let reason):
      return "\(file): \(reason)"
    case .csv(let file, let line, let column, let reason):
      return "\(file):\(line)" + (column.map { ":\($0)" } ?? "") + ": \(reason)"
    case .mismatch(let reason):
      return reason
    case .setting(let key, let reason):
      return "dataset.\(key): \(reason)"
    }
  }
}
