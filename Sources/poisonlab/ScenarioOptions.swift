import ArgumentParser
import PoisonLab

/// `--set` and `--seed`, shared by the commands that read scenarios.
struct ScenarioOptions: ParsableArguments {
  @Option(
    name: .customLong("set"),
    help: ArgumentHelp(
      "Override a scenario value with a JSON value (a bare word is a string).",
      valueName: "path=value"))
  var overrides: [String] = []

  @Option(help: "Replace the scenario's seed.")
  var seed: UInt64?

  /// Loads and validates `file` with the overrides applied.
  /// - Parameter file: the scenario file.
  /// - Returns: the validated scenario.
  /// - Throws: `ScenarioErrors` listing every problem.
  func load(_ file: String) throws(ScenarioErrors) -> Scenario {
    try ScenarioLoader.load(file: file, overrides: overrides, seed: seed)
  }
}
