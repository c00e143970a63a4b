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
    for column in MetricRecord.columns { #expect(docs.contains("`\(column)`"), "\(column)") }
    let guide = try Self.read("docs/guides/channel.md")
    for spec in ChannelSettings.keys + SecureAggregationSettings.keys {
      #expect(docs.contains("| `\(spec.key)` |"), "channel key \(spec.key) is not documented")
    }
    for spec in ChannelSettings.keys {
      #expect(guide.contains(spec.key), "guide lacks \(spec.key)")
    }
  }

  @Test("the README names every registered plug-in and claims none of them missing")
  func readmeInStep() throws {
    let readme = try Self.read("README.md")
    for family in PluginFamily.allCases {
      for d in Registry.descriptors(family) {
        #expect(readme.contains("`\(d.name)`"), "README never names \(family) \(d.name)")
      }
    }
    let missing = try #require(
      readme.components(separatedBy: "Not in this version:").dropFirst().first?
        .components(separatedBy: "\n\n").first)
    for family in PluginFamily.allCases {
      for d in Registry.descriptors(family) {
        let words = missing.lowercased().replacingOccurrences(of: "\n", with: " ")
        #expect(
          !words.contains(d.name) && !words.contains(d.summary.lowercased()),
          "README says \(d.name) is not in this version, but list has it")
      }
    }
  }

  @Test(
    "every name the README's feature list puts in backticks is a plug-in, a scenario key or value, a command or an option"
  )
  func readmeNamesExist() throws {
    let readme = try Self.read("README.md")
    let start = try #require(readme.range(of: "- **Federated learning**"))
    let end = try #require(readme.range(of: "Not in this version:"))
    let features = String(readme[start.lowerBound..<end.lowerBound])
    // Everything the registry and the scenario format define.
    var known = Set<String>()
    func collect(_ specs: [ParameterSpec]) {
      for spec in specs {
        known.insert(spec.key)
        collect(type: spec.type)
      }
    }
    func collect(type: ValueType) {
      switch type {
      case .choice(let values): known.formUnion(values)
      case .object(let specs): collect(specs)
      case .array(let element, _, _): collect(type: element)
      case .either(let types): for t in types { collect(type: t) }
      default: break
      }
    }
    collect(ScenarioLoader.topLevel)
    for family in PluginFamily.allCases {
      for d in Registry.descriptors(family) {
        known.insert(d.name)
        collect(d.parameters)
      }
    }
    // Output formats, file types, PyTorch's name, a subcommand, the Debian
    // packages the data come from, and a signal.
    known.formUnion([
      "format", "table", "jsonl", "csv", "json", ".npy", "state_dict", "aggregate",
      "dataset-fashion-mnist", "python3-sklearn", "kill -9",
    ])
    let names = features.components(separatedBy: "`").enumerated()
      .filter { $0.offset % 2 == 1 }.map(\.element)
    #expect(names.count > 60)
    for name in names where !name.hasPrefix("--") && !name.hasPrefix("poisonlab ") {
      let defined = known.contains(name)
      #expect(defined, "the README names `\(name)`, which the lab does not define")
    }
  }

  @Test("the generated guides and plug-in tables are what the scripts write from list --json")
  func guidesCurrent() throws {
    let r = try CLI.shell(#""$POISONLAB" list --json | python3 docs/guides.py --check"#)
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    let tables = try CLI.shell(
      #""$POISONLAB" list --json | python3 docs/plugin-tables.py docs/scenarios.md --check"#)
    #expect(tables.status == 0, "\(tables.stdout)\(tables.stderr)")
  }

  @Test("generated guides carry no doc-link markup (``Symbol``)")
  func guidesPlainText() throws {
    let root = CLI.root.appendingPathComponent("docs/guides")
    let files = try FileManager.default.subpathsOfDirectory(atPath: root.path)
    var checked = 0
    for file in files where file.hasSuffix(".md") {
      let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
      let cleaned = text.replacingOccurrences(of: "```", with: "")
      #expect(!cleaned.contains("``"), "\(file) has ``doc-link`` markup")
      checked += 1
    }
    #expect(checked > 50)
  }

  @Test("every safeguard has a guide with its definition, paper and keys")
  func safeguardGuides() throws {
    for d in Registry.signalDescriptors {
      let guide = try Self.read("docs/guides/safeguards/\(d.name).md")
      #expect(guide.hasPrefix("# `\(d.name)`") && guide.contains("## Definition"))
      if let reference = d.reference { #expect(guide.contains(reference), "\(d.name) reference") }
    }
    for (file, keys) in [
      ("validation", ["size", "max_drop", "per_class_max_drop"]),
      ("monitor", ["signals", "window", "threshold"]),
      ("quarantine", ["after", "window"]),
      ("response", ["rollback", "retrain"]),
    ] {
      let guide = try Self.read("docs/guides/safeguards/\(file).md")
      #expect(guide.contains("## Definition"), "\(file)")
      for key in keys { #expect(guide.contains("`\(key)`"), "\(file) lacks \(key)") }
    }
    let docs = try Self.read("docs/scenarios.md")
    for spec in SafeguardSettings.keys {
      #expect(docs.contains("| `\(spec.key)` |"), "safeguards.\(spec.key) is not documented")
      if case .object(let nested) = spec.type {
        for n in nested {
          #expect(docs.contains("`\(spec.key).\(n.key)`"), "safeguards.\(spec.key).\(n.key)")
        }
      }
    }
  }

  @Test(
    "every dataset, model, partition, attack, defense and audit has a guide whose example validates"
  )
  func guides() throws {
    for (family, folder) in [
      (PluginFamily.attacks, "attacks"), (.defenses, "defenses"), (.partitions, "partitions"),
      (.audits, "audits"), (.datasets, "datasets"), (.models, "models"),
    ] {
      for d in Registry.descriptors(family) {
        let guide = try Self.read("docs/guides/\(folder)/\(d.name).md")
        #expect(guide.hasPrefix("# `\(d.name)`"))
        for spec in d.parameters {
          #expect(guide.contains("`\(spec.key)`"), "\(d.name) guide lacks \(spec.key)")
        }
        let parts = guide.components(separatedBy: "```json\n")
        let snippet = try #require(
          parts.count > 1 ? parts[1].components(separatedBy: "```").first : nil)
        guard case .object(let members) = try JSONParser.parse(snippet) else {
          Issue.record("\(d.name): example is not an object")
          continue
        }
        let base =
          #"{"name": "guide", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}}"#
        guard case .object(let head) = try JSONParser.parse(base) else { continue }
        // The example's blocks replace the base's (a dataset or model guide gives its own).
        let keys = Set(members.map(\.key))
        do {
          _ = try ScenarioLoader.decode(
            JSONValue.object(head.filter { !keys.contains($0.key) } + members).serialized(),
            source: "\(d.name) guide")
        } catch {
          Issue.record("\(error)")
        }
      }
    }
  }

  @Test("the README gives the two set-up commands and every exit code")
  func readme() throws {
    let readme = try Self.read("README.md")
    #expect(readme.contains("make demo"))
    #expect(readme.contains("make test"))
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] { #expect(readme.contains(code)) }
    for d in Registry.descriptors(.datasets) { #expect(readme.contains("`\(d.name)`")) }
  }

  @Test(
    "every golden-generating script beside the tests is excluded from the test target (SwiftPM warns of unhandled files otherwise)"
  )
  func referenceScriptsExcluded() throws {
    let package = try Self.read("Package.swift")
    let tests = CLI.root.appendingPathComponent("Tests/PoisonLabTests").path
    let scripts = (FileManager.default.enumerator(atPath: tests)?.allObjects as? [String] ?? [])
      .filter { $0.hasSuffix(".py") && !$0.hasPrefix("Fixtures/") }
    #expect(scripts.count >= 6)
    for script in scripts {
      #expect(package.contains("\"\(script)\""), "\(script) is not in Package.swift's exclude")
    }
  }
}
