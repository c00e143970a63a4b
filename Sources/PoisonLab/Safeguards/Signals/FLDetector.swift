/// FLDetector (Zhang, Cao, Jia & Gong 2022, "FLDetector: Defending Federated
/// Learning Against Model Poisoning Attacks via Detecting Malicious
/// Clients", KDD), as its official code (zaixizhang/FLDetector) computes it.
///
/// The server keeps the last N = `window` pairs of global-model differences
/// `s = w^t - w^(t-1)` and aggregate differences `y = g^t - g^(t-1)`. In
/// round t it predicts each client's update from its previous one,
/// `ĝ_i = g_i^(t-1) + H (w^t - w^(t-1))`, with `H v` from L-BFGS
/// (``LBFGS``), measures `d_i = ||ĝ_i - g_i||`, normalises the round's
/// distances to sum 1, and averages each client's last N normalised
/// distances into its suspicious score. Once the scores cover N rounds, the
/// gap statistic (``KMeans1D/gapStatistic(_:maxK:references:rng:)``, k from
/// 1 to 7, 10 uniform references, stream `("monitor", "fldetector",
/// round)`) decides whether they form more than one cluster; if they do, an
/// alarm fires and the higher-mean group of the optimal 2-means split is
/// suspected.
///
/// Choices: updates here are model deltas (`local - global`), and the
/// aggregate is the applied delta, so `H` is learnt in the same units as
/// the updates (the official code uses gradients and `w -= lr g`; the
/// L-BFGS product scales with `y`, so the normalised distances are the
/// same for a full-batch step). A client not selected in a
/// round keeps its last update and its scores; a client's prediction uses
/// its last update. Detection is not stopped after the first alarm: it runs
/// every round. Predictions start as soon as one pair is stored (the
/// official code waits for N pairs, after a benign warm-up of 20-50
/// rounds); the scores, and so any alarm, wait for N measured rounds. A
/// round the validation gate rejected still gives its aggregate (the
/// server's estimate at the model the round started from), but the next
/// round starts from the same model, and a pair with `s = 0` is not
/// stored. The official code has clients take one full-batch gradient per
/// round; with local training of several minibatch steps the update is
/// not one gradient, and its minibatch noise is what the prediction
/// cannot model.
///
/// What it catches (measured on W1, README "Safeguards results"): attacks whose
/// updates change inconsistently from round to round, such as Fang et al.'s
/// trim attack of the paper's own experiments (`fang`: the four attackers
/// named exactly on five seeds). Attacks built from the honest updates'
/// statistics (`alie`, `sign-flip`'s negated benign mean) move as smoothly
/// as honest clients do; with minibatch clients they are the more
/// predictable ones and the honest clients are suspected instead.
struct FLDetector: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "fldetector",
    summary:
      "clients whose updates are inconsistent with their L-BFGS prediction, by the gap statistic",
    reference:
      "Zhang, Cao, Jia & Gong 2022, FLDetector: Defending Federated Learning Against Model Poisoning Attacks via Detecting Malicious Clients (KDD)"
  )
  static let input = SignalInput.updates
  static let comparesClients = true

  static func problems(in context: ScenarioContext) -> [String] {
    guard let n = context.clientsPerRound, n > maxClients else { return [] }
    return [
      "fldetector clusters the clients' scores exactly (O(n^2) per round) and takes at most \(maxClients) clients per round, got \(n)"
    ]
  }

  /// Largest number of clients per round (the exact clustering is O(n^2)).
  static let maxClients = 5_000

  let window: Int
  private(set) var s: [[Float]] = []
  private(set) var y: [[Float]] = []
  private var lastGlobal: [Float]?
  private var lastAggregate: [Float]?
  private var lastUpdate: [Int: [Float]] = [:]
  private var distances: [Int: [Double]] = [:]

  init(window: Int) { self.window = window }

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    let set = round.updates
    let d = set.dimension
    var hvp: [Float]?
    if let lastGlobal, !s.isEmpty {
      let v = zip(round.global, lastGlobal).map { $0 - $1 }
      hvp = LBFGS.hessianProduct(s: s, y: y, v: v)
    }
    // Normalised distances of the clients that have a prediction.
    if let hvp {
      var measured: [(id: Int, distance: Double)] = []
      for (row, id) in round.ids.enumerated() {
        guard let previous = lastUpdate[id] else { continue }
        var total = 0.0
        for j in 0..<d {
          let e = Double(previous[j]) + Double(hvp[j]) - Double(set.values[row * d + j])
          total += e * e
        }
        measured.append((id, total.squareRoot()))
      }
      let sum = measured.reduce(0) { $0 + $1.distance }
      if sum > 0, sum.isFinite {
        for m in measured {
          var list = distances[m.id] ?? []
          list.append(m.distance / sum)
          if list.count > window { list.removeFirst(list.count - window) }
          distances[m.id] = list
        }
      }
    }
    for (row, id) in round.ids.enumerated() {
      lastUpdate[id] = Array(set.values[(row * d)..<((row + 1) * d)])
    }
    // Scores of this round's clients whose window is full.
    let scored = round.ids.filter { (distances[$0]?.count ?? 0) >= window }
    guard scored.count >= 3 else { return nil }
    let scores = scored.map { id in
      let list = distances[id] ?? []
      return list.reduce(0, +) / Double(list.count)
    }
    var rng = round.seeds.generator("monitor", "fldetector", round.round)
    let k = KMeans1D.gapStatistic(scores, rng: &rng)
    guard k > 1 else {
      return .decided(alarm: false, value: 0, score: Double(k), threshold: 1, suspects: [])
    }
    let split = KMeans1D.fit(scores, k: 2)
    let suspects = scored.indices.filter { split.labels[$0] == 1 }.map { scored[$0] }
    return .decided(
      alarm: true, value: split.centers[1] - split.centers[0], score: Double(k), threshold: 1,
      suspects: suspects)
  }

  mutating func commit(global: [Float], aggregate: [Float]) {
    if let lastGlobal, let lastAggregate {
      let step = zip(global, lastGlobal).map { $0 - $1 }
      // The model did not move (the gate rejected the last round): s = 0
      // would make L-BFGS's matrix singular for the next N rounds. The
      // newer aggregate replaces the older as the estimate at this model.
      if step.contains(where: { $0 != 0 }) {
        s.append(step)
        y.append(zip(aggregate, lastAggregate).map { $0 - $1 })
        if s.count > window {
          s.removeFirst()
          y.removeFirst()
        }
      }
    }
    lastGlobal = global
    lastAggregate = aggregate
  }

  mutating func reset() {
    s = []
    y = []
    lastGlobal = nil
    lastAggregate = nil
    lastUpdate = [:]
    distances = [:]
  }
}
