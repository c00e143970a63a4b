import PoisonLab
import Testing

/// Every registered plug-in passes the same checks (swift-configuration's
/// ProviderCompatTest idea): names, documentation, parameter defaults that
/// satisfy their own types, and a minimal configuration that validates.
@Suite("Registry conformance")
struct RegistryConformanceTests {
  static let all: [(PluginFamily, PluginDescriptor)] = PluginFamily.allCases.flatMap { family in
    Registry.descriptors(family).map { (family, $0) }
  }

  static func isKebab(_ s: String) -> Bool {
    !s.isEmpty && s.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && !s.hasPrefix("-")
      && !s.hasSuffix("-")
  }

  static func isSnake(_ s: String) -> Bool {
    !s.isEmpty && s.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }
  }

  @Test("names are unique kebab-case within each family")
  func names() {
    for family in PluginFamily.allCases {
      let names = Registry.descriptors(family).map(\.name)
      #expect(Set(names).count == names.count, "\(family)")
      for name in names { #expect(Self.isKebab(name), "\(name)") }
    }
  }

  @Test("attacks, defenses, audits and monitor signals cite their source (or say there is none)")
  func references() {
    let cited: [PluginFamily] = [.attacks, .defenses, .audits]
    let plugins = Self.all.filter { cited.contains($0.0) }.map { ("\($0.0) \($0.1.name)", $0.1) }
    let signals = Registry.signalDescriptors.map { ("signal \($0.name)", $0) }
    #expect(!signals.isEmpty)
    for (label, d) in plugins + signals {
      let reference = d.reference ?? ""
      // A paper (author and year) or an explicit "no paper".
      let cites = reference.contains(where: \.isNumber) || reference.hasPrefix("No paper")
      #expect(cites, "\(label): \(reference)")
    }
    let names = signals.map(\.1.name)
    #expect(Set(names).count == names.count)
    for (label, d) in signals { #expect(!d.summary.isEmpty, "\(label)") }
  }

  @Test("every plug-in is documented; keys are snake_case with docs; defaults satisfy their types")
  func parameters() {
    for (family, d) in Self.all {
      #expect(!d.summary.isEmpty, "\(family) \(d.name)")
      var keys = Set<String>()
      func check(_ specs: [ParameterSpec]) {
        for spec in specs {
          #expect(Self.isSnake(spec.key), "\(d.name).\(spec.key)")
          #expect(!spec.doc.isEmpty, "\(d.name).\(spec.key)")
          #expect(!(spec.isRequired && spec.defaultValue != nil), "\(d.name).\(spec.key)")
          if let value = spec.defaultValue {
            var validator = SchemaValidator()
            _ = validator.check(value, spec.type, at: JSONPath.root.appending(spec.key))
            #expect(validator.errors.isEmpty, "\(d.name).\(spec.key): \(validator.errors)")
          }
          if case .object(let nested) = spec.type { check(nested) }
        }
      }
      check(d.parameters)
      for spec in d.parameters {
        #expect(!keys.contains(spec.key), "duplicate key \(d.name).\(spec.key)")
        keys.insert(spec.key)
      }
    }
  }

  /// A federated attack block: the minimal block plus two attacking clients
  /// when the attack has clients of its own (channel attacks on the network don't).
  static func attackBlock(_ d: PluginDescriptor) -> String {
    guard d.parameters.contains(where: { $0.key == "clients" }) else {
      return example(.attacks, d.name)
    }
    return example(.attacks, d.name).dropLast() + #", "clients": 2}"#
  }

  /// A minimal valid block for each plug-in (required keys given).
  static func example(_ family: PluginFamily, _ name: String) -> String {
    switch (family, name) {
    case (.datasets, "mnist"), (.datasets, "cifar10"):
      return #"{"name": "\#(name)", "path": "/data"}"#
    case (.datasets, "csv"): return #"{"name": "csv", "train": "train.csv"}"#
    case (.attacks, "label-flip"): return #"{"name": "label-flip", "source": 1, "target": 0}"#
    case (.attacks, "impersonate"), (.attacks, "sybil"):
      return #"{"name": "\#(name)", "update": {"name": "sign-flip"}}"#
    default: return #"{"name": "\#(name)"}"#
    }
  }

  @Test(
    "every dataset, model, partition, attack and defense builds from a minimal block with defaults")
  func minimalBlocks() throws {
    for d in Registry.descriptors(.datasets) {
      let s = try scenario(
        #"{"name": "c", "dataset": \#(Self.example(.datasets, d.name)), "model": {"name": "mlp"}}"#)
      #expect(s.resolved["dataset"]?["name"] == .string(d.name))
      // Every documented default appears in the resolved scenario.
      for spec in d.parameters where spec.defaultValue != nil {
        #expect(s.resolved["dataset"]?[spec.key] != nil, "\(d.name).\(spec.key)")
      }
    }
    for d in Registry.descriptors(.models) {
      let s = try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": \#(Self.example(.models, d.name))}"#
      )
      let net = s.model.build(input: Shape(height: 28, width: 28, channels: 1), classes: 10)
      #expect(net.outputCount == 10)
    }
    let federated =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20"#
    for d in Registry.descriptors(.partitions) {
      let s = try scenario(federated + #", "partition": {"name": "\#(d.name)"}}}"#)
      #expect(s.federation?.partition != nil)
    }
    for d in Registry.descriptors(.attacks) {
      let block = Self.attackBlock(d)
      let s = try scenario(federated + #"}, "attack": \#(block)}"#)
      let hasClients = d.parameters.contains { $0.key == "clients" }
      #expect(s.attacks.count == 1 && s.attacks[0].group?.clients == (hasClients ? [0, 1] : []))
      if s.attacks[0].attack is any DataPoisoning {
        guard !d.notes.contains("federated runs only") else { continue }
        _ = try scenario(
          #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "attack": \#(Self.example(.attacks, d.name))}"#
        )
      } else {
        #expect(
          s.attacks[0].attack is any UpdateAttack || Registry.role(.attacks, d.name) == "channel",
          "\(d.name) is neither a data, an update nor a channel attack")
      }
    }
    for d in Registry.descriptors(.defenses) where Registry.role(.defenses, d.name) == "sanitizer" {
      let s = try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "defense": {"name": "\#(d.name)"}}"#
      )
      #expect(s.defenses.first?.defense is any DataSanitizer)
    }
    for d in Registry.descriptors(.defenses)
    where Registry.role(.defenses, d.name) == "source filter" {
      let s = try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "sources": [{"name": "own", "share": 0.5, "trust": "trusted"}, {"name": "feed", "share": 0.5}], "pipeline": {"cycles": 2}, "defense": {"name": "\#(d.name)"}}"#
      )
      #expect(s.defenses.first?.defense is any SourceFilter)
    }
    for d in Registry.descriptors(.defenses)
    where !["sanitizer", "source filter"].contains(Registry.role(.defenses, d.name)) {
      let chain =
        Registry.defenses.first { $0.descriptor.name == d.name } is any Aggregator.Type
        ? #"{"name": "\#(d.name)"}"# : #"[{"name": "\#(d.name)"}, {"name": "mean"}]"#
      let s = try scenario(
        federated + #"}, "attack": {"name": "ipm", "clients": 1}, "defense": \#(chain)}"#)
      #expect(s.defenses.count == (chain.hasPrefix("[") ? 2 : 1), "\(d.name)")
    }
  }

  @Test("every attack is deterministic for a seed and changes only what it reports")
  func attacksDeterministic() throws {
    let federated =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 20}, "attack": "#
    for d in Registry.descriptors(.attacks) {
      let block = Self.attackBlock(d)
      let attack = try #require(try scenario(federated + block + "}").attacks.first?.attack)
      if let poisoning = attack as? any DataPoisoning {
        var a = tinyImages(classes: 10, perClass: 20)
        var b = a
        var r1 = SplitMix64(seed: 3)
        var r2 = SplitMix64(seed: 3)
        let pa = poisoning.poison(&a, rng: &r1)
        let pb = poisoning.poison(&b, rng: &r2)
        #expect(pa == pb && a == b, "\(d.name)")
        let clean = tinyImages(classes: 10, perClass: 20)
        var touched: [Int] = []
        for i in 0..<clean.count {
          let range = (i * 60)..<((i + 1) * 60)
          let sameFeatures = clean.features[range].elementsEqual(a.features[range])
          if clean.labels[i] != a.labels[i] || !sameFeatures { touched.append(i) }
        }
        #expect(touched == pa, "\(d.name) changed samples it did not report")
      } else if let update = attack as? any UpdateAttack {
        let benign = (0..<5).map { gaussian(30, seed: UInt64($0), scale: 0.1) }
        let first = craft(
          update, benign: benign, own: Array(benign.prefix(2)), attackers: 2, received: 7, seed: 11)
        let second = craft(
          update, benign: benign, own: Array(benign.prefix(2)), attackers: 2, received: 7, seed: 11)
        #expect(first.count == 60, "\(d.name)")
        #expect(first.elementsEqual(second) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(d.name)")
      }
    }
  }

  @Test("every output format writes every contract field of a record")
  func formats() throws {
    let record = MetricRecord(
      kind: .round, scenario: "x", round: 1, accuracy: 0.5, loss: 1, attackSuccess: nil,
      robustAccuracy: 0.25,
      malicious: 3, flagged: 0, detectionPrecision: nil, detectionRecall: nil, seconds: 0.5)
    for name in Formats.names {
      let format = try #require(Formats.named(name))
      let text = format.begin() + format.line(for: record, index: 0) + format.end(count: 1)
      #expect(!text.isEmpty, "\(name)")
      if name != "table" {
        for field in ["accuracy", "attack_success", "robust_accuracy", "detection_recall"] {
          #expect(text.contains(field), "\(name) lacks \(field)")
        }
      }
    }
  }
}
