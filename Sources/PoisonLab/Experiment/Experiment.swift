import Dispatch

/// Progress of a running experiment, for a terminal display.
public enum ProgressEvent: Sendable {
  /// The data is loaded and prepared.
  case prepared(String)
  /// Training within a round: units (`samples`, or `clients` in federated
  /// runs) done of total; rounds are `round`s, `epoch`s or `cycle`s.
  case training(round: Int, rounds: Int, done: Int, total: Int, unit: String, roundName: String)
  /// A round finished.
  case roundFinished(round: Int)
}

/// Runs a ``Scenario`` end to end and reports records as they are produced.
///
/// Centralized runs (no `federation`): load, subsample, poison, normalise,
/// then `training.rounds` epochs of minibatch SGD over the (poisoned)
/// training set. Federated runs: see ``FederatedSimulation``.
///
/// Determinism: every random draw comes from the ``SeedTree`` of the
/// scenario seed; BLAS runs on one thread inside each trainer, and parallel
/// work (clients, evaluation chunks, coordinates) is split so that each
/// piece is computed the same way whatever the thread count. Records are
/// identical for any `threads` (timings aside).
public struct Experiment {
  /// The validated scenario.
  public let scenario: Scenario
  /// Worker threads (clients, evaluation chunks, coordinate-wise defenses).
  public var threads: Int
  /// The memory limit checked again once the data is loaded (for datasets
  /// whose size is known only then); nil: not checked.
  public var memoryBudget: MemoryBudget?
  /// Model files to read and write.
  public var modelFiles = ModelFileOptions()
  /// Federated runs: write what the defense chain received each round here (`--save-updates`).
  public var updateExport: String?
  /// `--audit-dir`: the existing folder where the audit's pictures go
  /// (STRIP's entropy histograms, Neural Cleanse's reversed triggers).
  public var auditDirectory: String?

  /// Why `updateExport` cannot be written for this scenario, or nil.
  public var updateExportProblem: String? {
    if scenario.federation == nil {
      return
        "--save-updates writes the updates a federated server receives; this scenario is centralized"
    }
    if scenario.channel.secureAggregation != nil {
      return "--save-updates writes the updates a federated server receives; "
        + "under channel.secure_aggregation the server sees only masked vectors"
    }
    return nil
  }

  /// Why `auditDirectory` would stay empty for this scenario's audit, or nil.
  public var auditDirectoryProblem: String? {
    let problem: String? =
      if let audit = scenario.audit {
        type(of: audit).drawsPictures
          ? nil : "\(type(of: audit).descriptor.name) draws none (it reports figures only)"
      } else {
        "the scenario has no audit block"
      }
    return problem.map { "--audit-dir holds the audit's pictures; " + $0 }
  }

  /// The problems of the options set on this experiment (`updateExport`,
  /// `auditDirectory`, `modelFiles.checkpointEvery`) with its scenario: an
  /// option that would be ignored.
  public var optionProblems: [String] {
    [
      updateExport.flatMap { _ in updateExportProblem },
      auditDirectory.flatMap { _ in auditDirectoryProblem },
      checkpointProblem,
    ].compactMap { $0 }
  }

  /// Creates an experiment.
  /// - Parameters:
  ///   - scenario: what to run.
  ///   - threads: worker threads (>= 1).
  ///   - memoryBudget: the memory limit checked again after loading.
  public init(scenario: Scenario, threads: Int, memoryBudget: MemoryBudget? = nil) {
    self.scenario = scenario
    self.threads = max(1, threads)
    self.memoryBudget = memoryBudget
  }

  /// The prepared data of a centralized run.
  public struct PreparedData: Sendable {
    /// Training set, poisoned and normalised.
    public var train: Dataset
    /// Clean test set, normalised.
    public var test: Dataset
    /// Where attack success is measured, normalised (nil without a targeted attack).
    public var probe: AttackProbe?
    /// The audit's backdoor probe, normalised (see `auditProbe(rawTest:normalizer:)`).
    public var auditProbe: AttackProbe? = nil
    /// Indices of poisoned training samples.
    public var poisoned: [Int]
    /// The normalisation applied (raw inputs: `(x - offset) * factor`).
    public var normalizer: Normalizer
  }

  /// The failure a data error makes: a `dataset` setting the files
  /// contradict is the scenario's (exit 2, at `dataset.<key>`), anything
  /// else the data's (exit 3).
  func datasetFailure(_ error: DataError) -> RunFailure {
    guard case .setting(let key, let reason) = error else { return .data(error) }
    return .scenario(
      ScenarioErrors(
        source: scenario.name,
        errors: [ScenarioError(JSONPath.root.appending("dataset").appending(key), reason)]))
  }

  /// Loads the data, checks the scenario against it, and subsamples.
  /// - Returns: the raw training and test sets.
  /// - Throws: `RunFailure.data` or `.scenario`.
  func loadData() throws(RunFailure) -> (train: Dataset, test: Dataset) {
    let seeds = SeedTree(scenario.seed)
    var train: Dataset
    var test: Dataset
    do {
      (train, test) = try scenario.dataset.load(seeds: seeds)
    } catch {
      throw datasetFailure(error)
    }
    let p = scenario.datasetParameters
    var problems: [ScenarioError] = []
    for (key, set) in [("train_size", train), ("test_size", test)] {
      if let size = p.int(key), size > set.count {
        problems.append(
          ScenarioError(p.path(key), "asks for \(size) samples but the data has \(set.count)"))
      }
    }
    let testCount = p.int("test_size").map { min($0, test.count) } ?? test.count
    if let problem = cleanSizeProblem(test: testCount) { problems.append(problem) }
    for entry in scenario.attacks {
      if let poisoning = entry.attack as? any DataPoisoning,
        let problem = poisoning.check(against: train, at: entry.path)
      {
        problems.append(problem)
      }
    }
    if let problem = scenario.model.check(input: train.shape, at: JSONPath.root.appending("model"))
    {
      problems.append(problem)
    }
    let trainCount = p.int("train_size").map { min($0, train.count) } ?? train.count
    if let federation = scenario.federation,
      let problem = federation.partition.check(samples: trainCount, clients: federation.clients)
    {
      problems.append(
        ScenarioError(JSONPath.root.appending("federation").appending("partition"), problem))
    }
    if !problems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: problems))
    }
    let before = Set(train.labels)
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
    // A class the model never sees in training cannot be learnt, and its
    // test samples would score as errors without a word.
    var trained = [Bool](repeating: false, count: train.classes)
    for label in train.labels where Int(label) < trained.count { trained[Int(label)] = true }
    if let missing = test.labels.first(where: { Int($0) < trained.count && !trained[Int($0)] }) {
      let k = Int(missing)
      let name = k < train.classNames.count ? " (label \"\(train.classNames[k])\")" : ""
      let count = test.labels.filter { $0 == missing }.count
      let reason = "class \(k)\(name) has \(count) test sample(s) and no training sample"
      // train_size caused it when the data held the class before the
      // subsample, or when it is the generator's size (synthetic).
      let generated = scenario.dataset is SyntheticSource
      if let size = p.int("train_size"), before.contains(missing) || generated {
        throw .scenario(
          ScenarioErrors(
            source: scenario.name,
            errors: [
              ScenarioError(
                p.path("train_size"),
                "\(size) training samples leave class \(k)\(name) without a training sample, but it has \(count) test sample(s); raise train_size to at least one sample per class (\(train.classes) classes)"
              )
            ]))
      }
      // Tabular data without a test file is split by test_fraction.
      let split =
        scenario.dataset.isImage || generated || p.string("test") != nil
        ? "" : " (a test_fraction split sends the only sample of a class to the test set)"
      throw .data(
        .mismatch(
          reason:
            "\(reason): the training data must hold every class the test data holds\(split)"
        ))
    }
    return (train, test)
  }

  /// The normaliser of the scenario's `normalize`, fitted to `data`.
  func normalizer(fittedTo data: Dataset) -> Normalizer {
    let kind =
      Normalization(rawValue: scenario.datasetParameters.string("normalize") ?? "standard")
      ?? .standard
    return Normalizer(kind, fittedTo: data)
  }

  /// Centralized runs: loads and prepares the data: subsample, poison (raw
  /// units), normalise (statistics of the training set as trained on).
  /// - Parameter poisonable: given the loaded (clean) training set, the
  ///   samples an attack may poison (pipelines: its sources' samples), or
  ///   nil for all of them.
  /// - Returns: the prepared sets.
  /// - Throws: `RunFailure.data` or `.scenario`.
  public func prepareData(poisonable: ((Dataset) -> [Int]?)? = nil) throws(RunFailure)
    -> PreparedData
  {
    let seeds = SeedTree(scenario.seed)
    var (train, test) = try loadData()
    var poisoned: [Int] = []
    var probe: AttackProbe?
    let chosen = poisonable?(train) ?? nil
    for (index, entry) in scenario.attacks.enumerated() {
      guard let poisoning = entry.attack as? any DataPoisoning else { continue }
      var rng = seeds.generator("attack", index)
      if let chosen {
        // Poison the chosen samples only: as a set of their own, written back in place.
        var part = train.subset(chosen)
        let hit = poisoning.poison(&part, rng: &rng)
        let d = train.shape.count
        for (k, i) in chosen.enumerated() {
          train.features.replaceSubrange(
            (i * d)..<((i + 1) * d), with: part.features[(k * d)..<((k + 1) * d)])
          train.labels[i] = part.labels[k]
        }
        poisoned += hit.map { chosen[$0] }
      } else {
        poisoned += poisoning.poison(&train, rng: &rng)
      }
      if probe == nil { probe = poisoning.probe(test: test) }
    }
    let normalizer = normalizer(fittedTo: train)
    let auditProbe = auditProbe(rawTest: test, normalizer: normalizer)
    normalizer.apply(to: &train)
    normalizer.apply(to: &test)
    if probe != nil, var inputs = probe?.inputs {
      normalizer.apply(to: &inputs)
      probe?.inputs = inputs
    }
    return PreparedData(
      train: train, test: test, probe: probe, auditProbe: auditProbe, poisoned: poisoned.sorted(),
      normalizer: normalizer)
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
    // An option the run would ignore is refused, not dropped.
    if !optionProblems.isEmpty {
      throw .scenario(
        ScenarioErrors(
          source: scenario.name, errors: optionProblems.map { ScenarioError(.root, $0) }))
    }
    let runner: any Runner =
      if let federation = scenario.federation {
        FederatedSimulation(experiment: self, federation: federation)
      } else if let pipeline = scenario.pipeline {
        PipelineRun(experiment: self, settings: pipeline)
      } else {
        CentralizedRun(experiment: self)
      }
    return try finish(runner.train(progress: progress, emit: emit), emit: emit)
  }

  /// The run's configuration, for telling runs apart in `report`: FNV-1a of
  /// the resolved scenario (defaults written, keys sorted) without what does
  /// not change the results or is meant to vary between repetitions:
  /// `seed`, `description`, `expect` and `sweep`.
  public var configID: String {
    guard case .object(let members) = scenario.resolved else { return "" }
    let kept = members.filter { !["seed", "description", "expect", "sweep"].contains($0.key) }
    return SweepPlan.fnv1a(SweepPlan.canonical(.object(kept)).serialized())
  }

  /// The summary record: the last round plus totals and the `expect` verdict.
  /// - Parameters:
  ///   - last: the last round's record.
  ///   - total: seconds of the whole run.
  ///   - maliciousTotal: malicious items over the run.
  ///   - flaggedTotal: flagged items over the run.
  ///   - ran: rounds run (fewer than `training.rounds` when resumed from a checkpoint).
  ///   - complete: adds the totals of the run's other parts (channel,
  ///     safeguards) before `expect` is judged.
  /// - Returns: the summary record.
  func summarize(
    last: MetricRecord, seconds total: Double, maliciousTotal: Int, flaggedTotal: Int,
    ran: Int? = nil, complete: (inout MetricRecord.Totals) -> Void = { _ in }
  ) -> MetricRecord {
    var summary = last
    summary.kind = .summary
    let rounds = ran ?? scenario.training.rounds
    var totals = MetricRecord.Totals(
      rounds: rounds, totalSeconds: total, meanSecondsPerRound: total / Double(max(1, rounds)),
      maliciousTotal: maliciousTotal, flaggedTotal: flaggedTotal, expectPassed: nil,
      expectMisses: [])
    totals.configID = configID
    complete(&totals)
    summary.totals = totals
    let monitored = scenario.safeguards.monitor != nil
    let misses = scenario.expectations.compactMap {
      $0.miss(summary.metric($0.metric), monitored: monitored)
    }
    summary.totals?.expectPassed = scenario.expectations.isEmpty ? nil : misses.isEmpty
    summary.totals?.expectMisses = misses
    return summary
  }

  /// Largest parameter count accepted (4 GiB of float32).
  public static let maxParameters = 1 << 30
  /// Largest total of trainer workspaces accepted.
  public static let maxTrainingBytes = 16 << 30

  /// Rejects models or batches too large for memory before allocating them.
  func checkSize(_ network: Network, batch: Int, trainers: Int) throws(RunFailure) {
    let problems = sizeProblems(network, batch: batch, trainers: trainers)
    if !problems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: problems))
    }
  }

  /// The memory estimate with the loaded data's real size against ``memoryBudget``.
  func checkMemory(_ network: Network, size: DataSize) throws(RunFailure) {
    guard let memoryBudget else { return }
    let estimate = memoryEstimate(size: size, network: network)
    if let problem = Self.memoryProblem(estimate, budget: memoryBudget) {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
    }
  }

  /// The parameter cap and the training-buffer cap, as scenario errors.
  func sizeProblems(_ network: Network, batch: Int, trainers: Int) -> [ScenarioError] {
    if network.parameterCount > Self.maxParameters {
      return [
        ScenarioError(
          JSONPath.root.appending("model"),
          "has \(network.parameterCount) parameters, more than the \(Self.maxParameters) poisonlab accepts"
        )
      ]
    }
    let bytes = network.trainingBytes(batch: batch).multipliedSaturating(trainers)
    if bytes > Self.maxTrainingBytes {
      let gib = Double(bytes) / Double(1 << 30)
      return [
        ScenarioError(
          JSONPath.root.appending("training").appending("batch_size"),
          "a batch of \(batch) would need \(Int(gib.rounded(.up))) GiB of training buffers for this model "
            + "(limit \(Self.maxTrainingBytes >> 30) GiB); use a smaller batch or model, or fewer --threads"
        )
      ]
    }
    return []
  }

  /// Clean accuracy and loss, and the attack's success on its probe.
  func evaluate(
    parameters: [Float], test: Dataset, probe: AttackProbe?, evaluators: [Evaluator], round: Int
  ) -> MetricRecord {
    let clean = Evaluator.evaluate(parameters: parameters, on: test, using: evaluators)
    var confusion = [[Int]](
      repeating: [Int](repeating: 0, count: test.classes), count: test.classes)
    for (i, label) in test.labels.enumerated() {
      let t = Int(label)
      let p = Int(clean.predictions[i])
      if t >= 0 && t < test.classes && p >= 0 && p < test.classes { confusion[t][p] += 1 }
    }
    var attackSuccess: Double?
    var robust: Double?
    if let probe, probe.inputs.count > 0 {
      let result = Evaluator.evaluate(parameters: parameters, on: probe.inputs, using: evaluators)
      let hits = result.predictions.reduce(0) { $0 + ($1 == probe.target ? 1 : 0) }
      attackSuccess = Double(hits) / Double(probe.inputs.count)
      if probe.reportsRobustAccuracy { robust = result.accuracy }
    }
    var record = MetricRecord(
      kind: .round, scenario: scenario.name, round: round, accuracy: clean.accuracy,
      loss: clean.meanLoss, attackSuccess: attackSuccess, robustAccuracy: robust,
      malicious: 0, flagged: 0, detectionPrecision: nil, detectionRecall: nil, seconds: 0)
    record.confusion = confusion
    record.classAccuracy = confusion.enumerated().map { c, row in
      let total = row.reduce(0, +)
      return total > 0 ? Double(row[c]) / Double(total) : nil
    }
    return record
  }
}

extension ModelArchitecture {
  /// The plug-in's scenario name.
  var descriptorName: String { Self.descriptor.name }
}
