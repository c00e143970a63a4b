/// IID partition: a seeded shuffle of the training set cut into `clients`
/// parts whose sizes differ by at most one.
public struct IIDPartition: Partition {
  public static let descriptor = PluginDescriptor(
    name: "iid", summary: "uniformly shuffled, equal-size client shards")

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {}

  public func assign(labels: [Int32], classes: Int, clients: Int, rng: inout SplitMix64) -> [[Int]]
  {
    var order = Array(labels.indices)
    rng.shuffle(&order)
    return splitEvenly(order, parts: clients).map { $0.sorted() }
  }
}

/// `items` cut into `parts` consecutive pieces; the first `count % parts` get one extra.
func splitEvenly<T>(_ items: [T], parts: Int) -> [[T]] {
  let base = items.count / parts
  let extra = items.count % parts
  var out: [[T]] = []
  var start = 0
  for p in 0..<parts {
    let size = base + (p < extra ? 1 : 0)
    out.append(Array(items[start..<(start + size)]))
    start += size
  }
  return out
}
