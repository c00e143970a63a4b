import Foundation
import PoisonLab
import Testing

/// Keeps docs/scenarios.md and the README in step with the registry.
@Suite("Documentation in step with the code")
struct DocsTests {
  static func read(_ relative: String) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    return try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
  }

  @Test("docs/scenarios.md documents every plug-in and every key")
  func scenarioReference() throws {
    let docs = try Self.read("docs/scenarios.md")
    for family in PluginFamily.allCases {
      for d in Registry.descriptors(family) {
        #expect(docs.contains("`\(d.name)`"), "\(family) \(d.name) is not documented")
        func keys(_ specs: [ParameterSpec], _ prefix: String) {
          for spec in specs {
            #expect(
              docs.contains("`\(prefix)\(spec.key)`"),
              "\(d.name).\(prefix)\(spec.key) is not documented")
            if case .object(let nested) = spec.type { keys(nested, prefix + spec.key + ".") }
          }
        }
        keys(d.parameters, "")
      }
    }
    for spec in ScenarioLoader.topLevel + ScenarioLoader.trainingKeys {
      #expect(docs.contains("`\(spec.key)`"), "\(spec.key) is not documented")
    }
    for metric in MetricRecord.metricNames { #expect(docs.contains("`\(metric)`")) }
  }

  @Test("the README gives the two set-up commands and every exit code")
  func readme() throws {
    let readme = try Self.read("README.md")
    #expect(readme.contains("make demo"))
    #expect(readme.contains("make test"))
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] { #expect(readme.contains(code)) }
    for d in Registry.descriptors(.datasets) { #expect(readme.contains("`\(d.name)`")) }
  }
}
