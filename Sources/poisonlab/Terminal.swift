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
