import ArgumentParser
import PoisonLab

/// `poisonlab validate`: checks scenarios and prints them resolved.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check scenarios; print each resolved (defaults filled in) or its errors.",
    discussion: "Exit code 0 when every file is valid, 2 otherwise.")

  @Argument(help: "Scenario JSON files.")
  var scenarios: [String]

  @OptionGroup var scenarioOptions: ScenarioOptions

  func run() throws {
    var failed = false
    for file in scenarios {
      do {
        let scenario = try scenarioOptions.load(file)
        if scenarios.count > 1 { Terminal.out("# \(file): valid\n") }
        Terminal.out(scenario.resolved.serialized(indent: 2) + "\n")
      } catch {
        Terminal.error(error.description)
        failed = true
      }
    }
    if failed { throw ExitCode(Exit.invalid) }
  }
}
