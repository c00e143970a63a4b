import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab check`: scenarios with `expect` blocks as regression checks.
struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract:
      "Run scenarios as regression checks: one PASS/FAIL/ERROR line each, then 'N passed, N failed' (and ', N errors').",
    discussion: """
      Each scenario needs an `expect` block. A check passes when every threshold holds on the final \
      round; a scenario that is invalid, lacks `expect` or fails to run is reported as an ERROR and \
      counts as failed. --junit writes JUnit XML (one testcase per scenario) for CI systems.

      Exit codes: 0 all passed; 1 a threshold missed; 2 an invalid scenario or usage; 3 a run \
      failed (data missing, divergence, I/O). The most severe applies.

      Example:
        poisonlab check scenarios/regression/*.json --junit junit.xml
      """)

  @Argument(help: "Scenario files with expect blocks.")
  var scenarios: [String]

  @OptionGroup var scenarioOptions: ScenarioOptions

  @Option(help: "Write JUnit XML to this file.")
  var junit: String?

  @Option(help: "Worker threads per run (default: all cores).")
  var threads: Int?

  /// One scenario's outcome.
  struct Outcome {
    var file: String
    var name: String
    var status: String  // PASS, FAIL, ERROR
    var detail: String
    var seconds: Double
    var exitCode: Int32
  }

  func run() throws {
    // A reader that stops early (`check ... | head -1`) must not turn a failed check into exit 0.
    Terminal.outlivesReader = true
    var outcomes: [Outcome] = []
    let budget = try scenarioOptions.budget()
    let threads = try Threads.resolve(self.threads)
    // Each scenario read once (a pipe cannot be read twice). The data may
    // not be the JUnit file either, also that of a scenario that does not
    // validate (its files read from its JSON; its check reports why).
    var loaded: [Result<Scenario, ScenarioErrors>] = []
    var dataFiles: [String] = []
    for file in scenarios {
      do {
        let text = try ScenarioLoader.readText(file)
        do {
          let scenario = try scenarioOptions.load(file, text: text)
          loaded.append(.success(scenario))
          dataFiles += scenario.dataset.inputFiles
        } catch {
          loaded.append(.failure(error))
          dataFiles += ScenarioLoader.namedDatasetFiles(text: text, file: file)
        }
      } catch {
        loaded.append(.failure(error))
      }
    }
    try checkDistinct(
      scenarios.map { ("a scenario", $0) } + datasetInputs(dataFiles) + [("--junit", junit)])
    try checkOutput(junit)
    // Locked now: a second writer is refused before the checks run.
    let junitFile = try junit.map { try ReservedOutput($0) }
    for (file, scenario) in zip(scenarios, loaded) {
      let outcome = check(file, scenario, budget: budget, threads: threads)
      let line =
        "\(outcome.status.padding(toLength: 5, withPad: " ", startingAt: 0)) \(file)  \(outcome.detail)"
      Terminal.out(line + String(format: "  (%.1f s)\n", outcome.seconds))
      outcomes.append(outcome)
    }
    // FAIL is a missed threshold, ERROR a scenario that could not be checked.
    let passed = outcomes.filter { $0.status == "PASS" }.count
    let failed = outcomes.filter { $0.status == "FAIL" }.count
    let errors = outcomes.count - passed - failed
    Terminal.out(
      "\(passed) passed, \(failed) failed"
        + (errors > 0 ? ", \(errors) error\(errors == 1 ? "" : "s")" : "") + "\n")
    if let junitFile {
      try junitFile.finish(Array(Self.junit(outcomes).utf8))
    }
    let codes = outcomes.map(\.exitCode)
    if codes.contains(Exit.invalid) { throw ExitCode(Exit.invalid) }
    if codes.contains(Exit.runtime) { throw ExitCode(Exit.runtime) }
    if codes.contains(Exit.expectationMissed) { throw ExitCode(Exit.expectationMissed) }
  }

  private func check(
    _ file: String, _ loaded: Result<Scenario, ScenarioErrors>, budget: MemoryBudget, threads: Int
  ) -> Outcome {
    let clock = ContinuousClock()
    let start = clock.now
    func seconds() -> Double { (clock.now - start).inSeconds }
    let scenario: Scenario
    do {
      scenario = try loaded.get()
    } catch {
      if let unreadable = error.unreadable {
        return Outcome(
          file: file, name: file, status: "ERROR", detail: "cannot read the file: \(unreadable)",
          seconds: seconds(), exitCode: Exit.runtime)
      }
      let first = error.errors.first?.description ?? "invalid"
      return Outcome(
        file: file, name: file, status: "ERROR", detail: "invalid scenario: \(first)",
        seconds: seconds(), exitCode: Exit.invalid)
    }
    guard scenario.sweep.isEmpty else {
      return Outcome(
        file: file, name: scenario.name, status: "ERROR",
        detail:
          "the scenario has a sweep block: check runs one scenario; run the sweep with `poisonlab sweep` (each run's summary records expect_passed), or drop the block with --set sweep=null",
        seconds: seconds(), exitCode: Exit.invalid)
    }
    guard !scenario.expectations.isEmpty else {
      return Outcome(
        file: file, name: scenario.name, status: "ERROR",
        detail: "no expect block: nothing to check", seconds: seconds(),
        exitCode: Exit.invalid)
    }
    let summary: MetricRecord
    do {
      let experiment = Experiment(scenario: scenario, threads: threads, memoryBudget: budget)
      try experiment.preflight(budget: budget)
      summary = try experiment.run { _ in }
    } catch {
      return Outcome(
        file: file, name: scenario.name, status: "ERROR", detail: "\(error)", seconds: seconds(),
        exitCode: error.exitCode)
    }
    let parts = scenario.expectations.map { e -> String in
      let value =
        summary.metric(e.metric).map { JSONValue.format((($0 * 1e4).rounded()) / 1e4) } ?? "null"
      let bounds = [
        e.min.map { ">= \(JSONValue.format($0))" }, e.max.map { "<= \(JSONValue.format($0))" },
      ].compactMap { $0 }
      return "\(e.metric) \(value) \(bounds.joined(separator: " and "))"
        + (e.miss(summary.metric(e.metric), monitored: scenario.safeguards.monitor != nil) == nil
          ? "" : " MISSED")
    }
    let passed = summary.totals?.expectPassed == true
    return Outcome(
      file: file, name: scenario.name, status: passed ? "PASS" : "FAIL",
      detail: parts.joined(separator: "; "),
      seconds: seconds(), exitCode: passed ? 0 : Exit.expectationMissed)
  }

  /// JUnit XML: one testsuite, one testcase per scenario; misses are failures, others errors.
  static func junit(_ outcomes: [Outcome]) -> String {
    func escape(_ s: String) -> String { XMLText.escape(s) }
    let failures = outcomes.filter { $0.status == "FAIL" }.count
    let errors = outcomes.filter { $0.status == "ERROR" }.count
    let total = outcomes.reduce(0) { $0 + $1.seconds }
    var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    xml +=
      "<testsuites tests=\"\(outcomes.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(String(format: "%.3f", total))\">\n"
    xml +=
      "  <testsuite name=\"poisonlab check\" tests=\"\(outcomes.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(String(format: "%.3f", total))\">\n"
    for o in outcomes {
      xml +=
        "    <testcase classname=\"\(escape(o.file))\" name=\"\(escape(o.name))\" time=\"\(String(format: "%.3f", o.seconds))\""
      switch o.status {
      case "PASS":
        xml += ">\n      <system-out>\(escape(o.detail))</system-out>\n    </testcase>\n"
      case "FAIL":
        xml +=
          ">\n      <failure message=\"\(escape(o.detail))\" type=\"expectation\">\(escape(o.detail))</failure>\n    </testcase>\n"
      default:
        xml +=
          ">\n      <error message=\"\(escape(o.detail))\" type=\"exit \(o.exitCode)\">\(escape(o.detail))</error>\n    </testcase>\n"
      }
    }
    return xml + "  </testsuite>\n</testsuites>\n"
  }
}
