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
  private var alarmed = false
  /// The round of the last restart (retrain), 0 before any, or the round a resumed run began after.
  private var lastRestart = 0
  private let keep: Int
  /// Responses so far.
  private(set) var responses = 0
  /// Rounds of training the responses discarded.
  private(set) var recoveryRounds = 0

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
  }

  /// Reviews a round.
  /// - Parameters:
  ///   - round: the round.
  ///   - global: the model it started from.
  ///   - candidate: the model the aggregate makes.
  ///   - aggregate: the applied update (`candidate = global + rate * aggregate`).
  ///   - updates: what reached the defenses, and their claimed ids.
  ///   - ids: the claimed id of each update.
  ///   - flagged: the ids the defense chain flagged.
  ///   - seeds: the run's seed tree.
  ///   - evaluators: for the gate.
  ///   - threads: worker threads.
  /// - Returns: the decision.
  mutating func review(
    round: Int, global: [Float], candidate: [Float], aggregate: [Float], updates: UpdateSet,
    ids: [Int], flagged: Set<Int>, seeds: SeedTree, evaluators: [Evaluator], threads: Int
  ) -> Review {
    var model = candidate
    var gateDecision: String?
    var validationAccuracy: Double?
    if gate != nil {
      let (ok, accuracy) = gate?.review(candidate, evaluators: evaluators) ?? (true, 0)
      gateDecision = ok ? "accepted" : "rejected"
      validationAccuracy = accuracy
      if !ok { model = global }
    }
    for id in ids {
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
            validationAccuracy: validationAccuracy, seeds: seeds, threads: threads)) ?? []
      let applied =
        gateDecision == "rejected" ? [Float](repeating: 0, count: aggregate.count) : aggregate
      monitor?.commit(global: global, aggregate: applied)
    }
    let suspects = Set(alarms.flatMap(\.suspected))
    // Fresh: not quarantined before this round (the strike rule below may
    // quarantine them now, which must not silence the response).
    let before = quarantine.clients
    quarantine.record(participants: ids, flagged: flagged.union(suspects))
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
        recoveryRounds += round - saved + 1
        monitor?.rollBack(to: saved)
      case .retrain:
        model = initial
        // The rounds trained since the last restart are discarded.
        recoveryRounds += round - lastRestart
        lastRestart = round
        checkpoints = [:]
        monitor?.reset()
      }
      gate?.reset(to: model, evaluators: evaluators)
    }
    return Review(
      model: model, gate: gateDecision, validationAccuracy: validationAccuracy, alarms: alarms)
  }
}
