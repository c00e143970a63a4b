/// `update_norm`: how long the round's updates are.
///
/// The median and the largest L2 norm of the round's updates,
/// each alarming when unusually high against its own history (model
/// replacement and scaling attacks send updates far longer than honest
/// ones; norm-based detection as in Sun et al. 2019, "Can You Really
/// Backdoor Federated Learning?").
///
/// Suspects: the clients whose norm's robust z-score within the round
/// exceeds 3.5 (Iglewicz & Hoaglin's outlier cut), or the client with the
/// largest norm.
struct UpdateNormSignal: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "update_norm",
    summary: "median and largest update norm of the round, against their history",
    reference:
      "No paper defines this statistic (poisonlab's monitor signal): a robust z-score (Iglewicz & Hoaglin 1993) of update norms, the quantity norm-based defenses bound (Sun, Kairouz, Suresh & McMahan 2019, Can You Really Backdoor Federated Learning?, arXiv 1911.07963)"
  )
  static let input = SignalInput.updates

  private let threshold = 3.5

  init(window: Int) {}

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    let set = round.updates
    // Non-finite updates are left out: the defense chain rejects and flags
    // them, and a NaN norm would compare with nothing.
    let all = set.norms()
    let rows = all.indices.filter { all[$0].isFinite }
    guard !rows.isEmpty else { return nil }
    let norms = rows.map { all[$0] }
    let suspects = RoundStatistics.outliers(norms, threshold: threshold, upward: true).map {
      round.ids[rows[$0]]
    }
    return .scored(
      [
        ("update_norm_median", RobustStatistics.median(norms), true),
        ("update_norm_max", norms.max() ?? 0, true),
      ], suspects: suspects)
  }
}
