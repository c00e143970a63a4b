import Foundation

/// Standard streams and terminal detection.
enum Terminal {
  /// Whether standard output is a terminal.
  static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) != 0 }
  /// Whether standard error is a terminal.
  static var stderrIsTTY: Bool { isatty(STDERR_FILENO) != 0 }

  /// Writes `text` and a newline to standard error.
  static func error(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }

  /// Writes `text` to standard output, unbuffered.
  static func out(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }
}

/// Writes `data` to `path` through `path.partial` and a rename, so a reader
/// never sees a half-written file.
/// - Parameters:
///   - data: the contents.
///   - path: the final file.
/// - Returns: false (after saying why on standard error) when it cannot be written.
@discardableResult
func writeAtomically(_ data: Data, to path: String) -> Bool {
  let temporary = path + ".partial"
  guard FileManager.default.createFile(atPath: temporary, contents: data),
    rename(temporary, path) == 0
  else {
    Terminal.error("poisonlab: cannot write \(path)")
    return false
  }
  return true
}
