import Foundation

/// Where records go: a stream (stdout) or a file written incrementally and
/// completed atomically.
///
/// A file is written to `FILE.partial` and flushed after every record; on
/// ``finish()`` it is renamed to `FILE`. A run killed midway leaves the
/// finished rows in `FILE.partial` and never a half-written `FILE`.
public final class RecordSink {
  private let format: any ReportFormat
  private let handle: FileHandle
  private let temporaryPath: String?
  private let finalPath: String?
  private var count = 0

  /// A sink writing to an open handle (for example standard output).
  /// - Parameters:
  ///   - format: the output format.
  ///   - handle: where text goes.
  /// - Throws: `SinkError` when the output cannot be written.
  public init(format: any ReportFormat, handle: FileHandle) throws(SinkError) {
    self.format = format
    self.handle = handle
    temporaryPath = nil
    finalPath = nil
    try emit(format.begin())
  }

  /// A sink writing `path` via `path.partial`.
  /// - Parameters:
  ///   - format: the output format.
  ///   - path: the final file.
  /// - Throws: `SinkError` when the file cannot be created.
  public init(format: any ReportFormat, path: String) throws(SinkError) {
    self.format = format
    let temporary = path + ".partial"
    guard FileManager.default.createFile(atPath: temporary, contents: nil),
      let handle = FileHandle(forWritingAtPath: temporary)
    else { throw SinkError(path: path, reason: "cannot create \(temporary)") }
    self.handle = handle
    temporaryPath = temporary
    finalPath = path
    try emit(format.begin())
  }

  private func emit(_ text: String) throws(SinkError) {
    guard !text.isEmpty else { return }
    do {
      try handle.write(contentsOf: Data(text.utf8))
      if temporaryPath != nil { try handle.synchronize() }
    } catch {
      throw SinkError(path: finalPath ?? "standard output", reason: "write failed: \(error)")
    }
  }

  /// Writes one record and flushes it.
  /// - Parameter record: the record.
  /// - Throws: `SinkError` when the output cannot be written.
  public func write(_ record: MetricRecord) throws(SinkError) {
    try emit(format.line(for: record, index: count))
    count += 1
  }

  /// Writes the closing text and, for a file, renames it into place.
  public func finish() throws(SinkError) {
    try emit(format.end(count: count))
    guard let temporaryPath, let finalPath else { return }
    do {
      try handle.close()
      if rename(temporaryPath, finalPath) != 0 {
        throw SinkError(
          path: finalPath,
          reason: "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
      }
    } catch let error as SinkError {
      throw error
    } catch {
      throw SinkError(path: finalPath, reason: "\(error)")
    }
  }

  /// Closes an unfinished file, leaving `FILE.partial` with the rows written so far.
  public func abandon() {
    if temporaryPath != nil { try? handle.close() }
  }

  /// The path of the unfinished file, when writing to a file.
  public var partialPath: String? { temporaryPath }
}

/// An output file that could not be written.
public struct SinkError: Error, CustomStringConvertible, Sendable {
  /// The output file.
  public var path: String
  /// What failed.
  public var reason: String

  public var description: String { "\(path): \(reason)" }
}
