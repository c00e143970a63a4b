import ArgumentParser
import Foundation
import PoisonLab

/// `--set` and `--seed`, shared by the commands that read scenarios.
struct ScenarioOptions: ParsableArguments {
  @Option(
    name: .customLong("set"),
    help: ArgumentHelp(
      "Override a scenario value with a JSON value (a bare word is a string).",
      valueName: "path=value"))
  var overrides: [String] = []

  @Option(
    parsing: .unconditional,
    help: ArgumentHelp("Replace the scenario's seed (0 to 2^53-1).", valueName: "seed"))
  var seed: String?

  @Option(
    help: ArgumentHelp(
      "Refuse runs whose estimated peak memory exceeds this (16G, 800M; default: 80% of memory).",
      valueName: "size"))
  var maxMemory: String?

  /// Loads and validates `file` with the overrides applied.
  /// - Parameters:
  ///   - file: the scenario file.
  ///   - before: assignments applied before `--set`, which can refine them
  ///     (`audit`'s `--method` block, then `--set audit.epochs=2`).
  ///   - extra: assignments applied after `--set` (for example `expect=null`).
  ///   - text: the file's text when already read (a pipe is read once).
  /// - Returns: the validated scenario.
  /// - Throws: `ScenarioErrors` listing every problem.
  func load(_ file: String, before: [String] = [], extra: [String] = [], text: String? = nil)
    throws(ScenarioErrors) -> Scenario
  {
    var seedValue: UInt64?
    if let seed {
      guard let value = UInt64(seed), value <= ScenarioLoader.maxSeed else {
        throw ScenarioErrors(
          source: "--seed",
          errors: [
            ScenarioError(
              JSONPath.root.appending("seed"),
              "must be a whole number from 0 to \(ScenarioLoader.maxSeed), got \(seed)")
          ])
      }
      seedValue = value
    }
    guard let text else {
      return try ScenarioLoader.load(
        file: file, overrides: before + overrides + extra, seed: seedValue)
    }
    return try ScenarioLoader.decode(
      text, source: file, baseDirectory: ScenarioLoader.baseDirectory(of: file),
      overrides: before + overrides + extra, seed: seedValue)
  }
}

extension ScenarioOptions {
  /// The memory budget of `--max-memory`.
  /// - Throws: `ExitCode(2)` for a malformed size.
  func budget() throws -> MemoryBudget { try memoryBudget(maxMemory) }

  /// Runs the checks `validate` and `run` share (see ``Experiment/preflight(budget:)``).
  /// - Returns: the memory estimate, or nil when the dataset's size is only known after loading.
  /// - Throws: `ExitCode(2)` after printing the problems.
  @discardableResult
  func preflight(_ scenario: Scenario, threads: Int) throws -> MemoryEstimate? {
    let budget = try budget()
    do {
      return try Experiment(scenario: scenario, threads: threads).preflight(budget: budget)
    } catch {
      Terminal.error(error.description)
      throw ExitCode(error.exitCode)
    }
  }
}

/// `--threads`: all cores by default, capped at a multiple of them.
enum Threads {
  /// The threads for a `--threads` value; says so on standard error when capped.
  /// - Throws: `ExitCode(2)` for a value below 1.
  static func resolve(_ requested: Int?) throws -> Int {
    if let requested, requested < 1 {
      Terminal.error("poisonlab: --threads must be at least 1, got \(requested)")
      throw ExitCode(Exit.invalid)
    }
    let (threads, note) = ThreadCount.resolve(
      requested, cores: ProcessInfo.processInfo.activeProcessorCount)
    if let note { Terminal.error("poisonlab: \(note)") }
    return threads
  }
}

/// The memory budget of a `--max-memory` value (nil: 80% of memory, or the `ulimit -v`).
/// - Parameter value: the option's value.
/// - Returns: the budget.
/// - Throws: `ExitCode(2)` for a malformed size, after saying so.
func memoryBudget(_ value: String?) throws -> MemoryBudget {
  guard let budget = MemoryBudget.resolve(value) else {
    Terminal.error(
      "poisonlab: --max-memory \(value ?? ""): expected a positive size like 16G, 800M or 1.5G")
    throw ExitCode(Exit.invalid)
  }
  return budget
}
