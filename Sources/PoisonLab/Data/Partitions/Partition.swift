/// A partition plug-in (`federation.partition.name`): how the training set
/// is split among clients.
public protocol Partition: Plugin {
  /// Assigns training samples to clients.
  /// - Parameters:
  ///   - labels: the class of every training sample.
  ///   - classes: number of classes.
  ///   - clients: number of clients.
  ///   - rng: the partition's random stream.
  /// - Returns: each client's sample indices, ascending; every client gets at least one.
  func assign(labels: [Int32], classes: Int, clients: Int, rng: inout SplitMix64) -> [[Int]]

  /// The problem when `samples` training samples cannot be split among `clients`, or nil.
  /// - Parameters:
  ///   - samples: training samples.
  ///   - clients: clients.
  /// - Returns: a message, or nil.
  func check(samples: Int, clients: Int) -> String?
}

extension Partition {
  /// Every client needs at least one sample.
  public func check(samples: Int, clients: Int) -> String? {
    samples >= clients
      ? nil : "\(samples) training samples cannot give each of \(clients) clients one"
  }
}

/// Moves one sample to every empty client from the currently largest client
/// (lowest id on ties), so that every client has data.
func fillEmptyClients(_ parts: inout [[Int]]) {
  for client in parts.indices where parts[client].isEmpty {
    var donor = 0
    for c in parts.indices where parts[c].count > parts[donor].count { donor = c }
    guard parts[donor].count > 1 else { break }
    parts[client].append(parts[donor].removeLast())
  }
  for c in parts.indices { parts[c].sort() }
}
