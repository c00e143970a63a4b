import Foundation

/// An open file descriptor for output, with every POSIX call poisonlab makes
/// on output files: `open` without following a final symbolic link, an
/// exclusive non-blocking `flock`, complete writes, `fsync`, `rename`.
///
/// Errors never carry Foundation's error text: they name the file and say the
/// operating system's reason in plain words with its symbol, for example
/// `No space left on device (ENOSPC)`.
public final class SystemFile {
  /// The path opened, for messages (``renamed(to:)`` moves it).
  public private(set) var path: String

  /// Records that the file was renamed to `path` (for later messages).
  /// - Parameter path: its new name.
  public func renamed(to path: String) { self.path = path }
  private var descriptor: Int32

  private init(path: String, descriptor: Int32) {
    self.path = path
    self.descriptor = descriptor
  }

  deinit { close() }

  /// Opens `path` for writing (created with mode 0666 less the umask when
  /// missing, never truncated here) and takes an exclusive lock on it.
  /// - Parameters:
  ///   - path: the file.
  ///   - append: whether every write goes to the end.
  ///   - shown: the output the user named, for messages (defaults to `path`).
  /// - Throws: `SinkError` when it cannot be opened or another process holds the lock.
  /// - Returns: the locked file.
  public static func openLocked(
    _ path: String, append: Bool = false, shown: String? = nil
  ) throws(SinkError) -> SystemFile {
    var flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC
    if append { flags |= O_APPEND }
    let fd = open(path, flags, 0o666)
    guard fd >= 0 else { throw SinkError(path: path, reason: "cannot open: \(Self.reason(errno))") }
    let file = SystemFile(path: path, descriptor: fd)
    try file.lock(shown: shown ?? path)
    return file
  }

  /// Creates `path` anew and locks it: a file already there (a stale
  /// partial file, or a hard link to something else) is never written
  /// through; it is locked (refused when another process holds it) and
  /// removed first, and the new file is created exclusively.
  /// - Parameters:
  ///   - path: the file (a temporary `.partial` path).
  ///   - shown: the output the user named, for messages.
  /// - Throws: `SinkError` when another process holds it or it cannot be created.
  /// - Returns: the new, empty, locked file.
  public static func createLocked(_ path: String, shown: String) throws(SinkError) -> SystemFile {
    let stale = try lockExisting(path, shown: shown)
    defer { stale?.close() }
    if stale != nil { remove(path) }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
    guard fd >= 0 else {
      let code = errno
      if code == EEXIST { throw busy(shown, "it created \(path) a moment ago") }
      throw SinkError(path: path, reason: "cannot create: \(Self.reason(code))")
    }
    let file = SystemFile(path: path, descriptor: fd)
    try file.lock(shown: shown)
    return file
  }

  /// Locks an existing file without writing to it (the target an atomic
  /// rename will replace), or returns nil when `path` does not exist.
  /// - Parameters:
  ///   - path: the file.
  ///   - shown: the output the user named, for messages.
  /// - Throws: `SinkError` when another process holds the lock.
  /// - Returns: the locked file, or nil when there is no file.
  public static func lockExisting(_ path: String, shown: String? = nil) throws(SinkError)
    -> SystemFile?
  {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ENOENT { return nil }
      throw SinkError(path: path, reason: "cannot open: \(Self.reason(errno))")
    }
    let file = SystemFile(path: path, descriptor: fd)
    try file.lock(shown: shown ?? path)
    return file
  }

  /// Locks a folder that a run writes files into (checkpoints, update
  /// exports, audit pictures), so that a second run writing there is refused
  /// at once; a symbolic link to a folder is followed.
  /// - Parameters:
  ///   - path: the folder.
  ///   - shown: the option and folder the user named, for messages.
  /// - Throws: `SinkError` when it is not a folder or another process holds the lock.
  /// - Returns: the locked folder (locked until closed).
  public static func lockFolder(_ path: String, shown: String) throws(SinkError) -> SystemFile {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else {
      throw SinkError(path: shown, reason: "cannot open: \(Self.reason(errno))")
    }
    let file = SystemFile(path: path, descriptor: fd)
    try file.lock(shown: shown)
    return file
  }

  /// Checks that files can be created in `folder`: creates and removes a
  /// probe file (`.poisonlab-probe-PID`), so that a folder the run cannot
  /// write is reported before any work instead of after it.
  /// - Parameters:
  ///   - folder: the folder.
  ///   - shown: the option and folder the user named, for messages.
  /// - Throws: `SinkError` with the operating system's reason.
  public static func probeWritable(_ folder: String, shown: String) throws(SinkError) {
    let probe = folder + "/.poisonlab-probe-\(getpid())"
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw SinkError(path: shown, reason: "cannot create files there: \(Self.reason(errno))")
    }
    _ = Glibc.close(fd)
    _ = unlink(probe)
  }

  private func lock(shown: String) throws(SinkError) {
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let code = errno
      close()
      if code == EWOULDBLOCK { throw Self.busy(shown, "it holds an exclusive lock on \(path)") }
      throw SinkError(path: shown, reason: "cannot lock \(path): \(Self.reason(code))")
    }
  }

  /// The error for an output another process is writing.
  static func busy(_ shown: String, _ evidence: String) -> SinkError {
    SinkError(
      path: shown,
      reason:
        "another poisonlab process is writing it (\(evidence)); "
        + "wait for it to finish or choose another output file")
  }

  /// Writes all of `bytes`, retrying short writes and interrupted calls.
  /// - Parameter bytes: the bytes.
  /// - Throws: `SinkError` with the operating system's reason.
  public func write(_ bytes: some Collection<UInt8>) throws(SinkError) {
    let code: Int32? =
      bytes.withContiguousStorageIfAvailable { buffer in
        Self.writeAll(descriptor, buffer)
      } ?? Array(bytes).withUnsafeBufferPointer { Self.writeAll(descriptor, $0) }
    if let code { throw SinkError(path: path, reason: "cannot write: \(Self.reason(code))") }
  }

  /// Writes `text` as UTF-8.
  /// - Parameter text: the text.
  /// - Throws: `SinkError` with the operating system's reason.
  public func write(_ text: String) throws(SinkError) {
    var text = text
    let code = text.withUTF8 { Self.writeAll(descriptor, $0) }
    if let code { throw SinkError(path: path, reason: "cannot write: \(Self.reason(code))") }
  }

  /// Writes a whole buffer to `fd`; returns the errno of a failure, or nil.
  static func writeAll(_ fd: Int32, _ buffer: UnsafeBufferPointer<UInt8>) -> Int32? {
    guard var next = buffer.baseAddress else { return nil }
    var left = buffer.count
    while left > 0 {
      let written = Glibc.write(fd, next, left)
      if written < 0 {
        if errno == EINTR { continue }
        return errno
      }
      if written == 0 { return EIO }
      next += written
      left -= written
    }
    return nil
  }

  /// Flushes the file to the device (`fsync`): a full or failing disk is
  /// reported here at the latest.
  /// - Throws: `SinkError` with the operating system's reason.
  public func sync() throws(SinkError) {
    guard fsync(descriptor) == 0 || errno == EINVAL || errno == EROFS else {
      throw SinkError(path: path, reason: "cannot write: \(Self.reason(errno))")
    }
  }

  /// Cuts the file to `size` bytes.
  /// - Parameter size: the new length.
  /// - Throws: `SinkError` with the operating system's reason.
  public func truncate(to size: Int = 0) throws(SinkError) {
    guard ftruncate(descriptor, off_t(size)) == 0 else {
      throw SinkError(path: path, reason: "cannot truncate: \(Self.reason(errno))")
    }
  }

  /// Closes the descriptor (releasing the lock); safe to call twice.
  public func close() {
    if descriptor >= 0 { _ = Glibc.close(descriptor) }
    descriptor = -1
  }

  /// Renames `from` to `to` (atomic on one file system).
  /// - Parameters:
  ///   - from: the finished temporary file.
  ///   - to: the final path.
  /// - Throws: `SinkError` naming `to`.
  public static func rename(_ from: String, to: String) throws(SinkError) {
    guard Glibc.rename(from, to) == 0 else {
      throw SinkError(path: to, reason: "cannot rename \(from) into place: \(reason(errno))")
    }
  }

  /// Removes `path`, ignoring a missing file.
  /// - Parameter path: the file.
  public static func remove(_ path: String) { _ = unlink(path) }

  /// The kind of file at `path` without following a final symbolic link
  /// (or, with `followingLinks`, of what it leads to), or nil when nothing
  /// is there; throws for other lookup failures.
  /// - Parameters:
  ///   - path: the path.
  ///   - followingLinks: follow symbolic links (what a reader opens).
  /// - Throws: `SinkError` with the operating system's reason (for example a
  ///   missing folder or permission denied).
  /// - Returns: the kind, or nil when `path` does not exist.
  public static func kind(of path: String, followingLinks: Bool = false) throws(SinkError)
    -> FileKind?
  {
    var info = stat()
    guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else {
      if errno == ENOENT { return nil }
      throw SinkError(path: path, reason: reason(errno))
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return .regular
    case S_IFDIR: return .directory
    case S_IFLNK: return .symbolicLink
    case S_IFCHR: return .characterDevice
    case S_IFBLK: return .blockDevice
    case S_IFIFO: return .fifo
    case S_IFSOCK: return .socket
    default: return .other
    }
  }

  /// An errno in plain words with its symbol: `No space left on device (ENOSPC)`.
  /// - Parameter code: the errno value.
  /// - Returns: the text.
  public static func reason(_ code: Int32) -> String {
    let words = String(cString: strerror(code))
    let symbols: [Int32: String] = [
      ENOSPC: "ENOSPC", EACCES: "EACCES", EPERM: "EPERM", EROFS: "EROFS", EDQUOT: "EDQUOT",
      EIO: "EIO", EPIPE: "EPIPE", ENOENT: "ENOENT", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
      ELOOP: "ELOOP", EFBIG: "EFBIG", EEXIST: "EEXIST", EBADF: "EBADF", ENXIO: "ENXIO",
      EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EMFILE: "EMFILE", ENAMETOOLONG: "ENAMETOOLONG",
    ]
    return symbols[code].map { "\(words) (\($0))" } ?? words
  }
}

/// What a path names, as `lstat` sees it.
public enum FileKind: String, Sendable {
  case regular = "a regular file"
  case directory = "a directory"
  case symbolicLink = "a symbolic link"
  case characterDevice = "a character device"
  case blockDevice = "a block device"
  case fifo = "a FIFO (named pipe)"
  case socket = "a socket"
  case other = "not a regular file"
}
