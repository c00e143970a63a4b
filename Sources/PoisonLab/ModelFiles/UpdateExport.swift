/// `--save-updates DIR`: what the server's defense chain received each
/// round of a federated run, for NumPy and for `poisonlab aggregate`.
///
/// Per round `r`: `round-NNNN.npy` (the updates that reached the chain, float32, n x d, rows in
/// received order), `round-NNNN.aggregate.npy` (the chain's aggregate), `round-NNNN.server.npy`
/// (the server's root-data update, for rules that use one), and `round-NNNN.json`: `format`
/// (`poisonlab-round`), `round`, `seed`, `clients` (the claimed id of each row), `malicious`
/// (ground truth per row), `reported_samples` (each row's FedAvg weight under the channel's
/// policy), `flagged` (rows the chain rejected or gave zero weight), `quarantined` (clients
/// quarantined before the round), `rejected_by_channel` (selected clients whose message the channel
/// rejected this round; rules assume `f` less both), `defense` (the resolved chain), `default_f`
/// (the `f` of rules that leave it unset: the scenario's malicious clients) and the file names.
/// `poisonlab aggregate DIR/round-NNNN.npy --defense CHAIN` reads the JSON next to the matrix and
/// reproduces the round's aggregate bit for bit for every rule that keeps no state across rounds.
public enum UpdateExport {
  /// The stem of round `r`'s files in `directory`.
  public static func stem(_ directory: String, round: Int) -> String {
    roundStem(directory, round: round)
  }

  /// Writes one round.
  static func write(
    directory: String, round: Int, seed: UInt64, updates: UpdateSet, ids: [Int], malicious: [Bool],
    flagged: [Bool], server: [Float]?, aggregate: [Float], defense: JSONValue, defaultF: Int,
    quarantined: Int, rejectedByChannel: Int = 0
  ) throws(SinkError) {
    let base = stem(directory, round: round)
    let name = String(base.split(separator: "/").last ?? "")
    var files: [(path: String, bytes: [UInt8])] = [
      (
        base + ".npy",
        NPYArray(shape: [updates.count, updates.dimension], values: updates.values).serialized()
      ),
      (
        base + ".aggregate.npy",
        NPYArray(shape: [aggregate.count], values: aggregate).serialized()
      ),
    ]
    if let server {
      files.append(
        (base + ".server.npy", NPYArray(shape: [server.count], values: server).serialized()))
    }
    let sidecar = JSONValue.object([
      JSONMember("format", .string("poisonlab-round")),
      JSONMember("round", .number(Double(round))),
      JSONMember("seed", .number(Double(seed))),
      JSONMember("clients", .array(ids.map { .number(Double($0)) })),
      JSONMember("malicious", .array(malicious.map { .bool($0) })),
      JSONMember("reported_samples", .array(updates.weights.map { .number($0) })),
      JSONMember(
        "flagged", .array(flagged.indices.filter { flagged[$0] }.map { .number(Double($0)) })),
      JSONMember("quarantined", .number(Double(quarantined))),
      JSONMember("rejected_by_channel", .number(Double(rejectedByChannel))),
      JSONMember("defense", defense),
      JSONMember("default_f", .number(Double(defaultF))),
      JSONMember("updates", .string(name + ".npy")),
      JSONMember("aggregate", .string(name + ".aggregate.npy")),
      JSONMember("server_update", server.map { _ in .string(name + ".server.npy") } ?? .null),
    ])
    // The facts last: a round is whole or absent. A failed write removes
    // the round's files written before it (each file leaves no partial).
    files.append((base + ".json", Array((sidecar.serialized(indent: 2) + "\n").utf8)))
    var written: [String] = []
    do {
      for file in files {
        try AtomicFile.write(file.bytes, to: file.path)
        written.append(file.path)
      }
    } catch {
      for path in written { SystemFile.remove(path) }
      throw error
    }
  }

  /// The facts of an exported round, read back by `poisonlab aggregate`.
  public struct Round: Sendable {
    public var round: Int
    public var seed: UInt64
    public var clients: [Int]
    public var weights: [Double]
    public var quarantined: Int
    /// Selected clients whose message the channel rejected that round.
    public var rejectedByChannel: Int
    /// The `f` the run gave rules that left it unset (nil in exports older than the key).
    public var defaultF: Int?
    /// The server update's path, when the round had one.
    public var serverUpdate: String?
  }

  /// Where the facts of a matrix would be: `X.npy` (or a gzipped
  /// `X.npy.gz`) -> `X.json`; nil for other names.
  /// - Parameter matrix: the matrix file.
  /// - Returns: the path, or nil.
  public static func sidecarPath(of matrix: String) -> String? {
    if matrix.hasSuffix(".npy.gz") { return String(matrix.dropLast(7)) + ".json" }
    if matrix.hasSuffix(".npy") { return String(matrix.dropLast(4)) + ".json" }
    return nil
  }

  /// The sidecar of an exported matrix (`X.npy` -> `X.json`), or nil when
  /// there is none or it is not poisonlab's (no `"format":
  /// "poisonlab-round"`).
  /// - Throws: `DataError.corrupt` naming the `.json` when it is
  ///   poisonlab's but its facts are unusable (a round below 1, a seed that
  ///   is not a whole number from 0 to 2^64 - 1, clients or weights that
  ///   are not lists of numbers, a server update outside its folder):
  ///   replaying with defaults would silently give another aggregate.
  public static func sidecar(of matrix: String) throws(DataError) -> Round? {
    guard let path = sidecarPath(of: matrix) else { return nil }
    // Beside a matrix named as an export's (round-NNNN.npy) the .json is
    // its facts: one that cannot be read or parsed is an error, not a
    // missing file. Beside any other matrix it may be another program's,
    // and is used only when it says it is poisonlab's.
    let exportName =
      (matrix.split(separator: "/").last ?? "").wholeMatch(of: /round-[0-9]{4,}\.npy(\.gz)?/)
      != nil
    func corrupt(_ reason: String) -> DataError { .corrupt(file: path, reason: reason) }
    let bytes: [UInt8]
    do {
      bytes = try FileBytes.read(path, limit: 64 << 20)
    } catch {
      if case .missing = error { return nil }
      if !exportName { return nil }
      throw error
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      if !exportName { return nil }
      throw corrupt("is not UTF-8 text")
    }
    let json: JSONValue
    do {
      json = try JSONParser.parse(text)
    } catch {
      if !exportName { return nil }
      throw corrupt("is not valid JSON: \(error)")
    }
    guard case .string("poisonlab-round")? = json["format"] else { return nil }
    func shown(_ key: String) -> String { json[key].map { $0.serialized() } ?? "missing" }
    guard case .number(let r)? = json["round"], let round = Int(exactly: r),
      (1...1_000_000).contains(round)
    else {
      throw corrupt("its \"round\" (\(shown("round"))) is not a whole number from 1 to 1000000")
    }
    guard case .number(let s)? = json["seed"], let seed = UInt64(exactly: s) else {
      throw corrupt(
        "its \"seed\" (\(shown("seed"))) is not a whole number from 0 to 18446744073709551615")
    }
    guard case .array(let ids)? = json["clients"], case .array(let w)? = json["reported_samples"]
    else { throw corrupt("it lacks the \"clients\" or \"reported_samples\" lists") }
    let clients = ids.compactMap { if case .number(let x) = $0 { Int(exactly: x) } else { nil } }
    let weights = w.compactMap { if case .number(let x) = $0 { x } else { nil } }
    guard clients.count == ids.count, weights.count == w.count else {
      throw corrupt("its \"clients\" or \"reported_samples\" hold other values than numbers")
    }
    let folder = OutputPath.folder(of: matrix)
    var server: String?
    // The export names a file beside the matrix; a path elsewhere is not its own.
    if case .string(let name)? = json["server_update"] {
      guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
        throw corrupt("its \"server_update\" \(name) is not a file name beside it")
      }
      server = folder + "/" + name
    }
    func count(_ key: String, max: Int = 1_000_000) throws(DataError) -> Int {
      guard let value = json[key], value != .null else { return 0 }
      guard case .number(let x) = value, let n = Int(exactly: x), (0...max).contains(n) else {
        throw corrupt(
          "its \"\(key)\" (\(value.serialized())) is not a whole number from 0 to \(max)")
      }
      return n
    }
    // Absent (an export older than the key) or null: unknown, which is not f = 0.
    let defaultF =
      (json["default_f"] ?? .null) == .null ? nil : try count("default_f", max: maxByzantine)
    return Round(
      round: round, seed: seed, clients: clients, weights: weights,
      quarantined: try count("quarantined"), rejectedByChannel: try count("rejected_by_channel"),
      defaultF: defaultF, serverUpdate: server)
  }
}
