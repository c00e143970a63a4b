/// A federated simulation (the scenario's `federation` block).
///
/// Setup: the training set is split among `clients` by the partition; each
/// malicious client of a data-poisoning group poisons `poison_fraction` of
/// its local data (raw units); every dataset is then normalised with the
/// statistics of the training data as the clients hold it.
///
/// Each round `r`:
/// 1. `clients_per_round` clients are sampled without replacement (stream
///    `("select", r)`); active attackers of `scheduled` groups are always
///    included, the rest of the round is sampled.
/// 2. Selected clients train from the global weights (`local_epochs`, or
///    `local_steps`) on their data, in parallel, each with the stream
///    `("client", r, id)`, and send `update = local - global`. Active
///    data-poisoning attackers train on their poisoned data and multiply the
///    update by the attack's `scale`; active crafted-update attackers send
///    the attack's updates, computed from what their `knowledge` lets them
///    see. Inactive attackers behave honestly.
/// 3. Updates are ordered by client id. If any defense of the chain is
///    robust, updates holding NaN/Inf are rejected (and flagged) first; the
///    filters run in order, then the aggregator.
/// 4. `global += server_learning_rate * aggregate`; a non-finite global model,
///    or a finite one whose test loss is not (outputs that overflow), stops
///    the run as diverged.
///
/// Round records report `malicious` (updates from active attackers received),
/// `flagged` (updates rejected or given zero weight), and detection
/// precision and recall of the flags against the truly malicious updates.
struct FederatedSimulation: Runner {
  let experiment: Experiment
  let federation: FederationSettings

  var scenario: Scenario { experiment.scenario }

  /// What a client is.
  enum Role {
    case honest
    case dataAttacker(group: Int)
    case updateAttacker(group: Int)
  }

  /// The data and roles of every client.
  struct Setup {
    var clean: [Dataset]
    var poisoned: [Dataset?]
    var roles: [Role]
    var groups: [AttackGroup]
    var test: Dataset
    var probe: AttackProbe?
    /// The audit's backdoor probe, normalised.
    var auditProbe: AttackProbe?
    var poisonedSamples: Int
    /// The server's clean root data (rules with a `rootSize`), normalised.
    var root: Dataset?
    /// The validation gate's held-out clean data, normalised.
    var validation: Dataset?
    /// The normalisation applied (raw inputs: `(x - offset) * factor`).
    var normalizer: Normalizer
  }

  func prepare() throws(RunFailure) -> Setup {
    let seeds = SeedTree(scenario.seed)
    var (train, test) = try experiment.loadData()
    var validation: Dataset?
    if let size = scenario.safeguards.validation?.size {
      if let problem = experiment.validationProblem(train: train.count) {
        throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
      }
      validation = train.carve(size, rng: seeds.generator("validation"))
    }
    var root: Dataset?
    if let size = DefenseChain(scenario.defenses.map(\.defense)).rootSize {
      if let problem = experiment.rootProblem(train: train.count) {
        throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
      }
      root = train.carve(size, rng: seeds.generator("root"))
    }
    var rng = seeds.generator("partition")
    let parts = federation.partition.assign(
      labels: train.labels, classes: train.classes, clients: federation.clients, rng: &rng)
    var clean = parts.map { train.subset($0) }
    var roles = [Role](repeating: .honest, count: federation.clients)
    var groups: [AttackGroup] = []
    var poisoned = [Dataset?](repeating: nil, count: federation.clients)
    var poisonedSamples = 0
    var probe: AttackProbe?
    for (g, entry) in scenario.attacks.enumerated() {
      let group =
        entry.group
        ?? AttackGroup(clients: [], startRound: 1, endRound: nil, every: 1, participation: .sampled)
      groups.append(group)
      if let poisoning = entry.attack as? any DataPoisoning {
        for (attacker, client) in group.clients.enumerated() {
          roles[client] = .dataAttacker(group: g)
          var copy = clean[client]
          var attackRng = seeds.generator("attack", g, client)
          poisonedSamples += poisoning.poison(&copy, rng: &attackRng, attacker: attacker).count
          poisoned[client] = copy
        }
        if probe == nil { probe = poisoning.probe(test: test) }
      } else {
        for client in group.clients { roles[client] = .updateAttacker(group: g) }
      }
    }
    // Normalise with the statistics of the training data as the clients hold it.
    var held = train
    held.features = []
    held.labels = []
    for client in 0..<federation.clients {
      let data = poisoned[client] ?? clean[client]
      held.features += data.features
      held.labels += data.labels
    }
    let normalizer = experiment.normalizer(fittedTo: held)
    for client in 0..<federation.clients {
      normalizer.apply(to: &clean[client])
      if poisoned[client] != nil, var data = poisoned[client] {
        normalizer.apply(to: &data)
        poisoned[client] = data
      }
    }
    let auditProbe = experiment.auditProbe(rawTest: test, normalizer: normalizer)
    normalizer.apply(to: &test)
    if root != nil, var data = root {
      normalizer.apply(to: &data)
      root = data
    }
    if validation != nil, var data = validation {
      normalizer.apply(to: &data)
      validation = data
    }
    if probe != nil, var inputs = probe?.inputs {
      normalizer.apply(to: &inputs)
      probe?.inputs = inputs
    }
    train = held
    return Setup(
      clean: clean, poisoned: poisoned, roles: roles, groups: groups, test: test, probe: probe,
      auditProbe: auditProbe, poisonedSamples: poisonedSamples, root: root, validation: validation,
      normalizer: normalizer)
  }

  /// The clients selected in `round`, ascending; quarantined clients
  /// (`excluded`) are never selected.
  func select(round: Int, setup: Setup, excluded: Set<Int> = []) -> [Int] {
    let eligible = (0..<federation.clients).filter { !excluded.contains($0) }
    let k = federation.clientsPerRound
    if k >= eligible.count { return eligible }
    var forced: [Int] = []
    for group in setup.groups where group.participation == .scheduled && group.isActive(round) {
      forced += group.clients.filter { !excluded.contains($0) }
    }
    forced = Array(Set(forced).sorted().prefix(k))
    let isForced = Set(forced)
    var others = eligible.filter { !isForced.contains($0) }
    var rng = SeedTree(scenario.seed).generator("select", round)
    rng.shuffle(&others)
    return (forced + others.prefix(k - forced.count)).sorted()
  }

  func train(
    progress: ((ProgressEvent) -> Void)?, emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> TrainedModel {
    let clock = ContinuousClock()
    let started = clock.now
    let seeds = SeedTree(scenario.seed)
    let setup = try prepare()
    let inputShape = setup.clean[0].shape
    let network = scenario.model.build(input: inputShape, classes: setup.test.classes)
    let largest = setup.clean.map(\.count).max() ?? 1
    let batch = min(scenario.training.batchSize, max(1, largest))
    let workers = min(experiment.threads, federation.clientsPerRound)
    try experiment.checkSize(network, batch: batch, trainers: workers)
    try experiment.checkMemory(
      network,
      size: DataSize(
        train: setup.clean.map(\.count).reduce(0, +), test: setup.test.count,
        shape: inputShape, classes: setup.test.classes))
    progress?(
      .prepared(
        "\(federation.clients) clients (\(setup.clean.map(\.count).reduce(0, +)) training samples, "
          + "\(setup.poisonedSamples) poisoned), \(federation.clientsPerRound) per round; "
          + "\(scenario.model.descriptorName) with \(network.parameterCount) parameters"))
    var rng = seeds.generator("init")
    var global = network.initialParameters(using: &rng)
    let fresh = global
    let firstRound: Int
    (global, firstRound) = try experiment.startingModel(global, network: network, input: inputShape)
    BLAS.setThreads(1)
    let training = scenario.training
    let trainers = ClientTrainers(
      network: network, batchSize: batch, optimizer: training.optimizer, workers: workers)
    let evaluators = (0..<experiment.threads).map { _ in Evaluator(network: network) }
    var chain = DefenseChain(scenario.defenses.map(\.defense))
    var channel = ChannelStage(scenario: scenario, samples: setup.clean.map(\.count))
    var channelTotals = MetricRecord.ChannelCounts()
    var secureFailedRounds = 0
    var safeguards =
      scenario.safeguards.isEmpty
      ? nil
      : SafeguardStage(
        settings: scenario.safeguards, validation: setup.validation, initial: fresh,
        evaluators: evaluators, current: global, firstRound: firstRound)
    var previousAggregate: [Float]?
    var maliciousTotal = 0
    var flaggedTotal = 0
    // Nil once a round ran under secure aggregation.
    var downweightedTotal: Int? = 0
    var last: MetricRecord?
    let d = network.parameterCount

    // Each round's sampling rate for the privacy accountant: a client's
    // chance of selection, k over the clients not quarantined. The rounds
    // before a resume come from the checkpoint (older files: the
    // configured rate).
    var samplingRates =
      experiment.resumedSamplingRates(rounds: max(0, firstRound - 1))
      ?? [Double](
        repeating: Double(federation.clientsPerRound) / Double(federation.clients),
        count: max(0, firstRound - 1))
    for round in stride(from: firstRound, through: training.rounds, by: 1) {
      let roundStart = clock.now
      safeguards?.begin(round: round, global: global)
      let excluded = safeguards?.quarantine.clients ?? []
      let selected = select(round: round, setup: setup, excluded: excluded)
      let eligible = (0..<federation.clients).filter { !excluded.contains($0) }.count
      samplingRates.append(min(1, Double(federation.clientsPerRound) / Double(max(1, eligible))))
      guard !selected.isEmpty else {
        throw .defense(
          round: round,
          DefenseError("quarantine", "every client is quarantined; nothing is left to train"))
      }
      // What each selected client does this round.
      var jobs: [ClientTrainers.Job] = []
      var jobOf: [Int?] = []  // per selected position: its training job
      var crafted: [Int: [Int]] = [:]  // group -> positions of active crafted attackers
      var malicious = [Bool](repeating: false, count: selected.count)
      var finishers = [(any DataPoisoning)?](repeating: nil, count: selected.count)
      for (position, client) in selected.enumerated() {
        let clientRng = seeds.generator("client", round, client)
        switch setup.roles[client] {
        case .dataAttacker(let g) where setup.groups[g].isActive(round):
          malicious[position] = true
          let poisoning = scenario.attacks[g].attack as? any DataPoisoning
          finishers[position] = poisoning
          jobOf.append(jobs.count)
          jobs.append(
            .init(
              data: setup.poisoned[client] ?? setup.clean[client], rng: clientRng,
              epochs: poisoning?.localEpochs,
              learningRate: poisoning?.localLearningRate.map(Float.init)))
        case .updateAttacker(let g) where setup.groups[g].isActive(round):
          malicious[position] = true
          crafted[g, default: []].append(position)
          jobOf.append(nil)
        default:
          jobOf.append(jobs.count)
          jobs.append(.init(data: setup.clean[client], rng: clientRng))
        }
      }
      // Crafted-update attackers that need their own benign updates train too.
      let honestCount = selected.indices.filter { !malicious[$0] }.count
      var ownJob: [Int: Int] = [:]  // position -> job
      for g in crafted.keys.sorted() {
        guard let attack = scenario.attacks[g].attack as? any UpdateAttack else { continue }
        if attack.knowledge == .own || attack.needsOwnUpdates || honestCount == 0 {
          for position in crafted[g] ?? [] {
            ownJob[position] = jobs.count
            jobs.append(
              .init(
                data: setup.clean[selected[position]],
                rng: seeds.generator("client", round, selected[position])))
          }
        }
      }
      // The server trains on its root data when a defense needs its update.
      var serverJob: Int?
      if let root = setup.root {
        serverJob = jobs.count
        jobs.append(.init(data: root, rng: seeds.generator("server", round)))
      }
      let total = jobs.count
      let rows = trainers.train(
        jobs, from: global, epochs: training.localEpochs, steps: training.localSteps
      ) { done in
        progress?(
          .training(
            round: round, rounds: training.rounds, done: min(done, total), total: total,
            unit: "clients", roundName: "round"))
      }
      progress?(.roundFinished(round: round))

      // Assemble the updates in client order.
      var received = [Float](repeating: 0, count: selected.count * d)
      received.withUnsafeMutableBufferPointer { out in
        rows.withUnsafeBufferPointer { trained in
          guard let to = out.baseAddress, let from = trained.baseAddress else { return }
          for position in selected.indices {
            guard let job = jobOf[position] else { continue }
            (to + position * d).update(from: from + job * d, count: d)
          }
        }
      }
      // Data-poisoning attacks finish their clients' updates (in position order).
      for position in selected.indices {
        guard jobOf[position] != nil, let attack = finishers[position] else { continue }
        let range = (position * d)..<((position + 1) * d)
        var update = Array(received[range])
        attack.finish(&update, previousAggregate: previousAggregate)
        received.replaceSubrange(range, with: update)
      }
      let honestPositions = selected.indices.filter { !malicious[$0] }
      for g in crafted.keys.sorted() {
        guard let attack = scenario.attacks[g].attack as? any UpdateAttack,
          let positions = crafted[g]
        else { continue }
        let ownRows = positions.compactMap { ownJob[$0] }
        let own = ownRows.count == positions.count ? gather(rows, ownRows, d: d) : nil
        let benign: UpdateSet
        if attack.knowledge == .omniscient && !honestPositions.isEmpty {
          benign = gather(received, honestPositions, d: d)
        } else {
          benign = own ?? gather(received, honestPositions, d: d)
        }
        var attackRng = seeds.generator("attack", g, round)
        var view = AttackView(
          benign: benign, own: own, attackers: positions.count, received: selected.count)
        let log = ProbeLog()
        if attack.knowsDefense {
          view.defenseSelects = chain.selectsRows
          view.defense = defenseProbe(
            chain: chain, group: g, positions: positions, received: received, selected: selected,
            benign: benign, omniscient: attack.knowledge == .omniscient, setup: setup, round: round,
            previousAggregate: previousAggregate, seeds: seeds,
            server: serverJob.map { Array(rows[($0 * d)..<(($0 + 1) * d)]) },
            quarantined: safeguards?.quarantine.clients.count ?? 0,
            selection: chain.selectsRows && attack.testsSelection, log: log)
        }
        let updates = attack.craft(view, rng: &attackRng)
        // A search that could never run the chain (or, against a selecting
        // rule, never saw it reject a row) would send a blind update.
        if let failure = log.blind {
          let own = attack.knowledge == .own
          let f = Self.ownProbeF(attackers: positions.count, received: selected.count)
          throw .attack(
            round: round, name: type(of: attack).descriptor.name,
            detail: "it knows the defense but could not evaluate it on any candidate"
              + (own
                ? " (knowledge own: its \(positions.count) own updates plus \(positions.count) candidates, f taken as \(f))"
                : "")
              + ": \(failure)"
              + (own ? "; use knowledge omniscient or a rule these rows allow" : ""))
        }
        for (k, position) in positions.enumerated() {
          received.replaceSubrange(
            (position * d)..<((position + 1) * d), with: updates[(k * d)..<((k + 1) * d)])
        }
      }

      // The channel: messages, attacks in transit, the server's checks.
      let arrival = channel.deliver(
        round: round, global: global,
        outgoing: outgoing(round: round, selected: selected, malicious: malicious, setup: setup),
        rows: received, d: d, groups: setup.groups, threads: experiment.threads)
      channelTotals.add(arrival.counts)

      // Selected clients left without an accepted message because the
      // channel rejected one (a forgery, tampered or replayed message in
      // their place): rules assume f less them. Rejected extra messages
      // (sybils, duplicates) leave no selected client silent and count not.
      let answered = Set(arrival.ids)
      let rejectedByChannel = min(
        arrival.rejectedIds.count, selected.filter { !answered.contains($0) }.count)
      // The defense chain, or secure aggregation.
      var aggregate = [Float](repeating: 0, count: d)
      var flaggedAccepted = [Bool](repeating: false, count: arrival.updates.count)
      // Nil under secure aggregation: the server sees no single update.
      var downweightedAccepted: [Bool]? = flaggedAccepted
      var secureFigures: MetricRecord.SecureAggregationFigures?
      var exportRound = false
      do {
        if let secure = scenario.channel.secureAggregation {
          let (sum, figures) = try SecureAggregator(settings: secure, seed: scenario.seed)
            .aggregate(
              arrival, chain: &chain, round: round, seeds: seeds, threads: experiment.threads)
          secureFigures = figures
          downweightedAccepted = nil
          if figures.failed { secureFailedRounds += 1 }
          if let sum { aggregate = sum }
        } else if arrival.updates.count == 0 {
          exportRound = true
        } else {
          let outcome = try chain.run(
            arrival.updates, round: round, threads: experiment.threads,
            previousAggregate: previousAggregate, seeds: seeds, clients: arrival.ids,
            serverUpdate: serverJob.map { Array(rows[($0 * d)..<(($0 + 1) * d)]) },
            quarantined: safeguards?.quarantine.clients.count ?? 0,
            rejectedByChannel: rejectedByChannel)
          aggregate = outcome.aggregate
          flaggedAccepted = outcome.flagged
          downweightedAccepted = outcome.downweighted
          exportRound = true
        }
      } catch {
        throw .defense(round: round, error)
      }
      if exportRound, let directory = experiment.updateExport {
        do {
          try UpdateExport.write(
            directory: directory, round: round, seed: scenario.seed, updates: arrival.updates,
            ids: arrival.ids, malicious: arrival.malicious, flagged: flaggedAccepted,
            server: serverJob.map { Array(rows[($0 * d)..<(($0 + 1) * d)]) },
            aggregate: aggregate, defense: scenario.resolved["defense"] ?? .null,
            defaultF: scenario.defaultF, quarantined: safeguards?.quarantine.clients.count ?? 0,
            rejectedByChannel: rejectedByChannel)
        } catch {
          throw .output(error)
        }
      }
      previousAggregate = aggregate
      let rate = training.serverLearningRate
      var candidate = global
      for j in 0..<d { candidate[j] += rate * aggregate[j] }
      var safeguardFigures: MetricRecord.SafeguardFigures?
      if var stage = safeguards {
        let flaggedIds = Set(
          arrival.ids.indices.filter { flaggedAccepted[$0] }.map { arrival.ids[$0] })
        let review = stage.review(
          round: round, global: global, candidate: candidate, aggregate: aggregate, rate: rate,
          updates: arrival.updates, ids: arrival.ids, flagged: flaggedIds, seeds: seeds,
          evaluators: evaluators, threads: experiment.threads)
        candidate = review.model
        // The gate's attribution flags like the defense chain does.
        let attributed = Set(review.attributed)
        for i in arrival.ids.indices where attributed.contains(arrival.ids[i]) {
          flaggedAccepted[i] = true
        }
        let (figures, alarms) = stage.account(
          review, round: round, attacked: arrival.maliciousReceived > 0, scenario: scenario.name
        ) { id in
          // Ids beyond the federation are identities an attacker made.
          guard id < setup.roles.count, case .honest = setup.roles[id] else { return false }
          return true
        }
        safeguards = stage
        safeguardFigures = figures
        for record in alarms {
          do { try emit(record) } catch { throw .output(error) }
        }
      }
      global = candidate
      guard global.allSatisfy({ $0.isFinite }) else {
        throw .diverged(
          round: round,
          detail:
            "the global model became NaN or infinite after aggregation (a non-finite or huge update "
            + "reached \(chain.names.last ?? "the aggregator")); use a robust defense or lower the learning rates"
        )
      }

      // Detection: the channel's rejections and the defenses' flags.
      let maliciousCount = arrival.maliciousReceived
      let flaggedCount = arrival.counts.rejected + flaggedAccepted.filter { $0 }.count
      let caught =
        arrival.maliciousRejected
        + arrival.malicious.indices.filter { arrival.malicious[$0] && flaggedAccepted[$0] }.count
      maliciousTotal += maliciousCount
      flaggedTotal += flaggedCount
      // Kept with less weight, and flagged by nothing (the gate's attribution included).
      let downweightedIds = downweightedAccepted.map { marks in
        arrival.ids.indices.filter { marks[$0] && !flaggedAccepted[$0] }.map { arrival.ids[$0] }
          .sorted()
      }
      if let downweightedIds {
        downweightedTotal = downweightedTotal.map { $0 + downweightedIds.count }
      } else {
        downweightedTotal = nil
      }
      try experiment.checkpoint(
        round: round, parameters: global, network: network, input: inputShape,
        normalizer: setup.normalizer, samplingRates: chain.privacy != nil ? samplingRates : nil)
      guard scenario.records(round: round) else { continue }
      var record = experiment.evaluate(
        parameters: global, test: setup.test, probe: setup.probe, evaluators: evaluators,
        round: round)
      guard record.loss.isFinite else {
        throw .diverged(
          round: round,
          detail:
            "the test loss became NaN or infinite: the global model's weights are finite but so large that "
            + "its outputs overflow (a huge update reached \(chain.names.last ?? "the aggregator")); "
            + "use a robust defense, a smaller clip or lower the learning rates")
      }
      record.malicious = maliciousCount
      record.flagged = flaggedCount
      record.detectionPrecision = flaggedCount > 0 ? Double(caught) / Double(flaggedCount) : nil
      record.detectionRecall = maliciousCount > 0 ? Double(caught) / Double(maliciousCount) : nil
      record.channel = arrival.counts
      record.flaggedClients = Array(
        Set(
          arrival.rejectedIds
            + arrival.ids.indices.filter { flaggedAccepted[$0] }.map { arrival.ids[$0] })
      ).sorted()
      record.downweightedClients = downweightedIds
      record.secureAggregation = secureFigures
      record.safeguards = safeguardFigures
      if let privacy = chain.privacy {
        record.epsilon =
          RDPAccountant.epsilon(
            rates: samplingRates, noiseMultiplier: privacy.noiseMultiplier, delta: privacy.delta
          ).epsilon
      }
      record.seconds = (clock.now - roundStart).inSeconds
      last = record
      do { try emit(record) } catch { throw .output(error) }
    }
    let safeguardTotals = safeguards?.totals
    let secureFailed = scenario.channel.secureAggregation != nil ? secureFailedRounds : nil
    let channelFigures = channelTotals
    let downweightedFigure = downweightedTotal
    return TrainedModel(
      parameters: global, network: network, round: max(training.rounds, firstRound - 1),
      input: inputShape, normalizer: setup.normalizer,
      samplingRates: chain.privacy != nil ? samplingRates : nil, test: setup.test,
      probe: setup.probe, auditProbe: setup.auditProbe, evaluators: evaluators, last: last,
      started: started, maliciousTotal: maliciousTotal, flaggedTotal: flaggedTotal,
      ran: training.rounds - firstRound + 1
    ) { totals in
      totals.channel = channelFigures
      totals.downweightedTotal = downweightedFigure
      totals.secureAggregationFailedRounds = secureFailed
      totals.safeguards = safeguardTotals
    }
  }

  /// The rows `indices` of a row-major matrix, as an update set.
  private func gather(_ matrix: [Float], _ indices: [Int], d: Int) -> UpdateSet {
    var values = [Float](repeating: 0, count: indices.count * d)
    for (k, i) in indices.enumerated() {
      values.replaceSubrange((k * d)..<((k + 1) * d), with: matrix[(i * d)..<((i + 1) * d)])
    }
    return UpdateSet(values: values, count: indices.count, dimension: d)
  }
}
