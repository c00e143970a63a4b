/// Where records go: standard output, or a file written incrementally and
/// completed atomically.
///
/// A file is written to `FILE.partial` (locked, see ``AtomicFile``) and
/// flushed after every record; ``finish()`` renames it to `FILE`. A run
/// killed midway leaves the finished rows in `FILE.partial` and never a
/// half-written `FILE`.
public final class RecordSink {
  private let format: any ReportFormat
  private let file: AtomicFile?
  private var count = 0

  /// A sink writing to standard output.
  /// - Parameter format: the output format.
  /// - Throws: `SinkError` when standard output cannot be written.
  public init(standardOutputFormat format: any ReportFormat) throws(SinkError) {
    self.format = format
    file = nil
    try emit(format.begin())
  }

  /// A sink writing `path` via `path.partial`.
  /// - Parameters:
  ///   - format: the output format.
  ///   - path: the final file.
  /// - Throws: `SinkError` when the file cannot be created or is locked.
  public init(format: any ReportFormat, path: String) throws(SinkError) {
    self.format = format
    file = try AtomicFile(path: path)
    try emit(format.begin())
  }

  private func emit(_ text: String) throws(SinkError) {
    guard !text.isEmpty else { return }
    guard let file else {
      do {
        try StandardStream.out(text)
      } catch {
        switch error {
        case .closed:
          throw SinkError(
            path: "standard output", reason: "closed by its reader", readerClosed: true)
        case .failed(let reason):
          throw SinkError(path: "standard output", reason: "cannot write: \(reason)")
        }
      }
      return
    }
    try file.write(text)
    try file.sync()
  }

  /// Writes one record and flushes it.
  /// - Parameter record: the record.
  /// - Throws: `SinkError` when the output cannot be written.
  public func write(_ record: MetricRecord) throws(SinkError) {
    try emit(format.line(for: record, index: count))
    count += 1
  }

  /// Writes the closing text and, for a file, renames it into place.
  /// - Throws: `SinkError` when the output cannot be written or renamed.
  public func finish() throws(SinkError) {
    try emit(format.end(count: count))
    try file?.commit()
  }

  /// Leaves `FILE.partial` with the rows written so far and releases its
  /// lock; a partial file without a row is removed.
  public func abandon() {
    if count == 0 { file?.discard() } else { file?.abandon() }
  }

  /// The path of the unfinished file, when writing to a file.
  public var partialPath: String? { file?.partialPath }

  /// The partial file an abandoned sink leaves: nil when no row was written.
  public var keptPartialPath: String? { count > 0 ? file?.partialPath : nil }

  /// Whether this sink writes to standard output.
  public var isStandardOutput: Bool { file == nil }
}

/// An output that could not be written.
public struct SinkError: Error, CustomStringConvertible, Sendable {
  /// The output file (or "standard output").
  public var path: String
  /// What failed, in plain words.
  public var reason: String
  /// Whether the reader of a pipe went away (EPIPE): not a failure of the
  /// run, which Unix tools answer by stopping quietly.
  public var readerClosed: Bool

  /// Creates an error.
  /// - Parameters:
  ///   - path: the output.
  ///   - reason: what failed.
  ///   - readerClosed: whether a pipe's reader went away.
  public init(path: String, reason: String, readerClosed: Bool = false) {
    self.path = path
    self.reason = reason
    self.readerClosed = readerClosed
  }

  public var description: String { "\(path): \(reason)" }
}
