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
