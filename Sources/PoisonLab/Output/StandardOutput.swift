import Foundation
import Synchronization

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
  /// and removes `files` (unfinished outputs nobody will read). `later` is
  /// what to do instead once ``advanceInterrupt()`` is called (after the
  /// first row is written): both are prepared here, and the switch is one
  /// atomic store, so a signal on any thread sees one or the other whole.
  /// Call it once per process.
  /// - Parameters:
  ///   - message: what to say (where the finished rows are).
  ///   - files: paths to remove on the way out.
  ///   - later: the message and files after ``advanceInterrupt()``.
  public static func onInterrupt(
    _ message: String, removing files: [String] = [],
    later: (message: String, removing: [String])? = nil
  ) {
    interruptActions = [
      InterruptAction(message, removing: files),
      InterruptAction(later?.message ?? message, removing: later?.removing ?? files),
    ]
    interruptStage.store(0, ordering: .sequentiallyConsistent)
    signal(SIGINT, interruptHandler)
    signal(SIGTERM, interruptHandler)
    // A parent may have blocked them (test runners do); the user's Ctrl-C must arrive.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Switches a later interrupt to the `later` action of ``onInterrupt(_:removing:later:)``.
  public static func advanceInterrupt() {
    interruptStage.store(1, ordering: .sequentiallyConsistent)
  }

  /// Switches a later interrupt back to the first action (a failed first
  /// write removed the partial file the `later` message would name).
  public static func retreatInterrupt() {
    interruptStage.store(0, ordering: .sequentiallyConsistent)
  }

  /// Whether standard output is a terminal.
  public static var outputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
  /// Whether standard error is a terminal.
  public static var errorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

  /// Ends the process with `code` at once.
  ///
  /// Every output is written with unbuffered system calls and flushed (or
  /// fsynced) as it goes, so nothing is left to flush; skipping the
  /// libraries' exit handlers means a BLAS worker thread that cannot get
  /// memory (under a small `ulimit -v`, OpenBLAS retries its buffer
  /// allocation forever) cannot hold the exit.
  /// - Parameter code: the exit code.
  public static func terminate(_ code: Int32) -> Never {
    _exit(code)
  }

  /// Turns an abort into `message` on standard error and exit `code`.
  ///
  /// An abort (SIGABRT) is the Swift runtime's answer to a failed memory
  /// allocation, for example under `ulimit -v`; without this it dumps core.
  /// The message is prepared now; the handler only writes it. Call it once
  /// per process.
  /// - Parameters:
  ///   - message: what to say.
  ///   - code: the exit code.
  public static func onAbort(_ message: String, code: Int32) {
    abortAction = InterruptAction(message, removing: [])
    abortCode.store(code, ordering: .sequentiallyConsistent)
    signal(SIGABRT, abortHandler)
  }

  /// The position (from 1) of the first command-line argument that is not UTF-8, or nil.
  ///
  /// The arguments reach Swift decoded with U+FFFD in place of such bytes:
  /// a file name with them would name another file.
  public static var firstNonUTF8Argument: Int? {
    for index in 1..<Int(CommandLine.argc) {
      if let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil {
        return index
      }
    }
    return nil
  }

  /// Opens /dev/null on standard input, output or error when one was closed
  /// (`>&-`), so that no output file is ever given descriptor 1 or 2 and
  /// receives text meant for the terminal.
  ///
  /// It is opened read-only: a write to a closed standard output still
  /// fails (EBADF), as it would have, instead of vanishing with exit 0.
  public static func reserveStandardDescriptors() {
    for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 {
      if fd == STDOUT_FILENO { outputClosed.store(true, ordering: .relaxed) }
      _ = open("/dev/null", O_RDONLY)
    }
  }

  private static let outputClosed = Atomic<Bool>(false)

  /// Whether standard output was closed when the process started (`>&-`):
  /// a command whose records go to a file then leaves out the table it
  /// would have shown there; records meant for it fail (exit 3).
  public static var outputWasClosed: Bool { outputClosed.load(ordering: .relaxed) }

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
    // A descriptor closed at start is /dev/null read-only (see
    // ``reserveStandardDescriptors()``).
    if code == EBADF { throw .failed("it was closed when poisonlab started (EBADF)") }
    throw .failed(SystemFile.reason(code))
  }
}

/// What an interrupt does: a message and files to remove, as raw buffers
/// prepared in advance (never freed), so that the handler only calls
/// `write` and `unlink`.
private struct InterruptAction {
  let message: UnsafeMutablePointer<UInt8>
  let count: Int
  let files: UnsafeMutablePointer<UnsafeMutablePointer<CChar>>
  let fileCount: Int

  init(_ text: String, removing paths: [String]) {
    let bytes = Array(text.utf8)
    message = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
    message.initialize(from: bytes, count: bytes.count)
    count = bytes.count
    files = UnsafeMutablePointer<UnsafeMutablePointer<CChar>>.allocate(
      capacity: max(1, paths.count))
    for (k, path) in paths.enumerated() {
      let c = Array(path.utf8).map { CChar(bitPattern: $0) } + [0]
      let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: c.count)
      buffer.initialize(from: c, count: c.count)
      files[k] = buffer
    }
    fileCount = paths.count
  }
}

/// The two actions ``StandardStream/onInterrupt(_:removing:later:)`` prepared.
nonisolated(unsafe) private var interruptActions: [InterruptAction] = []
/// Which of them a signal takes (0, then 1 after the first row).
private let interruptStage = Atomic<Int>(0)

/// The message ``StandardStream/onAbort(_:code:)`` prepared, and its exit code.
nonisolated(unsafe) private var abortAction: InterruptAction?
private let abortCode = Atomic<Int32>(3)

/// Writes the prepared abort message and exits: only async-signal-safe calls.
private func abortHandler(_ signal: Int32) {
  if let action = abortAction { _ = write(STDERR_FILENO, action.message, action.count) }
  _exit(abortCode.load(ordering: .sequentiallyConsistent))
}

/// Writes the prepared message and exits: only async-signal-safe calls.
private func interruptHandler(_ signal: Int32) {
  let stage = interruptStage.load(ordering: .sequentiallyConsistent)
  if interruptActions.count == 2 {
    let action = interruptActions[stage == 0 ? 0 : 1]
    _ = write(STDERR_FILENO, action.message, action.count)
    for k in 0..<action.fileCount { _ = unlink(action.files[k]) }
  }
  _exit(128 + signal)
}
