/// A centralized run (no `federation` block).
///
/// Load, subsample, poison (raw
/// units), normalise with the statistics of the training set as trained on,
/// optionally sanitise (train, remove suspected samples, train again), then
/// `training.rounds` epochs of minibatch SGD over the (poisoned) training
/// set, each epoch in a fresh seeded permutation (stream `("shuffle",
/// epoch)`). The federated counterpart is ``FederatedSimulation``; both are
/// dispatched by ``Experiment/run(progress:emit:)``.
struct CentralizedRun: Runner {
  let experiment: Experiment

  var scenario: Scenario { experiment.scenario }

  func train(
    progress: ((ProgressEvent) -> Void)?, emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> TrainedModel {
    let clock = ContinuousClock()
    let started = clock.now
    let seeds = SeedTree(scenario.seed)
    let data = try experiment.prepareData()
    let network = scenario.model.build(input: data.train.shape, classes: data.train.classes)
    let batch = min(scenario.training.batchSize, max(1, data.train.count))
    try experiment.checkSize(network, batch: batch, trainers: 1)
    try experiment.checkMemory(
      network,
      size: DataSize(
        train: data.train.count, test: data.test.count, shape: data.train.shape,
        classes: data.train.classes))
    progress?(
      .prepared(
        "\(data.train.count) training samples (\(data.poisoned.count) poisoned), \(data.test.count) test samples; "
          + "\(scenario.model.descriptorName) with \(network.parameterCount) parameters"))
    var rng = seeds.generator("init")
    var parameters = network.initialParameters(using: &rng)
    let firstRound: Int
    (parameters, firstRound) = try experiment.startingModel(
      parameters, network: network, input: data.train.shape)
    BLAS.setThreads(1)
    let training = scenario.training
    let trainer = Trainer(network: network, batchSize: batch, optimizer: training.optimizer)
    let evaluators = (0..<experiment.threads).map { _ in Evaluator(network: network) }
    var train = data.train
    var detection = (flagged: 0, precision: Double?.none, recall: Double?.none)
    if let sanitizer = scenario.defenses.first?.defense as? any DataSanitizer {
      let removed = try sanitize(
        sanitizer, data: data, network: network, trainer: trainer, evaluator: evaluators[0],
        progress: progress)
      let poisoned = Set(data.poisoned)
      let caught = removed.filter { poisoned.contains($0) }.count
      detection = (
        removed.count, removed.isEmpty ? nil : Double(caught) / Double(removed.count),
        poisoned.isEmpty ? nil : Double(caught) / Double(poisoned.count)
      )
      let kept = Set(removed)
      train = train.subset((0..<train.count).filter { !kept.contains($0) })
      trainer.resetOptimizerState()
      progress?(
        .prepared(
          "removed \(removed.count) training samples (\(caught) poisoned); training again on \(train.count)"
        ))
    }
    var last: MetricRecord?
    for round in stride(from: firstRound, through: training.rounds, by: 1) {
      let roundStart = clock.now
      var shuffle = seeds.generator("shuffle", round)
      let result = trainer.train(parameters: &parameters, on: train, rng: &shuffle) {
        done, total in
        progress?(
          .training(
            round: round, rounds: training.rounds, done: done, total: total, unit: "samples",
            roundName: "epoch"))
      }
      progress?(.roundFinished(round: round))
      guard result.isFinite else {
        throw .diverged(
          round: round,
          detail:
            "the training loss or a weight became NaN or infinite; lower training.learning_rate "
            + "(now \(training.optimizer.learningRate)) or check the data's normalisation")
      }
      try experiment.checkpoint(
        round: round, parameters: parameters, network: network, input: data.train.shape,
        normalizer: data.normalizer)
      guard scenario.records(round: round) else { continue }
      var record = experiment.evaluate(
        parameters: parameters, test: data.test, probe: data.probe, evaluators: evaluators,
        round: round)
      record.malicious = data.poisoned.count
      record.flagged = detection.flagged
      record.detectionPrecision = detection.precision
      record.detectionRecall = detection.recall
      record.seconds = (clock.now - roundStart).inSeconds
      last = record
      do { try emit(record) } catch { throw .output(error) }
    }
    return TrainedModel(
      parameters: parameters, network: network, round: max(training.rounds, firstRound - 1),
      input: data.train.shape, normalizer: data.normalizer, test: data.test, probe: data.probe,
      auditProbe: data.auditProbe, evaluators: evaluators, last: last, started: started,
      maliciousTotal: data.poisoned.count, flaggedTotal: detection.flagged,
      ran: training.rounds - firstRound + 1)
  }

  /// Trains a model on the poisoned data (`training.rounds` epochs, its own
  /// random streams), and asks the sanitizer which samples to remove, from
  /// the penultimate-layer representations (the inputs for a one-layer model).
  private func sanitize(
    _ sanitizer: any DataSanitizer, data: Experiment.PreparedData, network: Network,
    trainer: Trainer,
    evaluator: Evaluator,
    progress: ((ProgressEvent) -> Void)?
  ) throws(RunFailure) -> [Int] {
    let seeds = SeedTree(scenario.seed)
    var rng = seeds.generator("sanitizer", "init")
    var parameters = network.initialParameters(using: &rng)
    let rounds = scenario.training.rounds
    for round in stride(from: 1, through: rounds, by: 1) {
      var shuffle = seeds.generator("sanitizer", "shuffle", round)
      let result = trainer.train(parameters: &parameters, on: data.train, rng: &shuffle) {
        done, total in
        progress?(
          .training(
            round: round, rounds: rounds, done: done, total: total, unit: "samples",
            roundName: "epoch"))
      }
      progress?(.roundFinished(round: round))
      guard result.isFinite else {
        throw .diverged(
          round: round,
          detail: "training the model the sanitizer inspects diverged; lower training.learning_rate"
        )
      }
    }
    let layers = network.layers.count
    let (representations, width) =
      layers >= 2
      ? (
        evaluator.activations(parameters: parameters, on: data.train, layer: layers - 2),
        network.layers[layers - 2].outputShape.count
      )
      : (data.train.features, data.train.shape.count)
    do {
      return try sanitizer.suspects(
        representations: representations, width: width, labels: data.train.labels,
        classes: data.train.classes)
    } catch {
      throw .defense(round: 0, error)
    }
  }
}
