/// Optimisation settings (`training`).
public struct TrainingSettings: Sendable, Equatable {
  /// Rounds; epochs in centralized runs.
  public var rounds: Int
  /// Minibatch size.
  public var batchSize: Int
  /// The SGD settings.
  public var optimizer: SGD
  /// Federated: local epochs per selected client.
  public var localEpochs: Int = 1
  /// Federated: a fixed number of local steps instead of epochs.
  public var localSteps: Int?
  /// Federated: `global += serverLearningRate * aggregate`.
  public var serverLearningRate: Float = 1
}

/// The `federation` block.
public struct FederationSettings: Sendable {
  /// Number of clients.
  public var clients: Int
  /// Clients selected per round.
  public var clientsPerRound: Int
  /// How the training set is split.
  public var partition: any Partition
}

/// One `expect` threshold, checked on the final round.
public struct Expectation: Sendable, Equatable {
  /// The metric name.
  public var metric: String
  /// Lowest acceptable value.
  public var min: Double?
  /// Highest acceptable value.
  public var max: Double?

  /// A description of the miss, or nil when `value` meets the threshold.
  /// - Parameters:
  ///   - value: the final value (nil: the metric was null).
  ///   - monitored: whether the run had a monitor (a null alarm round then
  ///     means no alarm fired, else that nothing was watched).
  /// - Returns: a description of the miss, or nil when `value` meets the threshold.
  public func miss(_ value: Double?, monitored: Bool = true) -> String? {
    guard let value else {
      let why =
        monitored && ["first_alarm_round", "time_to_detect"].contains(metric)
        ? "no alarm fired" : "not measured in this run"
      return "\(metric) is null (\(why)), expected \(range)"
    }
    if let min, !(value >= min) {
      return "\(metric) = \(JSONValue.format(value)), expected >= \(JSONValue.format(min))"
    }
    if let max, !(value <= max) {
      return "\(metric) = \(JSONValue.format(value)), expected <= \(JSONValue.format(max))"
    }
    return nil
  }

  private var range: String {
    [min.map { ">= \(JSONValue.format($0))" }, max.map { "<= \(JSONValue.format($0))" }]
      .compactMap { $0 }.joined(separator: " and ")
  }
}

/// A validated scenario: every plug-in built, every default filled.
public struct Scenario: Sendable {
  /// The `name`, printed in every output row.
  public var name: String
  /// Free text.
  public var description: String
  /// The only source of randomness.
  public var seed: UInt64
  /// The data source.
  public var dataset: any DatasetSource
  /// The dataset block, resolved (for the common keys).
  public var datasetParameters: Parameters
  /// The model.
  public var model: any ModelArchitecture
  /// Optimisation settings.
  public var training: TrainingSettings
  /// Attacks with their location in the scenario and, in federated runs, who attacks when.
  public var attacks: [(attack: any Attack, path: JSONPath, group: AttackGroup?)]
  /// Federated simulation settings (nil: centralized).
  public var federation: FederationSettings?
  /// The update channel (federated runs; the default channel when the block is absent).
  public var channel = ChannelSettings()
  /// The operator's safeguards across rounds (federated runs; empty without the block).
  public var safeguards = SafeguardSettings()
  /// The audit run after training, if any.
  public var audit: (any AuditMethod)?
  /// Named sources of the training data (`sources`; empty without).
  public var sources: [DataSourceSpec] = []
  /// The retraining pipeline (`pipeline`; nil: one training run).
  public var pipeline: PipelineSettings?
  /// The sources the (one) data-poisoning attack poisons (`attack.sources`; nil: all data).
  public var poisonedSources: [String]? {
    for entry in attacks {
      if case .array(let names)? = resolvedAttack(at: entry.path)?["sources"] {
        return names.compactMap { if case .string(let s) = $0 { s } else { nil } }
      }
    }
    return nil
  }

  /// The resolved attack block at `path` (`attack` or `attack[i]`).
  private func resolvedAttack(at path: JSONPath) -> JSONValue? {
    guard let attack = resolved["attack"] else { return nil }
    if case .array(let items) = attack { return items.first }
    return attack
  }
  /// The defense chain (federated: filters then one aggregator).
  public var defenses: [(defense: any Defense, path: JSONPath)]
  /// The `f` of rules that leave it unset: the malicious clients of every attack group (and the
  /// sybils that open enrolment lets in).
  public var defaultF = 0
  /// Evaluate every this many rounds (and always on the last).
  public var evaluationEvery: Int

  /// The rounds a run goes through: 1 to `training.rounds`, or a pipeline's
  /// cycles 0 to C.
  public var roundRange: ClosedRange<Int> {
    pipeline.map { 0...$0.cycles } ?? 1...training.rounds
  }

  /// Whether `round` is evaluated and recorded: every `evaluationEvery`-th
  /// round, and always the last.
  /// - Parameter round: a round (pipelines: a cycle).
  /// - Returns: true when the round writes a row.
  public func records(round: Int) -> Bool {
    round % evaluationEvery == 0 || round == roundRange.upperBound
  }
  /// Thresholds checked on the final round.
  public var expectations: [Expectation]
  /// The `sweep` block's axes (run with `poisonlab sweep`; empty otherwise).
  public var sweep: [SweepAxis] = []
  /// The scenario with defaults filled in, in canonical key order.
  public var resolved: JSONValue

  /// Creates a scenario (the loader validates one).
  public init(
    name: String, description: String, seed: UInt64, dataset: any DatasetSource,
    datasetParameters: Parameters, model: any ModelArchitecture, training: TrainingSettings,
    attacks: [(attack: any Attack, path: JSONPath, group: AttackGroup?)],
    federation: FederationSettings?, channel: ChannelSettings = ChannelSettings(),
    safeguards: SafeguardSettings = SafeguardSettings(),
    defenses: [(defense: any Defense, path: JSONPath)], evaluationEvery: Int,
    expectations: [Expectation], sweep: [SweepAxis] = [], resolved: JSONValue
  ) {
    self.name = name
    self.description = description
    self.seed = seed
    self.dataset = dataset
    self.datasetParameters = datasetParameters
    self.model = model
    self.training = training
    self.attacks = attacks
    self.federation = federation
    self.channel = channel
    self.safeguards = safeguards
    self.defenses = defenses
    self.evaluationEvery = evaluationEvery
    self.expectations = expectations
    self.sweep = sweep
    self.resolved = resolved
  }
}
