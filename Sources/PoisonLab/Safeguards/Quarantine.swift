/// Quarantine: clients flagged too often are shut out.
///
/// A client flagged (by the defense chain or the gate's attribution, or
/// suspected by the monitor) in at least `after` of its last `window` participations is
/// never selected again; a response also quarantines the clients its alarm
/// suspects. If fewer clients than `clients_per_round` remain, every
/// remaining client is selected. It is an operator's blocklist with a
/// strike rule over a sliding window; FLDetector (Zhang et al. 2022) likewise
/// removes the clients it detects for the rest of training.
struct Quarantine {
  let settings: SafeguardSettings.Quarantine?
  private var history: [Int: [Bool]] = [:]
  private(set) var clients = Set<Int>()

  init(settings: SafeguardSettings.Quarantine?) { self.settings = settings }

  /// Records a round: who took part and who was flagged.
  mutating func record(participants: [Int], flagged: Set<Int>) {
    guard let settings else { return }
    for id in participants {
      var h = history[id] ?? []
      h.append(flagged.contains(id))
      if h.count > settings.window { h.removeFirst(h.count - settings.window) }
      history[id] = h
      if h.filter({ $0 }).count >= settings.after { clients.insert(id) }
    }
  }

  /// Shuts `ids` out at once (a response's suspects).
  mutating func add(_ ids: [Int]) { clients.formUnion(ids) }
}
