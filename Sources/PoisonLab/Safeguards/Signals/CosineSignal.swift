/// `cosine`: how much the round's updates disagree in direction.
///
/// The spread (population standard deviation) of the pairwise
/// cosine similarities of the round's updates, alarming when unusually high
/// against its own history: honest IID updates point the same way, and
/// crafted ones pull the similarities apart (the cosine view of FoolsGold,
/// Fung et al. 2020, and FLAME, Nguyen et al. 2022).
///
/// Suspects: the clients whose mean cosine to the others is unusually low
/// within the round (robust z-score below minus 3.5), or the lowest one.
struct CosineSignal: MonitorSignal {
  static let descriptor = PluginDescriptor(
    name: "cosine",
    summary: "spread of the round's pairwise cosine similarities, against its history",
    reference:
      "No paper defines this statistic (poisonlab's monitor signal): a robust z-score (Iglewicz & Hoaglin 1993) of the spread of pairwise cosines, the similarity FoolsGold (Fung et al., RAID 2020) and FLAME (Nguyen et al., USENIX Security 2022) judge clients by"
  )
  static let input = SignalInput.updates
  static let comparesClients = true

  init(window: Int) {}

  mutating func observe(_ round: MonitorRound) -> SignalReading? {
    // Non-finite updates are left out (the defense chain rejects and flags them).
    let all = round.updates.norms()
    let finite = all.indices.filter { all[$0].isFinite }
    let set = finite.count == all.count ? round.updates : round.updates.selecting(finite)
    let n = set.count
    guard n >= 3 else { return nil }
    // One Gram matrix of the normalised rows (the cosines FoolsGold and
    // FLAME read), not n^2 / 2 scalar dot products.
    let similarities = set.cosineSimilarities()
    var cosines: [Double] = []
    cosines.reserveCapacity(n * (n - 1) / 2)
    var meanCosine = [Double](repeating: 0, count: n)
    for a in 0..<n {
      for b in (a + 1)..<n {
        let c = similarities[a * n + b]
        cosines.append(c)
        meanCosine[a] += c / Double(n - 1)
        meanCosine[b] += c / Double(n - 1)
      }
    }
    let mean = cosines.reduce(0, +) / Double(cosines.count)
    let spread = (cosines.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cosines.count))
      .squareRoot()
    let suspects = RoundStatistics.outliers(meanCosine, threshold: 3.5, upward: false).map {
      round.ids[finite[$0]]
    }
    return .scored([("cosine_spread", spread, true)], suspects: suspects)
  }
}
