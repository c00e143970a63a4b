/// Quarantine: clients flagged too often are shut out.
///
/// A client flagged (by the defense chain or the gate's attribution, or
/// suspected by the monitor) in at least `after` of its last `window` participations is
/// never selected again; a response also quarantines the clients its alarm
/// suspects. If fewer clients than `clients_per_round` remain, every
/// remaining client is selected. It is an operator's blocklist with a
/// strike rule over a sliding window; FLDetector (Zhang et al. 2022) likewise
/// removes the clients it detects for the rest of training.
///
/// With `min_distance_ratio` r, a flag from the defense chain counts only
/// when the flagged update is far from the round's accepted ones:
/// `||u_i - m|| >= r * median_j ||u_j - m||`, where `m` is the mean of the
/// updates the chain accepted and `j` runs over every update received (an
/// honest majority makes the median an honest client's distance; Krum
/// accepts a single update, whose own distance would be 0). A non-finite
/// update always counts. Selection rules such
/// as Krum and multi-krum leave out a fixed number of updates every round,
/// attack or not, and with fixed client data they leave out the same
/// slightly atypical honest clients round after round; the ratio keeps
/// those exclusions from counting as strikes, while an update several times
/// farther than the typical one still does. Flags from the gate's
/// attribution and the monitor's suspects always count.
struct Quarantine {
  let settings: SafeguardSettings.Quarantine?
  private var history: [Int: [Bool]] = [:]
  private(set) var clients = Set<Int>()

  init(settings: SafeguardSettings.Quarantine?) { self.settings = settings }

  /// Records a round: who took part and who was flagged.
  ///
  /// An id that sent two messages in the round (a forgery beside the
  /// genuine one) took part once: one strike at most per round.
  mutating func record(participants: [Int], flagged: Set<Int>) {
    guard let settings else { return }
    var seen = Set<Int>()
    for id in participants where seen.insert(id).inserted {
      var h = history[id] ?? []
      h.append(flagged.contains(id))
      if h.count > settings.window { h.removeFirst(h.count - settings.window) }
      history[id] = h
      if h.filter({ $0 }).count >= settings.after { clients.insert(id) }
    }
  }

  /// The chain's flags that count as strikes: all of them, or with
  /// `min_distance_ratio` those far enough from the accepted updates.
  /// - Parameters:
  ///   - flagged: the ids the defense chain flagged.
  ///   - updates: the updates that reached the chain.
  ///   - ids: the claimed id of each row.
  /// - Returns: the flags that count.
  func strikes(flagged: Set<Int>, updates: UpdateSet, ids: [Int]) -> Set<Int> {
    guard let ratio = settings?.minDistanceRatio, !flagged.isEmpty, updates.count == ids.count
    else { return flagged }
    let accepted = ids.indices.filter { !flagged.contains(ids[$0]) }
    guard !accepted.isEmpty else { return flagged }
    let d = updates.dimension
    var mean = [Double](repeating: 0, count: d)
    for row in accepted {
      let base = row * d
      for j in 0..<d { mean[j] += Double(updates.values[base + j]) }
    }
    for j in 0..<d { mean[j] /= Double(accepted.count) }
    func distance(_ row: Int) -> Double {
      let base = row * d
      var sum = 0.0
      for j in 0..<d {
        let x = Double(updates.values[base + j]) - mean[j]
        sum += x * x
      }
      return sum.squareRoot()
    }
    let distances = ids.indices.map(distance)
    let typical = RobustStatistics.median(distances.filter(\.isFinite))
    var counted = Set<Int>()
    for row in ids.indices where flagged.contains(ids[row]) {
      // NaN or infinite distances (non-finite updates) count as well.
      if !(distances[row] < ratio * typical) { counted.insert(ids[row]) }
    }
    return counted
  }

  /// Shuts `ids` out at once (a response's suspects).
  mutating func add(_ ids: [Int]) { clients.formUnion(ids) }
}
