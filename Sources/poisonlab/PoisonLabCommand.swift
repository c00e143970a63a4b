import ArgumentParser
import Foundation

/// The `poisonlab` command: subcommands and exit codes.
struct PoisonLabCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "poisonlab",
    abstract: "A lab for machine-learning poisoning attacks and defenses.",
    discussion: """
      Exit codes: 0 ok; 1 an `expect` threshold missed; 2 invalid scenario or usage; \
      3 runtime failure (data missing or corrupt, divergence, I/O).
      """,
    version: "0.1.0",
    subcommands: [
      RunCommand.self, SweepCommand.self, ReportCommand.self, ValidateCommand.self,
      CheckCommand.self, ListCommand.self,
      AggregateCommand.self, PrivacyCommand.self, SchemaCommand.self, BenchCommand.self,
    ]
  )
}

/// Process exit codes.
enum Exit {
  static let expectationMissed: Int32 = 1
  static let invalid: Int32 = 2
  static let runtime: Int32 = 3
}

/// Entry point: maps every failure to the documented exit codes (ArgumentParser
/// would use 64 for usage errors; poisonlab uses 2).
@main
enum Main {
  static func main() {
    do {
      var command = try PoisonLabCommand.parseAsRoot()
      try command.run()
    } catch let code as ExitCode {
      exit(code.rawValue)
    } catch {
      if PoisonLabCommand.exitCode(for: error) == .success {
        PoisonLabCommand.exit(withError: error)  // --help, --version
      }
      Terminal.error(PoisonLabCommand.fullMessage(for: error))
      exit(Exit.invalid)
    }
  }
}
