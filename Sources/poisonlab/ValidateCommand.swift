import ArgumentParser
import PoisonLab

/// `poisonlab validate`: checks scenarios and prints them resolved.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check scenarios; print each resolved (defaults filled in) or its errors.",
    discussion: """
      Runs every check `poisonlab run` makes before it starts: the schema, the plug-ins' rules, the \
      model against the dataset's shape, the parameter and batch-buffer caps, and the estimated peak \
      memory against --max-memory (printed on standard error as "memory: ..."; the resolved \
      scenario goes to standard output).

      Exit code 0 when every file is valid, 2 otherwise.

      Example:
        poisonlab validate scenarios/*.json --set training.rounds=2
      """)

  @Argument(help: "Scenario JSON files.")
  var scenarios: [String]

  @OptionGroup var scenarioOptions: ScenarioOptions

  @Option(help: "Worker threads the estimate assumes (default: all cores), as for run.")
  var threads: Int?

  func run() throws {
    var failed = false
    var unreadable = false
    let threads = try Threads.resolve(self.threads)
    for file in scenarios {
      do {
        let scenario = try scenarioOptions.load(file)
        do {
          let estimate = try scenarioOptions.preflight(scenario, threads: threads)
          Terminal.error(
            "\(file): memory: "
              + (estimate.map { "estimated peak \($0.summary()) with \(threads) thread(s)" }
                ?? "estimated after loading (the dataset's size is not known before)"))
        } catch {
          failed = true
          continue
        }
        if scenarios.count > 1 { Terminal.out("# \(file): valid\n") }
        Terminal.out(scenario.resolved.serialized(indent: 2) + "\n")
      } catch {
        Terminal.error(error.description)
        if error.exitCode == Exit.invalid { failed = true } else { unreadable = true }
      }
    }
    if failed { throw ExitCode(Exit.invalid) }
    if unreadable { throw ExitCode(Exit.runtime) }
  }
}
