import Foundation

/// Writing to standard output and standard error without trapping.
///
/// Foundation's `FileHandle.write(_:)` traps when the write fails (a full
/// disk behind `> file`, `/dev/full`, a closed pipe). These calls report
/// instead: a closed reader is ``StreamFailure/closed`` (a pipe to `head`,
/// which Unix tools answer by stopping quietly), any other failure is
/// ``StreamFailure/failed(_:)`` with the reason.
public enum StandardStream {
  /// Why a standard stream could not be written.
  public enum StreamFailure: Error, Equatable, Sendable {
    /// The reader went away (EPIPE).
    case closed
    /// Another failure, in plain words.
    case failed(String)
  }

  /// Ignores SIGPIPE and SIGXFSZ, so that `write` reports a closed pipe
  /// as EPIPE and a file-size limit (`ulimit -f`) as EFBIG.
  ///
  /// Call once at start; without it either signal would kill the process.
  public static func reportWriteErrors() {
    signal(SIGPIPE, SIG_IGN)
    signal(SIGXFSZ, SIG_IGN)
  }

  /// Says `message` and exits when interrupted.
  ///
  /// On Ctrl-C (SIGINT) or SIGTERM, writes `message` to standard error and
  /// exits with 128 + the signal's number (130 for Ctrl-C), the shell's
  /// convention. The message is prepared now: the handler only writes it,
  /// and removes `files` (unfinished outputs nobody will read).
  /// - Parameters:
  ///   - message: what to say (where the finished rows are).
  ///   - files: paths to remove on the way out.
  public static func onInterrupt(_ message: String, removing files: [String] = []) {
    // Not while this thread's handler could read what is being replaced.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, nil)
    // The files to remove (unfinished outputs nobody will read), as C
    // strings prepared now: the handler may only call unlink.
    interruptFiles = files.map { path in
      let bytes = Array(path.utf8) + [0]
      let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
      for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
      return UnsafePointer(buffer)
    }
    let bytes = Array(message.utf8)
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
    buffer.initialize(from: bytes, count: bytes.count)
    interruptMessage = (buffer, bytes.count)
    signal(SIGINT, interruptHandler)
    signal(SIGTERM, interruptHandler)
    // A parent may have blocked them (test runners do); the user's Ctrl-C must arrive.
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Opens /dev/null on standard input, output or error when one was closed
  /// (`>&-`), so that no output file is ever given descriptor 1 or 2 and
  /// receives text meant for the terminal.
  public static func reserveStandardDescriptors() {
    for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 {
      _ = open("/dev/null", O_RDWR)
    }
  }

  /// Writes `text` to standard output.
  /// - Parameter text: the text.
  /// - Throws: ``StreamFailure``.
  public static func out(_ text: String) throws(StreamFailure) {
    try write(text, to: STDOUT_FILENO)
  }

  /// Writes `text` to standard error; failures are ignored (there is nowhere
  /// left to report them).
  /// - Parameter text: the text.
  public static func err(_ text: String) {
    try? write(text, to: STDERR_FILENO)
  }

  private static func write(_ text: String, to fd: Int32) throws(StreamFailure) {
    var text = text
    let code = text.withUTF8 { SystemFile.writeAll(fd, $0) }
    guard let code else { return }
    if code == EPIPE { throw .closed }
    throw .failed(SystemFile.reason(code))
  }
}

/// The message ``StandardStream/onInterrupt(_:)`` prepared (never freed).
nonisolated(unsafe) private var interruptMessage:
  (pointer: UnsafeMutablePointer<UInt8>, count: Int)?
nonisolated(unsafe) private var interruptFiles: [UnsafePointer<CChar>] = []

/// Writes the prepared message and exits: only async-signal-safe calls.
private func interruptHandler(_ signal: Int32) {
  if let message = interruptMessage { _ = write(STDERR_FILENO, message.pointer, message.count) }
  for path in interruptFiles { _ = unlink(path) }
  _exit(128 + signal)
}
