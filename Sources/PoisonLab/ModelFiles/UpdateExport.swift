/// `--save-updates DIR`: what the server's defense chain received each
/// round of a federated run, for NumPy and for `poisonlab aggregate`.
///
/// Per round `r`: `round-NNNN.npy` (the updates that reached the chain,
/// float32, n x d, rows in received order), `round-NNNN.aggregate.npy` (the
/// chain's aggregate), `round-NNNN.server.npy` (the server's root-data update,
/// for rules that use one), and `round-NNNN.json`: `format`
/// (`poisonlab-round`), `round`, `seed`, `clients` (the claimed id of each
/// row), `malicious` (ground truth per row), `reported_samples` (each row's
/// FedAvg weight under the channel's policy), `flagged` (rows the chain
/// rejected or gave zero weight), `quarantined` (clients quarantined before
/// the round), `rejected_by_channel` (selected clients whose message the
/// channel rejected this round; rules assume `f` less both), `defense` (the resolved chain) and the file names.
/// `poisonlab aggregate DIR/round-NNNN.npy --defense CHAIN` reads the JSON
/// next to the matrix and reproduces the round's aggregate bit for bit for
/// every rule that keeps no state across rounds.
public enum UpdateExport {
  /// The stem of round `r`'s files in `directory`.
  public static func stem(_ directory: String, round: Int) -> String {
    roundStem(directory, round: round)
  }

  /// Writes one round.
  static func write(
    directory: String, round: Int, seed: UInt64, updates: UpdateSet, ids: [Int], malicious: [Bool],
    flagged: [Bool], server: [Float]?, aggregate: [Float], defense: JSONValue, quarantined: Int,
    rejectedByChannel: Int = 0
  ) throws(SinkError) {
    let base = stem(directory, round: round)
    let name = String(base.split(separator: "/").last ?? "")
    try writeFile(
      base + ".npy",
      NPYArray(shape: [updates.count, updates.dimension], values: updates.values).serialized())
    try writeFile(
      base + ".aggregate.npy", NPYArray(shape: [aggregate.count], values: aggregate).serialized())
    if let server {
      try writeFile(
        base + ".server.npy", NPYArray(shape: [server.count], values: server).serialized())
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
      JSONMember("updates", .string(name + ".npy")),
      JSONMember("aggregate", .string(name + ".aggregate.npy")),
      JSONMember("server_update", server.map { _ in .string(name + ".server.npy") } ?? .null),
    ])
    try writeFile(base + ".json", Array((sidecar.serialized(indent: 2) + "\n").utf8))
  }

  private static func writeFile(_ path: String, _ bytes: [UInt8]) throws(SinkError) {
    let file = try AtomicFile(path: path)
    try file.write(bytes)
    try file.commit()
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
    /// The server update's path, when the round had one.
    public var serverUpdate: String?
  }

  /// The sidecar of an exported matrix (`X.npy` -> `X.json`), or nil when
  /// there is none or it is not poisonlab's.
  public static func sidecar(of matrix: String) -> Round? {
    guard matrix.hasSuffix(".npy") else { return nil }
    let path = String(matrix.dropLast(4)) + ".json"
    guard let bytes = try? FileBytes.read(path, limit: 64 << 20),
      let text = String(validating: bytes, as: UTF8.self), let json = try? JSONParser.parse(text),
      case .string("poisonlab-round")? = json["format"],
      case .number(let r)? = json["round"], let round = Int(exactly: r), round >= 1,
      case .number(let s)? = json["seed"], let seed = UInt64(exactly: s),
      case .array(let ids)? = json["clients"], case .array(let w)? = json["reported_samples"]
    else { return nil }
    let folder = OutputPath.folder(of: matrix)
    var server: String?
    // The export names a file beside the matrix; a path elsewhere is not its own.
    if case .string(let name)? = json["server_update"] {
      guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
      server = folder + "/" + name
    }
    var quarantined = 0
    if case .number(let q)? = json["quarantined"] { quarantined = Int(exactly: q) ?? 0 }
    var rejectedByChannel = 0
    if case .number(let r)? = json["rejected_by_channel"] {
      rejectedByChannel = Int(exactly: r) ?? 0
    }
    return Round(
      round: round, seed: seed,
      clients: ids.compactMap { if case .number(let x) = $0 { Int(exactly: x) } else { nil } },
      weights: w.compactMap { if case .number(let x) = $0 { x } else { nil } },
      quarantined: quarantined, rejectedByChannel: rejectedByChannel, serverUpdate: server)
  }
}
