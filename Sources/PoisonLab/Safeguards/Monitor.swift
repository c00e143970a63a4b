/// What a monitor signal sees in a round: what the server sees.
struct MonitorRound {
  /// The round.
  var round: Int
  /// The updates that reached the defenses, and who claimed to send them.
  var updates: UpdateSet
  var ids: [Int]
  /// The global model the round started from.
  var global: [Float]
  /// The new model's validation accuracy (with a validation gate).
  var validationAccuracy: Double?
  /// The new model's validation accuracy per class (with a validation gate).
  var classAccuracy: [Double]?
  /// Pipelines: the live model's mean loss on each source's new data, and its sample count.
  var sourceLosses: [(id: Int, loss: Double, samples: Int)]?
  /// The run's seed tree (signals that draw randomness use `("monitor", name, round)`).
  var seeds: SeedTree
  /// Worker threads.
  var threads: Int
}

/// What a signal measured in a round.
enum SignalReading {
  /// Values compared with their own history by a robust z-score; `upward`
  /// alarms on high values, otherwise on low ones; `suspects` are the
  /// clients the round's values point at.
  case scored([(name: String, value: Double, upward: Bool)], suspects: [Int])
  /// A signal that decides by itself (FLDetector's gap statistic).
  case decided(alarm: Bool, value: Double, score: Double, threshold: Double, suspects: [Int])
}

/// What a monitor signal reads.
enum SignalInput: Sendable {
  /// Each client's update (federated runs without secure aggregation).
  case updates
  /// The server's model on its held-out validation set (it needs
  /// `safeguards.validation`).
  case model
  /// The data a pipeline cycle brings (it needs a pipeline).
  case newData
}

/// A monitor signal: one file each, listed in ``Registry/signals``.
protocol MonitorSignal: Sendable {
  /// Name (the `signals` value), summary and reference.
  static var descriptor: PluginDescriptor { get }
  /// What it reads: client updates, the model, or a pipeline's new data.
  static var input: SignalInput { get }
  /// Whether it compares the clients of a round with each other (it then
  /// needs at least 3 per round).
  static var comparesClients: Bool { get }
  /// The rules of its own that the scenario breaks, as messages for
  /// `safeguards.monitor.signals` (what follows from its `input` and
  /// `comparesClients` is checked by ``SafeguardSettings``).
  /// - Parameter context: the rest of the scenario.
  /// - Returns: the messages, empty when it can be watched.
  static func problems(in context: ScenarioContext) -> [String]
  /// A fresh signal with no history.
  init(window: Int)
  /// Reads the round (nil: nothing measurable yet).
  mutating func observe(_ round: MonitorRound) -> SignalReading?
  /// Learns the round's outcome: the model the round started from and the
  /// round's aggregate (also when the gate rejected it).
  mutating func commit(global: [Float], aggregate: [Float])
  /// Forgets the model history (after a rollback or a restart).
  mutating func reset()
}

extension MonitorSignal {
  static var comparesClients: Bool { false }
  static func problems(in context: ScenarioContext) -> [String] { [] }
  mutating func commit(global: [Float], aggregate: [Float]) {}
  mutating func reset() {}
}

/// One alarm: a record of type `alarm`.
public struct Alarm: Sendable, Equatable {
  /// The round it fired in.
  public var round: Int
  /// The signal (a z-scored component such as `update_norm_max`, or `fldetector`).
  public var signal: String
  /// The signal's value this round.
  public var value: Double
  /// The robust z-score (FLDetector: the number of clusters its gap statistic found).
  public var score: Double
  /// What `score` was compared with.
  public var threshold: Double
  /// The clients the signal points at, ascending.
  public var suspected: [Int]
}

/// The monitor: signals read every round, and their alarms.
///
/// Every round each signal is read; a z-scored value is compared with its own last `window` values
/// by the robust z-score `(x - median) / (1.4826 MAD)` (Iglewicz & Hoaglin 1993; MAD scaled to a
/// normal's standard deviation) and alarms beyond `threshold` in its bad direction, once its
/// history holds `window` values. When the MAD is 0 the mean absolute deviation times 1.2533 stands
/// in; a constant history gives no scale and scores 0. Scores are always finite. Every finite value
/// joins its history, alarm or not (a non-finite one neither alarms nor joins it); a rollback takes
/// the undone rounds' values out again.
struct SignalMonitor {
  /// The names of the signals, in `list` order.
  static var signalNames: [String] { Registry.signals.map { $0.descriptor.name } }
  /// The names of the signals that read client updates (a pipeline has
  /// none, and secure aggregation hides them).
  static var updateSignals: [String] {
    Registry.signals.filter { $0.input == .updates }.map { $0.descriptor.name }
  }

  let settings: SafeguardSettings.Monitor
  private var active: [any MonitorSignal]
  private var history: [String: [(round: Int, value: Double)]] = [:]

  init(settings: SafeguardSettings.Monitor) {
    self.settings = settings
    active = settings.signals.compactMap { name in
      Registry.signals.first { $0.descriptor.name == name }.map { $0.init(window: settings.window) }
    }
  }

  /// The robust z-score of `x` against `past`, or nil with fewer than `minimum` values.
  static func robustZ(_ x: Double, against past: [Double], minimum: Int = 3) -> Double? {
    guard past.count >= max(1, minimum) else { return nil }
    let median = RobustStatistics.median(past)
    let mad = RobustStatistics.scaledMAD(past, around: median)
    if mad > 0 { return (x - median) / mad }
    // More than half the history equals its median: the mean absolute
    // deviation scaled to a normal's standard deviation (1.2533, as IBM's
    // modified z-score does); a constant history gives no scale: 0.
    let meanDeviation = past.reduce(0) { $0 + abs($1 - median) } / Double(past.count)
    guard meanDeviation > 0 else { return 0 }
    return (x - median) / (1.253314 * meanDeviation)
  }

  /// Reads every signal and returns the alarms of the round.
  mutating func observe(_ round: MonitorRound) -> [Alarm] {
    var alarms: [Alarm] = []
    for index in active.indices {
      guard let reading = active[index].observe(round) else { continue }
      switch reading {
      case .scored(let values, let suspects):
        // A value that is not finite neither alarms nor joins the history
        // (a NaN there would blind the signal for a whole window).
        for value in values where value.value.isFinite {
          var past = history[value.name] ?? []
          if let z = Self.robustZ(
            value.value, against: past.suffix(settings.window).map(\.value),
            minimum: settings.window),
            value.upward ? z > settings.threshold : z < -settings.threshold
          {
            alarms.append(
              Alarm(
                round: round.round, signal: value.name, value: value.value, score: z,
                threshold: value.upward ? settings.threshold : -settings.threshold,
                suspected: suspects.sorted()))
          }
          past.append((round.round, value.value))
          // Twice the window is kept, so that a rollback that takes the
          // undone rounds out still leaves a full window to compare with.
          if past.count > 2 * settings.window {
            past.removeFirst(past.count - 2 * settings.window)
          }
          history[value.name] = past
        }
      case .decided(let alarm, let value, let score, let threshold, let suspects):
        let name = type(of: active[index]).descriptor.name
        if alarm {
          alarms.append(
            Alarm(
              round: round.round, signal: name, value: value, score: score, threshold: threshold,
              suspected: suspects.sorted()))
        }
      }
    }
    return alarms
  }

  /// Tells the signals the round's outcome.
  mutating func commit(global: [Float], aggregate: [Float]) {
    for index in active.indices { active[index].commit(global: global, aggregate: aggregate) }
  }

  /// After a rollback to the model saved before `round`: the values of the
  /// rounds undone leave the histories, and the signals forget the model
  /// trajectory (it jumped back).
  mutating func rollBack(to round: Int) {
    for index in active.indices { active[index].reset() }
    for key in history.keys { history[key] = history[key]?.filter { $0.round < round } }
  }

  /// After a restart from the initial model: every history is forgotten
  /// (the new model's updates would look anomalous against the old ones);
  /// alarms can fire again once `window` new values exist.
  mutating func reset() {
    for index in active.indices { active[index].reset() }
    history = [:]
  }
}

/// Within-round outliers shared by the signals (norms are ``UpdateSet/norms()``).
enum RoundStatistics {
  /// The rows whose value's robust z-score within the round is beyond
  /// `threshold` in the bad direction, or the single most extreme row.
  static func outliers(_ values: [Double], threshold: Double, upward: Bool) -> [Int] {
    guard !values.isEmpty else { return [] }
    let median = RobustStatistics.median(values)
    let mad = RobustStatistics.scaledMAD(values, around: median)
    var found: [Int] = []
    if mad > 0 {
      for (i, v) in values.enumerated() {
        let z = (v - median) / mad
        if upward ? z > threshold : z < -threshold { found.append(i) }
      }
    }
    if found.isEmpty {
      let extreme =
        upward
        ? values.indices.max { values[$0] < values[$1] }
        : values.indices.min { values[$0] < values[$1] }
      if let extreme { found = [extreme] }
    }
    return found
  }
}
