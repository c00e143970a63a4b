import Dispatch

/// A retraining pipeline (`sources` and `pipeline`): a centralized model
/// trained again and again as data arrives from named sources, some of them
/// untrusted.
///
/// 1. Load; split the training set among the sources by their shares
///    (``SourceSplit``, stratified); the attack poisons only its `sources`'
///    samples (raw units); normalise with the training set's statistics.
/// 2. Hold out, from the trusted sources, the validation gate's set
///    (`safeguards.validation.size`, stream `("validation")`) and the source
///    filter's set (`validation_size`, stream `("provenance")`).
/// 3. Cycle 0 trains on the first `initial_share` of every source; cycle
///    c = 1...C brings the next equal slice of every source's rest. In each
///    cycle the source filter screens the untrusted deliveries (the
///    trusted ones are never screened), then the model trains
///    `epochs_per_cycle` epochs: from the live model on the cycle's
///    accepted data (`fine-tune`), or from the initial weights on all data
///    accepted so far (`retrain`), with the stream `("pipeline", c, epoch)`.
/// 4. The safeguards review the new model with the same
///    ``SafeguardStage`` a federated round uses: the gate evaluates it on
///    held-out trusted data before it goes live (a rejected cycle leaves the
///    model unchanged and its data unused), the monitor watches
///    `validation_accuracy`, `class_accuracy` and `new_data_loss`, the
///    quarantine shuts out sources flagged in `after` of their last `window`
///    deliveries, and a response restores the model saved before the cycle
///    (`rollback`) or retrains from the initial weights on the data accepted
///    so far (`retrain`), without the suspected sources (an alarm that names
///    no source suspects every untrusted source of the cycle).
/// 5. Each cycle is a round row (round 0 = the initial training); the
///    summary adds per-delivery detection of the poisoned sources.
struct PipelineRun: Runner {
  let experiment: Experiment
  let settings: PipelineSettings

  var scenario: Scenario { experiment.scenario }

  func train(
    progress: ((ProgressEvent) -> Void)?, emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> TrainedModel {
    let clock = ContinuousClock()
    let started = clock.now
    let seeds = SeedTree(scenario.seed)
    let sources = scenario.sources
    // The split reads the clean labels; the attack then poisons only its sources' samples.
    var split: SourceSplit?
    let data = try experiment.prepareData { clean in
      let made = SourceSplit(
        labels: clean.labels, classes: clean.classes, shares: sources.map(\.share), seeds: seeds)
      split = made
      return scenario.poisonedSources.map { names in
        sources.indices.filter { names.contains(sources[$0].name) }.flatMap { made.members[$0] }
          .sorted()
      }
    }
    guard var split else {
      throw .scenario(
        ScenarioErrors(
          source: scenario.name,
          errors: [ScenarioError(JSONPath.root.appending("sources"), "no sources to split")]))
    }
    let train = data.train
    let test = data.test
    let probe = data.probe
    let poisoned = data.poisoned
    let normalizer = data.normalizer
    var owner = [Int](repeating: 0, count: train.count)
    for (s, members) in split.members.enumerated() { for i in members { owner[i] = s } }
    let poisonedSet = Set(poisoned)
    let poisonedSources = Set(poisoned.map { owner[$0] })

    // Trusted held-out sets.
    let trustedSources = sources.indices.filter { sources[$0].trusted }
    let untrustedSources = sources.indices.filter { !sources[$0].trusted }
    let filter = scenario.defenses.first?.defense as? any SourceFilter
    let trustedCount = trustedSources.reduce(0) { $0 + split.members[$1].count }
    if let problem = experiment.heldOutProblem(trusted: trustedCount) {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
    }
    if let size = scenario.safeguards.validation?.size {
      split.gateValidation = split.holdOut(
        size, from: trustedSources, labels: train.labels, classes: train.classes,
        stream: "validation", seeds: seeds)
    }
    if let size = filter?.validationSize, size > 0 {
      split.filterValidation = split.holdOut(
        size, from: trustedSources, labels: train.labels, classes: train.classes,
        stream: "provenance", seeds: seeds)
    }
    let splitProblems = split.problems(sources: sources, settings: settings, total: train.count)
    if !splitProblems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: splitProblems))
    }

    let network = scenario.model.build(input: train.shape, classes: train.classes)
    let batch = min(scenario.training.batchSize, max(1, train.count))
    let impactWorkers = experiment.pipelineFitWorkers
    try experiment.checkSize(network, batch: batch, trainers: impactWorkers)
    try experiment.checkMemory(
      network,
      size: DataSize(
        train: train.count, test: test.count, shape: train.shape, classes: train.classes))
    progress?(
      .prepared(
        "\(sources.count) sources (\(trustedSources.count) trusted), \(train.count) training samples "
          + "(\(poisoned.count) poisoned), \(settings.cycles) cycles; "
          + "\(scenario.model.descriptorName) with \(network.parameterCount) parameters"))
    var rng = seeds.generator("init")
    let initial = network.initialParameters(using: &rng)
    // A pipeline replays its deliveries from cycle 0: it has no round to resume after.
    if experiment.modelFiles.initial != nil {
      throw .scenario(
        ScenarioErrors(
          source: scenario.name,
          errors: [
            ScenarioError(
              JSONPath.root.appending("pipeline"),
              "--init-model is not supported for pipelines (each run replays every delivery from cycle 0)"
            )
          ]))
    }
    var live = initial
    BLAS.setThreads(1)
    // One trainer per worker when a source filter's impact test fits its
    // candidates in parallel; the cycle's own fit uses the first.
    let trainers = (0..<impactWorkers).map { _ in
      Trainer(network: network, batchSize: batch, optimizer: scenario.training.optimizer)
    }
    let evaluators = (0..<experiment.threads).map { _ in Evaluator(network: network) }
    let filterSet = train.subset(split.filterValidation)
    let cycles = settings.cycles

    /// Trains `epochs_per_cycle` epochs from `start` on `indices`.
    func fit(
      _ start: [Float], _ indices: [Int], cycle: Int, report: Bool = false, worker: Int = 0
    ) throws(RunFailure) -> [Float] {
      var parameters = start
      guard !indices.isEmpty else { return parameters }
      let data = train.subset(indices.sorted())
      let trainer = trainers[worker]
      trainer.resetOptimizerState()
      for epoch in 1...settings.epochsPerCycle {
        var shuffle = seeds.generator("pipeline", cycle, epoch)
        let result = trainer.train(parameters: &parameters, on: data, rng: &shuffle) {
          done, total in
          if report {
            progress?(
              .training(
                round: cycle, rounds: cycles, done: done, total: total, unit: "samples",
                roundName: "cycle"))
          }
        }
        guard result.isFinite else {
          throw .diverged(
            round: cycle,
            detail:
              "the training loss or a weight became NaN or infinite; lower training.learning_rate "
              + "(now \(scenario.training.optimizer.learningRate)) or check the data's normalisation"
          )
        }
      }
      return parameters
    }
    func accuracy(_ parameters: [Float], worker: Int = 0) -> Double {
      Evaluator.evaluate(parameters: parameters, on: filterSet, using: [evaluators[worker]])
        .accuracy
    }
    /// The impact test's fits (the trusted data alone, then with each
    /// candidate), spread over the workers: each fit has its own trainer
    /// and evaluator and writes its own entry. A fit that diverges fails
    /// the run (the first in candidate order).
    func impact(start: [Float], trusted: [Int], candidates: [[Int]], cycle: Int)
      throws(RunFailure) -> (base: Double, with: [Double])
    {
      let jobs = [[]] + candidates
      var results = [Result<Double, RunFailure>](repeating: .success(0), count: jobs.count)
      let workers = min(impactWorkers, jobs.count)
      let test: (Int, Int) -> Result<Double, RunFailure> = { k, worker in
        do throws(RunFailure) {
          let fitted = try fit(start, trusted + jobs[k], cycle: cycle, worker: worker)
          return .success(accuracy(fitted, worker: worker))
        } catch {
          return .failure(error)
        }
      }
      results.withUnsafeMutableBufferPointer { entries in
        guard let target = entries.baseAddress else { return }
        let shared = Unchecked(target)
        let job = Unchecked(test)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          for k in stride(from: worker, to: jobs.count, by: workers) {
            shared.value[k] = job.value(k, worker)
          }
        }
      }
      let accuracies = try results.map { result throws(RunFailure) in try result.get() }
      return (accuracies[0], Array(accuracies.dropFirst()))
    }

    var stage =
      scenario.safeguards.isEmpty
      ? nil
      : SafeguardStage(
        settings: scenario.safeguards, validation: train.subset(split.gateValidation),
        initial: initial, evaluators: evaluators, current: live, firstRound: 0)
    var accepted: [Int] = []
    var banned = Set<Int>()
    var deliveredPoisoned = 0
    var deliveriesFlagged = 0
    var flaggedPoisoned = 0
    var flaggedSources = Set<Int>()
    var maliciousTotal = 0
    var flaggedTotal = 0
    var last: MetricRecord?
    let watchesNewData = scenario.safeguards.monitor?.signals.contains("new_data_loss") == true

    for cycle in 0...cycles {
      let roundStart = clock.now
      stage?.begin(round: cycle, global: live)
      let shut = banned.union(stage?.quarantine.clients ?? [])
      if trustedSources.isEmpty && untrustedSources.allSatisfy({ shut.contains($0) }) {
        throw .defense(
          round: cycle,
          DefenseError(
            "quarantine", "every source is shut out; nothing is left to train on"))
      }
      let trustedDeliveries = trustedSources.map {
        split.delivery($0, cycle: cycle, settings: settings)
      }
      let trustedNew = Array(trustedDeliveries.joined())
      let deliveries = untrustedSources.filter { !shut.contains($0) }.map {
        (source: $0, samples: split.delivery($0, cycle: cycle, settings: settings))
      }
      let start = settings.mode == .fineTune ? live : initial
      let base = settings.mode == .fineTune ? [] : accepted

      var losses: [(id: Int, loss: Double, samples: Int)]?
      if watchesNewData && cycle > 0 {
        losses = deliveries.filter { !$0.samples.isEmpty }.map { delivery in
          let loss = Evaluator.evaluate(
            parameters: live, on: train.subset(delivery.samples), using: evaluators
          ).meanLoss
          return (delivery.source, loss, delivery.samples.count)
        }
      }

      var screened = ScreeningResult()
      if let filter {
        if filter.usesUntrusted {
          var failure: RunFailure?
          screened = filter.screen(
            Screening(
              deliveries: deliveries,
              impact: { candidates in
                do throws(RunFailure) {
                  return try impact(
                    start: start, trusted: base + trustedNew, candidates: candidates, cycle: cycle)
                } catch {
                  failure = error
                  return (0, candidates.map { _ in 0 })
                }
              }))
          if let failure { throw failure }
        } else {
          screened = filter.screen(
            Screening(
              deliveries: deliveries, impact: { candidates in (0, candidates.map { _ in 0 }) }))
        }
      }
      banned.formUnion(screened.banned)
      let rejected = Set(screened.samples)
      let cycleData =
        trustedNew + deliveries.flatMap(\.samples).filter { !rejected.contains($0) }
      var candidate = try fit(start, base + cycleData, cycle: cycle, report: true)
      progress?(.roundFinished(round: cycle))

      let cyclePoisoned = (trustedNew + deliveries.flatMap(\.samples)).filter {
        poisonedSet.contains($0)
      }.count
      var figures: MetricRecord.SafeguardFigures?
      var keep = true
      if var guardrail = stage {
        let ids = deliveries.filter { !$0.samples.isEmpty }.map(\.source)
        let responses = guardrail.responses
        let review = guardrail.review(
          round: cycle, global: live, candidate: candidate,
          aggregate: zip(candidate, live).map { $0 - $1 },
          updates: UpdateSet(values: [], count: 0, dimension: network.parameterCount), ids: ids,
          flagged: Set(screened.sources), seeds: seeds, evaluators: evaluators,
          threads: experiment.threads, sourceLosses: losses, blame: ids)
        candidate = review.model
        if review.gate == "rejected" { keep = false }
        if guardrail.responses > responses {
          keep = false
          let out = guardrail.quarantine.clients
          accepted.removeAll { out.contains(owner[$0]) }
          if scenario.safeguards.response == .retrain {
            // Restart from the initial weights on the data accepted so far, without the suspects.
            candidate = try fit(initial, accepted, cycle: cycle)
            // The retrained model goes live: the gate judges the next
            // cycles against it, not against the untrained initial weights.
            guardrail.restarted(with: candidate, evaluators: evaluators)
          }
        }
        let (rowFigures, alarms) = guardrail.account(
          review, round: cycle, attacked: cyclePoisoned > 0, scenario: scenario.name
        ) { !poisonedSources.contains($0) }
        figures = rowFigures
        stage = guardrail
        for record in alarms {
          do { try emit(record) } catch { throw .output(error) }
        }
      }
      if keep { accepted += cycleData }
      live = candidate
      guard live.allSatisfy({ $0.isFinite }) else {
        throw .diverged(round: cycle, detail: "the model became NaN or infinite")
      }

      // Detection: samples, deliveries and sources, against everything poisoned: a trusted
      // source is never screened, so its poisoned deliveries count as missed.
      flaggedSources.formUnion(screened.sources)
      deliveredPoisoned +=
        trustedDeliveries.filter { $0.contains(where: poisonedSet.contains) }
        .count
      let caught = rejected.filter { poisonedSet.contains($0) }.count
      for delivery in deliveries where !delivery.samples.isEmpty {
        let bad = delivery.samples.contains { poisonedSet.contains($0) }
        if bad { deliveredPoisoned += 1 }
        if screened.sources.contains(delivery.source) {
          deliveriesFlagged += 1
          if bad { flaggedPoisoned += 1 }
        }
      }
      maliciousTotal += cyclePoisoned
      flaggedTotal += rejected.count
      try experiment.checkpoint(
        round: cycle, parameters: live, network: network, input: train.shape,
        normalizer: normalizer)
      guard scenario.records(round: cycle) else { continue }
      var record = experiment.evaluate(
        parameters: live, test: test, probe: probe, evaluators: evaluators, round: cycle)
      record.malicious = cyclePoisoned
      record.flagged = rejected.count
      record.detectionPrecision = rejected.isEmpty ? nil : Double(caught) / Double(rejected.count)
      record.detectionRecall =
        cyclePoisoned > 0 && filter != nil ? Double(caught) / Double(cyclePoisoned) : nil
      record.flaggedClients = screened.sources.sorted()
      record.safeguards = figures
      record.seconds = (clock.now - roundStart).inSeconds
      last = record
      do { try emit(record) } catch { throw .output(error) }
    }
    let safeguardTotals = stage?.totals
    let caughtSources = flaggedSources.intersection(poisonedSources).count
    let screening =
      filter == nil
      ? nil
      : (
        sources: flaggedSources.sorted().map { sources[$0].name },
        sourcePrecision: flaggedSources.isEmpty
          ? nil : Double(caughtSources) / Double(flaggedSources.count),
        sourceRecall: poisonedSources.isEmpty
          ? nil : Double(caughtSources) / Double(poisonedSources.count),
        precision: deliveriesFlagged > 0
          ? Double(flaggedPoisoned) / Double(deliveriesFlagged) : nil,
        recall: deliveredPoisoned > 0 ? Double(flaggedPoisoned) / Double(deliveredPoisoned) : nil
      )
    return TrainedModel(
      parameters: live, network: network, round: cycles, input: train.shape,
      normalizer: normalizer, test: test, probe: probe, auditProbe: data.auditProbe,
      evaluators: evaluators, last: last, started: started, maliciousTotal: maliciousTotal,
      flaggedTotal: flaggedTotal, ran: cycles + 1
    ) { totals in
      totals.safeguards = safeguardTotals
      if let screening {
        totals.flaggedSources = screening.sources
        totals.sourceDetectionPrecision = screening.sourcePrecision
        totals.sourceDetectionRecall = screening.sourceRecall
        totals.deliveryDetectionPrecision = screening.precision
        totals.deliveryDetectionRecall = screening.recall
      }
    }
  }
}
