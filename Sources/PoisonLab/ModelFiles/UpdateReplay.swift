/// A matrix of updates replayed through a defense chain (`poisonlab aggregate`).
///
/// The rows, their weights, the server update, and, for a
/// `run --save-updates` round, the round's facts from its `.json` (client
/// ids, weights, seed, round, and the clients quarantined or rejected by
/// the channel, which robust rules count against their `f`). Replayed with
/// the facts, the aggregate equals the simulator's bit for bit.
public struct UpdateReplay {
  /// The rows (clients) and their weights.
  public var set: UpdateSet
  /// A CSV's skipped header line, or nil.
  public var header: [String]?
  /// The server's update on its root data (fltrust), or nil.
  public var serverUpdate: [Float]?
  /// The round's facts, when its `.json` describes these rows.
  public var exported: UpdateExport.Round?
  /// What the user should know (no facts beside a round file, facts that
  /// describe other rows and are ignored).
  public var notes: [String] = []

  /// Reads the updates and what goes with them, the round's facts included.
  /// - Parameters:
  ///   - updates: the `.npy` (or `.npy.gz`) or CSV matrix, rows = clients.
  ///   - weights: a file of one weight per row (`--weights`), or nil.
  ///   - serverUpdate: a file of the server's update (`--server-update`), or nil.
  /// - Returns: the replay's inputs.
  /// - Throws: `DataError` naming the file and what is wrong.
  public static func load(
    updates: String, weights: String? = nil, serverUpdate: String? = nil
  ) throws(DataError) -> UpdateReplay {
    try load(
      updates: updates, sidecar: try UpdateExport.sidecar(of: updates), weights: weights,
      serverUpdate: serverUpdate)
  }

  /// Reads the updates and what goes with them, given the round's facts
  /// already read (``UpdateExport/sidecar(of:)``).
  /// - Parameters:
  ///   - updates: the matrix.
  ///   - sidecar: its round's facts, or nil.
  ///   - weights: a file of one weight per row, or nil.
  ///   - serverUpdate: a file of the server's update, or nil.
  /// - Returns: the replay's inputs.
  /// - Throws: `DataError` naming the file and what is wrong.
  public static func load(
    updates: String, sidecar: UpdateExport.Round?, weights: String?, serverUpdate: String?
  ) throws(DataError) -> UpdateReplay {
    let (matrix, header) = try MatrixFile.readWithHeader(updates)
    guard matrix.shape.count == 2, matrix.shape[0] > 0, matrix.shape[1] > 0 else {
      throw .corrupt(
        file: updates,
        reason: "expected a non-empty 2-D matrix (rows = clients), got shape \(matrix.shape)")
    }
    let (n, d) = (matrix.shape[0], matrix.shape[1])
    var rowWeights: [Double]?
    if let weights {
      let w = try MatrixFile.read(weights)
      guard w.values.count == n else {
        throw .mismatch(reason: "\(weights) holds \(w.values.count) weights for \(n) updates")
      }
      guard w.values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
        throw .corrupt(file: weights, reason: "weights must be finite and non-negative")
      }
      rowWeights = w.values.map(Double.init)
    }
    var server: [Float]?
    if let serverUpdate {
      let g = try MatrixFile.read(serverUpdate)
      guard g.values.count == d else {
        throw .mismatch(
          reason: "\(serverUpdate) holds \(g.values.count) values for updates of \(d)")
      }
      server = g.values
    }
    let facts = UpdateExport.sidecarPath(of: updates) ?? ""
    var notes: [String] = []
    if sidecar == nil,
      (updates.split(separator: "/").last ?? "").wholeMatch(of: /round-[0-9]{4,}\.npy(\.gz)?/)
        != nil
    {
      let what =
        (try? SystemFile.kind(of: facts, followingLinks: true)) != nil
        ? "\(facts) beside \(updates) is not a --save-updates round file (no \"format\": \"poisonlab-round\")"
        : "no --save-updates round file (\(facts)) beside \(updates)"
      notes.append(
        "note: \(what): the seed, round, "
          + "weights and quarantine counts are aggregate's defaults, which may not be the round's")
    }
    if let sidecar, sidecar.clients.count != n || sidecar.weights.count != n {
      notes.append(
        "poisonlab: \(updates): its .json lists \(sidecar.clients.count) clients and \(sidecar.weights.count) reported_samples, the matrix has \(n) rows; ignoring the .json"
      )
    }
    let exported = sidecar.flatMap { $0.clients.count == n && $0.weights.count == n ? $0 : nil }
    // Facts that are used must be usable (ignored ones were noted above).
    if let exported, exported.weights.contains(where: { !($0 >= 0) }) {
      throw .corrupt(file: facts, reason: "holds negative or NaN weights")
    }
    if let exported {
      if rowWeights == nil { rowWeights = exported.weights }
      if server == nil, serverUpdate == nil, let path = exported.serverUpdate {
        let g = try MatrixFile.read(path)
        guard g.values.count == d else {
          throw .corrupt(file: path, reason: "holds \(g.values.count) values for updates of \(d)")
        }
        server = g.values
      }
    }
    return UpdateReplay(
      set: UpdateSet(values: matrix.values, count: n, dimension: d, weights: rowWeights),
      header: header, serverUpdate: server, exported: exported, notes: notes)
  }

  /// The clients the round left out before its chain (rejected by the
  /// channel, quarantined): the chain is checked against the round's
  /// clients, these included, as the run checked it.
  public var excluded: Int {
    [exported?.rejectedByChannel ?? 0, exported?.quarantined ?? 0].reduce(0) {
      $0 + min($1, 1_000_000)
    }
  }

  /// Runs `chain` on the rows as the simulator ran it (BLAS on one thread:
  /// OpenBLAS's threaded sgemm and sgemv round differently from one thread
  /// count to another).
  /// - Parameters:
  ///   - chain: the defense chain.
  ///   - round: the round (default: the facts', else 1).
  ///   - seed: the seed (default: the facts', else 0).
  ///   - threads: worker threads.
  /// - Returns: the chain's result.
  /// - Throws: `DefenseError` when a stage cannot run on the rows.
  public func run(_ chain: inout DefenseChain, round: Int?, seed: UInt64?, threads: Int)
    throws(DefenseError) -> DefenseChain.Result
  {
    BLAS.setThreads(1)
    return try chain.run(
      set, round: round ?? exported?.round ?? 1, threads: threads, previousAggregate: nil,
      seeds: SeedTree(seed ?? exported?.seed ?? 0), clients: exported?.clients,
      serverUpdate: serverUpdate, quarantined: exported?.quarantined ?? 0,
      rejectedByChannel: exported?.rejectedByChannel ?? 0)
  }

  /// Why an aggregate is not finite, or nil when it is.
  /// - Parameters:
  ///   - aggregate: the chain's output.
  ///   - chain: the stages' names.
  /// - Returns: the explanation.
  public func nonFiniteProblem(_ aggregate: [Float], chain: [String]) -> String? {
    let nonFinite = aggregate.count { !$0.isFinite }
    guard nonFinite > 0 else { return nil }
    let inputs = (0..<set.count).filter { !set.isFinite(row: $0) }
    let cause =
      inputs.isEmpty
      ? "the rule's sums exceed float32's range"
      : "row(s) \(inputs.prefix(5).map(String.init).joined(separator: ", ")) hold NaN or Inf, "
        + "which \(chain.joined(separator: " → ")) averages; robust rules reject such rows first"
    return "the aggregate holds \(nonFinite) of \(aggregate.count) values that are not finite "
      + "(\(cause)); nothing written"
  }
}
