/// The safeguards' part of a federated round, after the defense chain:
/// the validation gate reviews the candidate model, the monitor reads its
/// signals, the quarantine records who was flagged, and an alarm may
/// trigger the response.
///
/// Responses (`response`), on the first alarm and on any later alarm that
/// suspects a client not yet quarantined:
/// - `rollback`: restore the model saved before the round the alarm
///   implicates (its own round for z-scored signals; for `fldetector`, the
///   earliest round of its window in which a suspect's update was
///   accepted), quarantine the suspects, and go on; it costs the rounds
///   from the implicated one to the alarm's.
/// - `retrain`: restart from the initial model (the fresh initialisation)
///   without the suspects; it costs the rounds trained since the last
///   restart.
/// Models are saved before each round for the last `window + 1` rounds.
struct SafeguardStage {
  let settings: SafeguardSettings
  private var gate: ValidationGate?
  private var monitor: SignalMonitor?
  private(set) var quarantine: Quarantine
  private let initial: [Float]
  private var checkpoints: [Int: [Float]] = [:]
  private var accepted: [Int: [Int]] = [:]  // client -> rounds whose update it had accepted
  /// Rounds the gate rejected (their training was discarded already).
  private var gateRejectedRounds = Set<Int>()
  private var alarmed = false
  /// The round of the last restart (retrain), 0 before any, or the round a resumed run began after.
  private var lastRestart = 0
  private let keep: Int
  /// Responses so far.
  private(set) var responses = 0
  /// Rounds of training the responses discarded.
  private(set) var recoveryRounds = 0
  // The ledger both runners report from (``account(_:round:attacked:scenario:honest:)``).
  private var firstAttackRound: Int?
  private var firstAlarmRound: Int?
  private var detectedRound: Int?  // the first alarm once an attack began
  private var falseAlarms = 0
  private var gateRejected = 0

  init(
    settings: SafeguardSettings, validation: Dataset?, initial: [Float], evaluators: [Evaluator],
    current: [Float]? = nil, firstRound: Int = 1
  ) {
    lastRestart = firstRound - 1
    self.settings = settings
    if let v = settings.validation, let validation {
      gate = ValidationGate(
        settings: v, data: validation, initial: current ?? initial, evaluators: evaluators)
    }
    monitor = settings.monitor.map { SignalMonitor(settings: $0) }
    quarantine = Quarantine(settings: settings.quarantine)
    self.initial = initial
    keep = (settings.monitor?.window ?? 1) + 1
  }

  /// A pipeline's `retrain` response trained a new model from the initial
  /// weights on the data accepted so far: the gate's baseline becomes it.
  /// - Parameters:
  ///   - model: the retrained model, now live.
  ///   - evaluators: evaluators for the gate's held-out set.
  mutating func restarted(with model: [Float], evaluators: [Evaluator]) {
    gate?.reset(to: model, evaluators: evaluators)
  }

  /// Saves the model a round starts from.
  mutating func begin(round: Int, global: [Float]) {
    guard settings.response == .rollback else { return }
    checkpoints[round] = global
    checkpoints[round - keep] = nil
  }

  /// What the safeguards decided in a round.
  struct Review {
    /// The model the next round starts from.
    var model: [Float]
    /// `accepted` or `rejected` (nil without a gate).
    var gate: String?
    /// The candidate's validation accuracy (nil without a gate).
    var validationAccuracy: Double?
    /// The round's alarms.
    var alarms: [Alarm]
    /// Clients the gate traced a rejected round to (`attribute`), sorted.
    var attributed: [Int] = []
  }

  /// Books a reviewed round: the round's safeguard figures and one `alarm`
  /// record per alarm, and the run's totals (first alarm, time to detect,
  /// false alarms, gate rejections).
  /// - Parameters:
  ///   - review: what `review` decided.
  ///   - round: the round (or pipeline cycle).
  ///   - attacked: whether malicious data or updates reached the server this round.
  ///   - scenario: the scenario's name, for the records.
  ///   - honest: whether an id (client or source) is honest.
  /// - Returns: the figures of the round row and the alarm records.
  mutating func account(
    _ review: Review, round: Int, attacked: Bool, scenario: String, honest: (Int) -> Bool
  ) -> (figures: MetricRecord.SafeguardFigures, alarms: [MetricRecord]) {
    if attacked && firstAttackRound == nil { firstAttackRound = round }
    if review.gate == "rejected" { gateRejected += 1 }
    if !review.alarms.isEmpty && firstAlarmRound == nil { firstAlarmRound = round }
    if !review.alarms.isEmpty && detectedRound == nil && firstAttackRound != nil {
      detectedRound = round
    }
    if !attacked { falseAlarms += review.alarms.count }
    let records = review.alarms.map { alarm in
      var record = MetricRecord(
        kind: .alarm, scenario: scenario, round: round, accuracy: 0, loss: 0,
        attackSuccess: nil, robustAccuracy: nil, malicious: 0, flagged: 0,
        detectionPrecision: nil, detectionRecall: nil, seconds: 0)
      record.alarm = alarm
      return record
    }
    let shut = quarantine.clients
    let figures = MetricRecord.SafeguardFigures(
      gate: review.gate, validationAccuracy: review.validationAccuracy,
      alarms: review.alarms.map(\.signal), quarantined: shut.count,
      falseQuarantined: shut.filter(honest).count)
    return (figures, records)
  }

  /// The run's totals so far.
  var totals: MetricRecord.SafeguardTotals {
    MetricRecord.SafeguardTotals(
      firstAlarmRound: firstAlarmRound,
      timeToDetect: detectedRound.flatMap { a in firstAttackRound.map { a - $0 } },
      falseAlarms: falseAlarms, rollbacks: responses, recoveryRounds: recoveryRounds,
      rejectedRounds: gateRejected)
  }

  /// Reviews a round.
  /// - Parameters:
  ///   - round: the round.
  ///   - global: the model it started from.
  ///   - candidate: the model the aggregate makes.
  ///   - aggregate: the applied update (`candidate = global + rate * aggregate`).
  ///   - rate: the server learning rate.
  ///   - updates: what reached the defenses, and their claimed ids.
  ///   - ids: the claimed id of each update.
  ///   - flagged: the ids the defense chain flagged.
  ///   - seeds: the run's seed tree.
  ///   - evaluators: for the gate.
  ///   - threads: worker threads.
  ///   - sourceLosses: pipelines: the live model's mean loss on each source's
  ///     new data (the `new_data_loss` signal).
  ///   - blame: who becomes suspect when an alarm names nobody (pipelines:
  ///     the cycle's untrusted sources; federated rounds: nobody).
  /// - Returns: the decision.
  mutating func review(
    round: Int, global: [Float], candidate: [Float], aggregate: [Float], rate: Float = 1,
    updates: UpdateSet, ids: [Int], flagged: Set<Int>, seeds: SeedTree, evaluators: [Evaluator],
    threads: Int,
    sourceLosses: [(id: Int, loss: Double, samples: Int)]? = nil, blame: [Int] = []
  ) -> Review {
    var model = candidate
    var gateDecision: String?
    var validationAccuracy: Double?
    var classAccuracy: [Double]?
    var attributed: [Int] = []
    if let reviewed = gate?.review(candidate, evaluators: evaluators) {
      gateDecision = reviewed.accepted ? "accepted" : "rejected"
      validationAccuracy = reviewed.accuracy
      classAccuracy = reviewed.classAccuracy
      if !reviewed.accepted {
        model = global
        if gate?.settings.attribute == true {
          attributed =
            gate?.attribute(
              updates: updates, ids: ids, global: global, rate: rate, evaluators: evaluators) ?? []
        }
      }
    }
    if gateDecision == "rejected" { gateRejectedRounds.insert(round) }
    // Accepted: the gate kept the round and the chain did not flag the update.
    for id in ids where gateDecision != "rejected" && !flagged.contains(id) {
      var rounds = accepted[id] ?? []
      rounds.append(round)
      if rounds.count > keep { rounds.removeFirst(rounds.count - keep) }
      accepted[id] = rounds
    }
    var alarms: [Alarm] = []
    if monitor != nil {
      alarms =
        monitor?.observe(
          MonitorRound(
            round: round, updates: updates, ids: ids, global: global,
            validationAccuracy: validationAccuracy, classAccuracy: classAccuracy,
            sourceLosses: sourceLosses, seeds: seeds, threads: threads)) ?? []
      for index in alarms.indices where alarms[index].suspected.isEmpty {
        alarms[index].suspected = blame.sorted()
      }
      // Also a rejected round's aggregate: the estimate at the model the round started from.
      monitor?.commit(global: global, aggregate: aggregate)
    }
    let suspects = Set(alarms.flatMap(\.suspected))
    // Fresh: not quarantined before this round (the strike rule below may
    // quarantine them now, which must not silence the response).
    let before = quarantine.clients
    let strikes = quarantine.strikes(flagged: flagged, updates: updates, ids: ids)
    quarantine.record(participants: ids, flagged: strikes.union(suspects).union(attributed))
    let fresh = suspects.contains { !before.contains($0) }
    if let response = settings.response, !alarms.isEmpty, !alarmed || fresh {
      alarmed = true
      responses += 1
      quarantine.add(Array(suspects))
      switch response {
      case .rollback:
        var implicated = round
        for alarm in alarms where alarm.signal == FLDetector.descriptor.name {
          for id in alarm.suspected {
            if let first = accepted[id]?.first { implicated = min(implicated, first) }
          }
        }
        let saved = checkpoints.keys.filter { $0 >= implicated }.min() ?? round
        model = checkpoints[saved] ?? global
        // The rounds undone, less those the gate had discarded already.
        recoveryRounds +=
          (saved...max(saved, round)).filter { !gateRejectedRounds.contains($0) }
          .count
        monitor?.rollBack(to: saved)
      case .retrain:
        model = initial
        // The rounds trained since the last restart are discarded (less
        // those the gate had discarded already).
        recoveryRounds +=
          (lastRestart..<round).filter { !gateRejectedRounds.contains($0 + 1) }
          .count
        lastRestart = round
        checkpoints = [:]
        monitor?.reset()
      }
      gate?.reset(to: model, evaluators: evaluators)
    }
    return Review(
      model: model, gate: gateDecision, validationAccuracy: validationAccuracy, alarms: alarms,
      attributed: attributed)
  }
}
