import Testing

@testable import PoisonLab

/// Every monitor signal in ``Registry/signals`` is watched where its input
/// exists and refused, with a message naming it, where it does not.
@Suite("Monitor signal conformance")
struct SignalConformanceTests {
  static let pipeline = """
    {"name": "p", "seed": 0, "dataset": {"name": "sklearn-iris"}, "model": {"name": "logistic"},
     "sources": [{"name": "a", "share": 0.5, "trust": "trusted"},
                 {"name": "b", "share": 0.5, "trust": "untrusted"}],
     "pipeline": {"cycles": 6, "initial_share": 0.4}}
    """

  static func monitor(_ name: String, validation: Bool) -> String {
    #"safeguards={"monitor": {"signals": [""# + name + #""], "window": 3}"#
      + (validation ? #", "validation": {"size": 30}}"# : "}")
  }

  @Test("each signal validates exactly in the modes that have its input")
  func modes() {
    #expect(Registry.signals.count == Registry.signalDescriptors.count)
    for signal in Registry.signals {
      let name = signal.descriptor.name
      let federated = scenarioErrors(
        safeguardBase, overrides: [Self.monitor(name, validation: true)])
      let inPipeline = scenarioErrors(
        Self.pipeline, overrides: [Self.monitor(name, validation: true)])
      let secure = scenarioErrors(
        safeguardBase,
        overrides: [
          Self.monitor(name, validation: true),
          #"channel={"secure_aggregation": {"name": "pairwise-masking"}}"#,
        ])
      switch signal.input {
      case .updates:
        #expect(federated.isEmpty, "\(name): \(federated)")
        #expect(inPipeline.contains { $0.contains("\(name) reads client updates") }, "\(name)")
        #expect(secure.contains { $0.contains("\(name) reads each client's update") }, "\(name)")
      case .model:
        #expect(federated.isEmpty, "\(name): \(federated)")
        #expect(inPipeline.isEmpty, "\(name): \(inPipeline)")
        #expect(secure.isEmpty, "\(name): \(secure)")
        // Without the gate's held-out set there is nothing to measure.
        let bare = scenarioErrors(safeguardBase, overrides: [Self.monitor(name, validation: false)])
        #expect(
          bare == [
            "safeguards.monitor.signals: \(name) needs the held-out set of safeguards.validation; add {\"validation\": {\"size\": N}}"
          ])
      case .newData:
        #expect(inPipeline.isEmpty, "\(name): \(inPipeline)")
        #expect(
          federated.contains { $0.contains("\(name) watches the data each pipeline cycle brings") },
          "\(name)")
      }
    }
  }

  @Test("signals that compare a round's clients refuse fewer than 3 per round")
  func clientCounts() {
    let comparing = Registry.signals.filter { $0.comparesClients }.map { $0.descriptor.name }
    #expect(comparing == ["cosine", "fldetector"])
    for signal in Registry.signals where signal.input == .updates {
      let name = signal.descriptor.name
      let errors = scenarioErrors(
        safeguardBase,
        overrides: [Self.monitor(name, validation: false), "federation.clients_per_round=2"])
      let refused = errors.contains {
        $0.contains("\(name) compares the clients of a round and needs at least 3 per round, got 2")
      }
      #expect(refused == signal.comparesClients, "\(name): \(errors)")
      #expect(errors.count == (signal.comparesClients ? 1 : 0), "\(name): \(errors)")
    }
  }
}
