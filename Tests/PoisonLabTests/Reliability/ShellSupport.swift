import Foundation

extension CLI {
  /// Runs `script` with `/bin/sh -c`, `$POISONLAB` naming the binary, in the
  /// repository root (for pipelines, `ulimit` and redirections).
  static func shell(_ script: String, in directory: String? = nil) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) } ?? root
    var environment = ProcessInfo.processInfo.environment
    environment["POISONLAB"] = binary.path
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    let out = TemporaryDirectory()
    defer { out.cleanup() }
    let stdoutPath = out.path + "/stdout"
    let stderrPath = out.path + "/stderr"
    _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
    process.standardError = FileHandle(forWritingAtPath: stderrPath)
    try process.run()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus,
      stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
  }

  /// Starts the binary without waiting; output goes to files in `directory`.
  static func start(_ arguments: [String], in directory: String) throws -> Process {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    _ = FileManager.default.createFile(atPath: directory + "/bg.out", contents: nil)
    _ = FileManager.default.createFile(atPath: directory + "/bg.err", contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: directory + "/bg.out")
    process.standardError = FileHandle(forWritingAtPath: directory + "/bg.err")
    try process.run()
    return process
  }

  /// Whether a run's status is one of the documented exit codes (no signal, no trap).
  static func documented(_ result: Result) -> Bool { (0...3).contains(result.status) }
}

/// JSON Lines without the timing fields, sorted (for comparing sweeps).
func comparableLines(_ text: String) -> [String] {
  text.split(separator: "\n").map { line in
    line.replacingOccurrences(
      of: #""(seconds|total_seconds|mean_seconds_per_round)": [0-9.eE+-]+"#, with: "",
      options: .regularExpression)
  }.sorted()
}

/// Waits until `path` exists (at most `seconds`).
func waitForFile(_ path: String, seconds: Double = 60) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if FileManager.default.fileExists(atPath: path) { return true }
    usleep(20_000)
  }
  return false
}
