import Foundation

/// A file written through `FILE.partial` and renamed over `FILE` when
/// complete, so that a reader never sees a half-written `FILE`.
///
/// Guarantees (each proved by `Tests/PoisonLabTests/Output/`):
/// - Only a regular file, or a missing path, is replaced. A device node,
///   FIFO, socket, directory or symbolic link at `FILE` (or at
///   `FILE.partial`) is refused before anything is written
///   (``OutputPath/check(_:)``).
/// - `FILE.partial` and an existing `FILE` are held under an exclusive
///   `flock` from opening to the rename, so a second writer of the same
///   output fails at once instead of interleaving rows.
/// - Every write and the final `fsync` report failures (a full disk,
///   permissions) as a ``SinkError`` naming the file and the reason.
public final class AtomicFile {
  /// The final path.
  public let path: String
  /// The temporary path (`path.partial`).
  public let partialPath: String
  private let partial: SystemFile
  private var target: SystemFile?

  /// Checks `path`, locks it (when it exists), and creates its partial
  /// file anew, locked (a stale one is removed, never written through).
  /// - Parameter path: the final file.
  /// - Throws: `SinkError` when the path is not replaceable, locked, or unwritable.
  public init(path: String) throws(SinkError) {
    try OutputPath.check(path)
    self.path = path
    partialPath = path + ".partial"
    target = try SystemFile.lockExisting(path, shown: path)
    partial = try SystemFile.createLocked(partialPath, shown: path)
  }

  /// Appends bytes to the partial file.
  /// - Parameter bytes: the bytes.
  /// - Throws: `SinkError` naming the partial file and the reason.
  public func write(_ bytes: some Collection<UInt8>) throws(SinkError) {
    try partial.write(bytes)
  }

  /// Appends text to the partial file.
  /// - Parameter text: the text.
  /// - Throws: `SinkError` naming the partial file and the reason.
  public func write(_ text: String) throws(SinkError) { try partial.write(text) }

  /// Flushes the partial file to the device.
  /// - Throws: `SinkError` naming the partial file and the reason.
  public func sync() throws(SinkError) { try partial.sync() }

  /// Flushes, renames `FILE.partial` to `FILE`, and releases the locks.
  /// - Throws: `SinkError` when the flush or the rename fails (the partial file stays).
  public func commit() throws(SinkError) {
    try partial.sync()
    try SystemFile.rename(partialPath, to: path)
    partial.close()
    target?.close()
    target = nil
  }

  /// Releases the locks and leaves `FILE.partial` with what was written.
  public func abandon() {
    partial.close()
    target?.close()
    target = nil
  }

  /// Releases the locks and removes `FILE.partial`.
  public func discard() {
    SystemFile.remove(partialPath)
    abandon()
  }

  /// Writes a whole file atomically; on failure nothing is left behind.
  /// - Parameters:
  ///   - bytes: the contents.
  ///   - path: the final file.
  /// - Throws: `SinkError` naming the file and the reason.
  public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(SinkError) {
    try AtomicFile(path: path).finish(bytes)
  }

  /// Writes the whole contents and renames the file into place; on failure
  /// the partial file is removed.
  /// - Parameter bytes: the contents.
  /// - Throws: `SinkError` naming the file and the reason.
  public func finish(_ bytes: some Collection<UInt8>) throws(SinkError) {
    do {
      try write(bytes)
      try commit()
    } catch {
      discard()
      throw error
    }
  }

  /// Writes a whole text file atomically; on failure nothing is left behind.
  /// - Parameters:
  ///   - text: the contents (UTF-8).
  ///   - path: the final file.
  /// - Throws: `SinkError` naming the file and the reason.
  public static func write(_ text: String, to path: String) throws(SinkError) {
    try write(Array(text.utf8), to: path)
  }
}

/// Checks on output paths, made before any work starts.
public enum OutputPath {
  /// The file `path` names: its folder with links resolved, and the target of
  /// a symbolic link (an input named through a link is its target), so that
  /// two names of one file compare equal.
  /// - Parameter path: a file path.
  /// - Returns: the resolved path.
  public static func resolved(_ path: String) -> String {
    let folder = URL(fileURLWithPath: folder(of: path)).standardizedFileURL
      .resolvingSymlinksInPath().path
    let key = folder + "/" + (path.split(separator: "/").last.map(String.init) ?? path)
    guard (try? SystemFile.kind(of: key)) == .some(.symbolicLink) else { return key }
    return URL(fileURLWithPath: key).resolvingSymlinksInPath().path
  }

  /// Whether `partial` is a regular file that no other process holds and
  /// that holds at least one row (a JSON object, or a CSV line after the
  /// header): the rows of a run that did not finish, which a new run must
  /// not delete silently.
  /// - Parameter partial: an output's `.partial` file.
  /// - Returns: whether it holds an unfinished run's rows.
  public static func holdsUnfinishedRows(_ partial: String) -> Bool {
    guard (try? SystemFile.kind(of: partial)) == .some(.regular),
      let handle = FileHandle(forReadingAtPath: partial)
    else { return false }
    let head = (try? handle.read(upToCount: 1 << 16)) ?? Data()
    try? handle.close()
    // A header or an opening bracket alone is not a row.
    let text = String(decoding: head, as: UTF8.self)
    let lines = TextLines.split(text).filter { !$0.allSatisfy(\.isWhitespace) }
    guard text.contains("{") || lines.count > 1 else { return false }
    // Locked: a run is writing it, which the output's own lock reports.
    guard let unheld = try? SystemFile.lockExisting(partial) else { return false }
    unheld.close()
    return true
  }

  /// `-` names standard output.
  /// - Parameter path: an output option's value.
  /// - Returns: whether it means standard output.
  public static func isStandardOutput(_ path: String) -> Bool { path == "-" }

  /// Refuses an output path that poisonlab must not replace: anything but a
  /// regular file or a missing path, at `path` or at `path.partial`, and a
  /// path whose folder does not exist.
  /// - Parameters:
  ///   - path: the output file.
  ///   - streamable: whether the option takes `-` (standard output), which
  ///     the message then suggests for a device or a FIFO.
  /// - Throws: `SinkError` saying what the path is and what to do instead.
  public static func check(_ path: String, streamable: Bool = true) throws(SinkError) {
    guard !path.isEmpty else { throw SinkError(path: "\"\"", reason: "an empty output path") }
    for candidate in [path, path + ".partial"] {
      guard let kind = try SystemFile.kind(of: candidate), kind != .regular else { continue }
      let hint =
        streamable && candidate == path && kind != .directory && kind != .symbolicLink
        ? "; to write there, use `-` (standard output) and redirect it" : ""
      throw SinkError(
        path: candidate,
        reason:
          "is \(kind.rawValue); poisonlab replaces only regular files (atomically, through a rename)\(hint)"
      )
    }
    let folder = folder(of: path)
    switch try SystemFile.kind(of: folder) {
    case .directory?: return
    case nil:
      throw SinkError(path: path, reason: "the folder \(folder) does not exist")
    case .symbolicLink?:
      // A link to a folder is a folder for writing purposes; resolve it.
      var isFolder: Bool = false
      if let resolved = try? SystemFile.kind(of: folder + "/.") {
        isFolder = resolved == .directory
      }
      if !isFolder { throw SinkError(path: path, reason: "\(folder) is not a folder") }
    case let other?:
      throw SinkError(path: path, reason: "\(folder) is \(other.rawValue), not a folder")
    }
  }

  /// The folder part of `path` (`.` for a bare name).
  /// - Parameter path: a file path.
  /// - Returns: its folder.
  public static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let folder = String(path[..<slash])
    return folder.isEmpty ? "/" : folder
  }
}

/// An output locked when a command starts and written when its work ends
/// (`run --save-model`): a second writer, or a folder that cannot take the
/// file, is refused before any work instead of after it.
///
/// Written at most once; the lock lives in the process, so the reference is
/// shared by the value types that carry it (its methods are serialised).
public final class ReservedFile: @unchecked Sendable, Equatable {
  /// The final path.
  public let path: String
  private let lock = NSLock()
  private var file: AtomicFile?

  /// Locks `path` and creates its partial file.
  /// - Parameter path: the final file.
  /// - Throws: `SinkError` when the path is not replaceable, locked, or unwritable.
  public init(path: String) throws(SinkError) {
    self.path = path
    file = try AtomicFile(path: path)
  }

  /// A reservation dropped unwritten leaves nothing behind.
  deinit { file?.discard() }

  /// Writes the contents and renames the file into place; on failure the
  /// partial file is removed.
  /// - Parameter bytes: the whole contents.
  /// - Throws: `SinkError` naming the file and the reason, or when it was already written.
  public func finish(_ bytes: [UInt8]) throws(SinkError) {
    lock.lock()
    defer { lock.unlock() }
    guard let file else {
      throw SinkError(path: path, reason: "was already written or given up by this run")
    }
    self.file = nil
    try file.finish(bytes)
  }

  /// Releases the lock and removes the unwritten partial file.
  public func cancel() {
    lock.lock()
    defer { lock.unlock() }
    file?.discard()
    file = nil
  }

  public static func == (a: ReservedFile, b: ReservedFile) -> Bool { a === b }
}
