import Dispatch

/// Progress of a running experiment, for a terminal display.
public enum ProgressEvent: Sendable {
  /// The data is loaded and prepared.
  case prepared(String)
  /// Training within a round: samples done of total.
  case training(round: Int, rounds: Int, done: Int, total: Int)
  /// A round finished.
  case roundFinished(round: Int)
}

/// Runs a ``Scenario`` end to end: load, subsample, poison, normalise,
/// train round by round, evaluate, and report records as they are produced.
///
/// Centralized runs (no `federation`): `training.rounds` epochs of minibatch
/// SGD over the (poisoned) training set. Determinism: every random draw
/// comes from the ``SeedTree`` of the scenario seed; BLAS runs on one thread
/// and evaluation splits work into fixed chunks, so records are identical
/// for any `threads` (timings aside).
public struct Experiment {
  /// The validated scenario.
  public let scenario: Scenario
  /// Worker threads (evaluation now; clients in federated runs).
  public var threads: Int

  /// Creates an experiment.
  /// - Parameters:
  ///   - scenario: what to run.
  ///   - threads: worker threads (>= 1).
  public init(scenario: Scenario, threads: Int) {
    self.scenario = scenario
    self.threads = max(1, threads)
  }

  /// The prepared data of a run.
  public struct PreparedData: Sendable {
    /// Training set, poisoned and normalised.
    public var train: Dataset
    /// Clean test set, normalised.
    public var test: Dataset
    /// Where attack success is measured, normalised (nil without a targeted attack).
    public var probe: AttackProbe?
    /// Indices of poisoned training samples.
    public var poisoned: [Int]
  }

  /// Loads and prepares the data: subsample, poison (raw units), normalise.
  /// - Throws: `RunFailure.data` or `.scenario`.
  public func prepareData() throws(RunFailure) -> PreparedData {
    let seeds = SeedTree(scenario.seed)
    var train: Dataset
    var test: Dataset
    do {
      (train, test) = try scenario.dataset.load(seeds: seeds)
    } catch {
      throw .data(error)
    }
    let p = scenario.datasetParameters
    var problems: [ScenarioError] = []
    for (key, set) in [("train_size", train), ("test_size", test)] {
      if let size = p.int(key), size > set.count {
        problems.append(
          ScenarioError(p.path(key), "asks for \(size) samples but the data has \(set.count)"))
      }
    }
    for (attack, path) in scenario.attacks {
      if let poisoning = attack as? any DataPoisoning,
        let problem = poisoning.check(against: train, at: path)
      {
        problems.append(problem)
      }
    }
    if let problem = scenario.model.check(input: train.shape, at: JSONPath.root.appending("model"))
    {
      problems.append(problem)
    }
    if !problems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: problems))
    }
    if let size = p.int("train_size"), size < train.count {
      var rng = seeds.generator("subsample", "train")
      train = train.subset(
        Stratified.sample(labels: train.labels, classes: train.classes, size: size, rng: &rng))
    }
    if let size = p.int("test_size"), size < test.count {
      var rng = seeds.generator("subsample", "test")
      test = test.subset(
        Stratified.sample(labels: test.labels, classes: test.classes, size: size, rng: &rng))
    }
    var poisoned: [Int] = []
    var probe: AttackProbe?
    for (index, entry) in scenario.attacks.enumerated() {
      guard let poisoning = entry.attack as? any DataPoisoning else { continue }
      var rng = seeds.generator("attack", index)
      poisoned += poisoning.poison(&train, rng: &rng)
      if probe == nil { probe = poisoning.probe(test: test) }
    }
    let kind = Normalization(rawValue: p.string("normalize") ?? "standard") ?? .standard
    let normalizer = Normalizer(kind, fittedTo: train)
    normalizer.apply(to: &train)
    normalizer.apply(to: &test)
    if probe != nil, var inputs = probe?.inputs {
      normalizer.apply(to: &inputs)
      probe?.inputs = inputs
    }
    return PreparedData(train: train, test: test, probe: probe, poisoned: poisoned.sorted())
  }

  /// Runs the scenario, handing each record to `emit` as soon as it exists.
  /// - Parameters:
  ///   - progress: called with progress events (from the running thread).
  ///   - emit: receives each round record and finally the summary.
  /// - Returns: the summary record.
  /// - Throws: `RunFailure`; records emitted before the failure stand.
  @discardableResult
  public func run(
    progress: ((ProgressEvent) -> Void)? = nil,
    emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> MetricRecord {
    let clock = ContinuousClock()
    let started = clock.now
    let seeds = SeedTree(scenario.seed)
    let data = try prepareData()
    let network = scenario.model.build(input: data.train.shape, classes: data.train.classes)
    let batch = min(scenario.training.batchSize, max(1, data.train.count))
    try checkSize(network, batch: batch)
    progress?(
      .prepared(
        "\(data.train.count) training samples (\(data.poisoned.count) poisoned), \(data.test.count) test samples; "
          + "\(scenario.model.descriptorName) with \(network.parameterCount) parameters"))
    var rng = seeds.generator("init")
    var parameters = network.initialParameters(using: &rng)
    BLAS.setThreads(1)
    let training = scenario.training
    let trainer = Trainer(
      network: network, batchSize: training.batchSize, optimizer: training.optimizer)
    let evaluators = (0..<threads).map { _ in Evaluator(network: network) }
    var last: MetricRecord?
    for round in stride(from: 1, through: training.rounds, by: 1) {
      let roundStart = clock.now
      var shuffle = seeds.generator("shuffle", round)
      let result = trainer.train(parameters: &parameters, on: data.train, rng: &shuffle) {
        done, total in
        progress?(.training(round: round, rounds: training.rounds, done: done, total: total))
      }
      progress?(.roundFinished(round: round))
      guard result.isFinite else {
        throw .diverged(
          round: round,
          detail:
            "the training loss or a weight became NaN or infinite; lower training.learning_rate "
            + "(now \(training.optimizer.learningRate)) or check the data's normalisation")
      }
      guard round % scenario.evaluationEvery == 0 || round == training.rounds else { continue }
      let record = evaluate(
        parameters: parameters, data: data, evaluators: evaluators, round: round,
        seconds: seconds(clock.now - roundStart))
      last = record
      do { try emit(record) } catch { throw .output(error) }
    }
    // The last round is always evaluated; with zero rounds, report the initial model.
    var summary =
      last
      ?? evaluate(parameters: parameters, data: data, evaluators: evaluators, round: 0, seconds: 0)
    let total = seconds(clock.now - started)
    summary.kind = .summary
    let misses = scenario.expectations.compactMap { $0.miss(summary.metric($0.metric)) }
    summary.totals = MetricRecord.Totals(
      rounds: training.rounds, totalSeconds: total,
      meanSecondsPerRound: total / Double(training.rounds),
      maliciousTotal: data.poisoned.count, flaggedTotal: 0,
      expectPassed: scenario.expectations.isEmpty ? nil : misses.isEmpty, expectMisses: misses)
    do { try emit(summary) } catch { throw .output(error) }
    return summary
  }

  /// Largest parameter count accepted (4 GiB of float32).
  public static let maxParameters = 1 << 30
  /// Largest trainer workspace accepted.
  public static let maxTrainingBytes = 16 << 30

  /// Rejects models or batches too large for memory before allocating them.
  private func checkSize(_ network: Network, batch: Int) throws(RunFailure) {
    var problems: [ScenarioError] = []
    if network.parameterCount > Self.maxParameters {
      problems.append(
        ScenarioError(
          JSONPath.root.appending("model"),
          "has \(network.parameterCount) parameters, more than the \(Self.maxParameters) poisonlab accepts"
        ))
    } else if network.trainingBytes(batch: batch) > Self.maxTrainingBytes {
      let gib = Double(network.trainingBytes(batch: batch)) / Double(1 << 30)
      problems.append(
        ScenarioError(
          JSONPath.root.appending("training").appending("batch_size"),
          "a batch of \(batch) would need \(Int(gib.rounded(.up))) GiB of training buffers for this model "
            + "(limit \(Self.maxTrainingBytes >> 30) GiB); use a smaller batch or model"))
    }
    if !problems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: problems))
    }
  }

  private func evaluate(
    parameters: [Float], data: PreparedData, evaluators: [Evaluator], round: Int, seconds: Double
  ) -> MetricRecord {
    let clean = Evaluator.evaluate(parameters: parameters, on: data.test, using: evaluators)
    var attackSuccess: Double?
    var robust: Double?
    if let probe = data.probe, probe.inputs.count > 0 {
      let result = Evaluator.evaluate(parameters: parameters, on: probe.inputs, using: evaluators)
      let hits = result.predictions.reduce(0) { $0 + ($1 == probe.target ? 1 : 0) }
      attackSuccess = Double(hits) / Double(probe.inputs.count)
      if probe.reportsRobustAccuracy { robust = result.accuracy }
    }
    return MetricRecord(
      kind: .round, scenario: scenario.name, round: round, accuracy: clean.accuracy,
      loss: clean.meanLoss, attackSuccess: attackSuccess, robustAccuracy: robust,
      malicious: data.poisoned.count, flagged: 0, detectionPrecision: nil, detectionRecall: nil,
      seconds: seconds)
  }

  private func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
  }
}

extension ModelArchitecture {
  /// The plug-in's scenario name.
  var descriptorName: String { Self.descriptor.name }
}
