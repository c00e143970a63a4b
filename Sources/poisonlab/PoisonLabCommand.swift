import ArgumentParser
import Foundation
import PoisonLab

/// The `poisonlab` command: subcommands and exit codes.
struct PoisonLabCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "poisonlab",
    abstract: "A lab for machine-learning poisoning attacks and defenses.",
    discussion: """
      Exit codes: 0 ok; 1 an `expect` threshold missed; 2 invalid scenario or usage; \
      3 runtime failure (scenario or data file missing or corrupt, divergence, I/O).

      Examples:
        poisonlab run scenarios/quickstart.json
        poisonlab guide krum
      """,
    version: "0.1.0",
    subcommands: [
      RunCommand.self, SweepCommand.self, ReportCommand.self, ValidateCommand.self,
      CheckCommand.self, ListCommand.self, GuideCommand.self,
      AggregateCommand.self, AuditCommand.self, PrivacyCommand.self, SchemaCommand.self,
      BenchCommand.self,
    ]
  )
}

/// Process exit codes.
enum Exit {
  static let expectationMissed: Int32 = 1
  static let invalid: Int32 = 2
  static let runtime: Int32 = 3
}

extension ScenarioErrors {
  /// 3 for a scenario file that cannot be read (a file error), else 2.
  var exitCode: Int32 { unreadable == nil ? Exit.invalid : Exit.runtime }
}

/// Entry point: maps every failure to the documented exit codes (ArgumentParser
/// would use 64 for usage errors; poisonlab uses 2).
@main
enum Main {
  static func main() {
    StandardStream.reportWriteErrors()
    StandardStream.reserveStandardDescriptors()
    StandardStream.onAbort(
      "poisonlab: stopped: a memory allocation failed (the run needs more memory than this "
        + "process may use; `poisonlab validate` prints the estimate, see --max-memory and "
        + "`ulimit -v`); rows completed so far are kept in the .partial output\n",
      code: Exit.runtime)
    if let index = StandardStream.firstNonUTF8Argument {
      Terminal.error(
        "poisonlab: argument \(index) (\(CommandLine.arguments[index])) is not UTF-8 text; "
          + "poisonlab reads paths and values as UTF-8 (rename the file)")
      terminate(Exit.invalid)
    }
    do {
      var command = try PoisonLabCommand.parseAsRoot()
      try command.run()
      terminate(0)
    } catch let code as ExitCode {
      terminate(code.rawValue)
    } catch {
      let message = PoisonLabCommand.fullMessage(for: error)
      if PoisonLabCommand.exitCode(for: error) == .success {  // --help, --version
        Terminal.out(message.hasSuffix("\n") ? message : message + "\n")
        terminate(0)
      }
      Terminal.error(message)
      terminate((error as? ScenarioErrors)?.exitCode ?? Exit.invalid)
    }
  }
}

/// Ends the process with `code` at once (``StandardStream/terminate(_:)``).
func terminate(_ code: Int32) -> Never {
  StandardStream.terminate(code)
}
