import Foundation
@_exported import PoisonLab

/// Helpers shared by the fuzz targets.
public enum Fuzz {
  /// The input as text (invalid UTF-8 replaced, as a file read would be refused earlier).
  public static func text(_ start: UnsafeRawPointer, _ count: Int) -> String {
    String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
  }

  /// The input as bytes.
  public static func bytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: start, count: count))
  }

  /// Writes the input to this process's scratch file (in /dev/shm when it
  /// exists) and returns its path.
  public static func file(_ bytes: [UInt8], suffix: String) -> String {
    let folder =
      FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(folder)/poisonlab-fuzz-\(getpid())\(suffix)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
  }

  /// A memory budget for the checks run after loading (1 GiB).
  public static let budget = MemoryBudget(bytes: 1 << 30, source: "the fuzzer")

  /// Validates `text` as a scenario, then runs the pre-run checks.
  ///
  /// The checks `run` makes before work (estimate included) run on valid
  /// synthetic scenarios; datasets read from files are skipped, since a
  /// fuzzed path may name a device.
  public static func load(_ text: String, overrides: [String] = []) {
    guard
      let scenario = try? ScenarioLoader.decode(
        text, source: "fuzz", baseDirectory: "/nonexistent", overrides: overrides)
    else { return }
    guard case .string(let name)? = scenario.datasetParameters["name"] ?? .null,
      name == "synthetic"
    else { return }
    _ = try? Experiment(scenario: scenario, threads: 2).preflight(budget: budget)
  }
}
