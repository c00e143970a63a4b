import ArgumentParser
import PoisonLab

/// `poisonlab schema`: the scenario format as JSON Schema.
struct SchemaCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "schema",
    abstract:
      "Print the scenario format as a JSON Schema (draft 2020-12), generated from the registry.",
    discussion: """
      Point an editor at it for autocompletion and validation, e.g. in VS Code: \
      "json.schemas": [{"fileMatch": ["scenarios/**/*.json"], "url": "./scenario.schema.json"}] \
      after `poisonlab schema > scenario.schema.json`. Rules that span blocks are checked by \
      `poisonlab validate` only.

      Example:
        poisonlab schema > scenario.schema.json
      """)

  func run() throws {
    Terminal.out(ScenarioSchema.document().serialized(indent: 2) + "\n")
  }
}
