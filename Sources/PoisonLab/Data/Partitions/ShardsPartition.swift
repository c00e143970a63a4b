/// Label-sorted shards dealt to clients (pathological non-IID).
///
/// Pathological non-IID partition of McMahan et al. (2017): sort the
/// training set by label, cut it into `clients * shards_per_client` shards of
/// (nearly) equal size, and give each client `shards_per_client` shards
/// chosen at random.
public struct ShardsPartition: Partition {
  public static let descriptor = PluginDescriptor(
    name: "shards",
    summary: "sort by label, deal shards_per_client label-sorted shards to each client",
    reference:
      "McMahan et al. 2017, Communication-Efficient Learning of Deep Networks from Decentralized Data",
    parameters: [
      ParameterSpec(
        "shards_per_client", .integer(min: 1, max: 10_000), default: .number(2),
        doc: "shards per client (2 gives most clients two classes)")
    ])

  /// Shards per client.
  public let shardsPerClient: Int

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    shardsPerClient = parameters.int("shards_per_client") ?? 2
  }

  public func check(samples: Int, clients: Int) -> String? {
    samples >= clients * shardsPerClient
      ? nil : "\(samples) training samples cannot fill \(clients) x \(shardsPerClient) shards"
  }

  public func assign(labels: [Int32], classes: Int, clients: Int, rng: inout SplitMix64) -> [[Int]]
  {
    let order = labels.indices.sorted {
      labels[$0] < labels[$1] || (labels[$0] == labels[$1] && $0 < $1)
    }
    let shards = splitEvenly(order, parts: clients * shardsPerClient)
    var ids = Array(shards.indices)
    rng.shuffle(&ids)
    var parts = (0..<clients).map { client in
      ids[(client * shardsPerClient)..<((client + 1) * shardsPerClient)].flatMap { shards[$0] }
    }
    fillEmptyClients(&parts)
    return parts
  }
}
