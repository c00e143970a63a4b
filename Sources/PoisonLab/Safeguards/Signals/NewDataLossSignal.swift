/// `new_data_loss`: the live model's loss on the data that just arrived
/// (pipelines only).
///
/// Before a cycle trains, the live model's mean cross-entropy on the
/// cycle's new data from every source, weighted by their sample counts, is
/// compared with its own history and alarms when unusually high: mislabelled
/// or out-of-distribution data costs the current model more than the
/// data it was trained on. The suspects are the sources whose own mean loss
/// is an outlier among the cycle's sources (robust z-score above 3.5, or the
/// single highest).
struct NewDataLossSignal: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "new_data_loss",
    summary: "loss of the live model on each cycle's new data, against its history (pipelines)",
    reference:
      "No paper defines this statistic (poisonlab's monitor signal): a robust z-score (Iglewicz & Hoaglin 1993) of the live model's loss on new data; validating data before training as in TFX (Breck et al. 2019, Data Validation for Machine Learning, SysML)"
  )
  static let input = SignalInput.newData

  init(window: Int) {}

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    guard let losses = round.sourceLosses, !losses.isEmpty else { return nil }
    let samples = losses.reduce(0) { $0 + $1.samples }
    guard samples > 0 else { return nil }
    let mean = losses.reduce(0.0) { $0 + $1.loss * Double($1.samples) } / Double(samples)
    let outliers = RoundStatistics.outliers(losses.map(\.loss), threshold: 3.5, upward: true)
    return .scored([("new_data_loss", mean, true)], suspects: outliers.map { losses[$0].id })
  }
}
