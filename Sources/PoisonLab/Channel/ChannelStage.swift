import Dispatch

/// The channel's part of a federated round, between the clients' training
/// and the defenses: each selected client's update becomes a message (signed
/// under `ed25519`), the channel attacks act on the messages in transit in
/// the order of the `attack` array, and the server's checks
/// (``UpdateChannel``) decide which messages reach the defenses, with which
/// FedAvg weight.
struct ChannelStage {
  /// The channel (the server's registry persists across rounds).
  private(set) var channel: UpdateChannel
  /// The channel attacks, by attack-group index (their state persists).
  private var interceptors: [(group: Int, attack: any ChannelAttack)]
  private let seeds: SeedTree
  private let seed: UInt64
  private let clients: Int
  private let meanSamples: Int
  /// The next identity id never used (sybils take ids from here).
  private var nextIdentity: Int

  /// Sets the channel up: the federation's clients enrolled with their true counts.
  /// - Parameters:
  ///   - scenario: the scenario.
  ///   - samples: each client's local sample count.
  init(scenario: Scenario, samples: [Int]) {
    channel = UpdateChannel(settings: scenario.channel, seed: scenario.seed, samples: samples)
    interceptors = scenario.attacks.enumerated().compactMap { g, entry in
      (entry.attack as? any ChannelAttack).map { (g, $0) }
    }
    seeds = SeedTree(scenario.seed)
    seed = scenario.seed
    clients = samples.count
    meanSamples = samples.isEmpty ? 0 : samples.reduce(0, +) / samples.count
    nextIdentity = samples.count
  }

  /// What one selected client sends.
  struct Outgoing {
    /// The id the message claims (a victim's, for an impersonator).
    var claimed: Int
    /// The federation client whose key signs it.
    var signer: Int
    /// The sample count it reports.
    var reported: Int
    /// Whether it comes from an active attacker.
    var malicious: Bool
  }

  /// What reached the defenses.
  struct Arrival {
    /// The accepted updates in arrival order, weighted by the channel's policy.
    var updates: UpdateSet
    /// The claimed id of each accepted update.
    var ids: [Int]
    /// Whether each accepted update is malicious (ground truth).
    var malicious: [Bool]
    /// The channel's counts.
    var counts: MetricRecord.ChannelCounts
    /// Malicious messages received (crafted, poisoned, tampered, replayed, forged, sybil).
    var maliciousReceived: Int
    /// Malicious messages the channel rejected.
    var maliciousRejected: Int
    /// The claimed ids of the messages the channel rejected.
    var rejectedIds: [Int]
  }

  /// A channel with no attacks (benchmarks).
  init(channel: UpdateChannel) {
    self.channel = channel
    interceptors = []
    seeds = SeedTree(channel.seed)
    seed = channel.seed
    clients = 0
    meanSamples = 0
    nextIdentity = 0
  }

  /// The clients' messages, signed in parallel under `ed25519`.
  /// - Parameters:
  ///   - round: the round.
  ///   - digest: SHA-256 of the global model.
  ///   - outgoing: per selected client, what it sends.
  ///   - rows: the updates, row-major.
  ///   - d: the dimension.
  ///   - threads: worker threads.
  /// - Returns: the messages in client order.
  func signed(
    round: Int, digest: [UInt8], outgoing: [Outgoing], rows: [Float], d: Int, threads: Int
  ) -> [ChannelMessage] {
    var messages = outgoing.enumerated().map { position, out in
      ChannelMessage(
        sender: out.claimed, round: round, modelDigest: digest, reportedSamples: out.reported,
        update: Array(rows[(position * d)..<((position + 1) * d)]),
        origin: out.malicious ? .malicious : .honest, slot: position)
    }
    if channel.authenticates {
      let workers = max(1, min(threads, messages.count))
      let channel = self.channel
      messages.withUnsafeMutableBufferPointer { buffer in
        let task = Unchecked((buffer: buffer, channel: channel, outgoing: outgoing))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          for i in stride(from: worker, to: task.value.outgoing.count, by: workers) {
            task.value.channel.sign(&task.value.buffer[i], asClient: task.value.outgoing[i].signer)
          }
        }
      }
    }
    return messages
  }

  /// The claimed ids of the messages not accepted.
  private func rejectedIds(_ messages: [ChannelMessage], accepted: [Int]) -> [Int] {
    let kept = Set(accepted)
    return messages.indices.filter { !kept.contains($0) }.map { messages[$0].sender }
  }

  /// Sends the round's updates through the channel.
  /// - Parameters:
  ///   - round: the round.
  ///   - global: the global model the clients started from.
  ///   - outgoing: per selected client (row order of `rows`), what it sends.
  ///   - rows: the updates, `outgoing.count x d`, row-major.
  ///   - d: the dimension.
  ///   - groups: the attack groups (schedules).
  ///   - threads: worker threads for signing and verifying.
  /// - Returns: the accepted updates and the counts.
  mutating func deliver(
    round: Int, global: [Float], outgoing: [Outgoing], rows: [Float], d: Int,
    groups: [AttackGroup], threads: Int
  ) -> Arrival {
    let digest = ChannelCrypto.sha256(floats: global)
    var messages = signed(
      round: round, digest: digest, outgoing: outgoing, rows: rows, d: d, threads: threads)
    for k in interceptors.indices {
      let g = interceptors[k].group
      var rng = seeds.generator("attack", g, round)
      let view = ChannelRound(
        round: round, digest: digest, clients: clients, meanSamples: meanSamples,
        active: groups[g].isActive(round), channel: channel, seed: seed,
        firstNewIdentity: nextIdentity)
      let before = messages.count
      interceptors[k].attack.intercept(&messages, round: view, rng: &rng)
      nextIdentity += max(0, messages.count - before)
    }
    let delivery = channel.receive(messages, round: round, digest: digest, threads: threads)
    var values: [Float] = []
    values.reserveCapacity(delivery.accepted.count * d)
    for index in delivery.accepted { values += messages[index].update }
    var counts = MetricRecord.ChannelCounts()
    counts.messages = delivery.messages
    counts.rejectedSignature = delivery.rejectedSignature
    counts.rejectedStale = delivery.rejectedStale
    counts.rejectedUnknown = delivery.rejectedUnknown
    counts.rejectedDuplicate = delivery.rejectedDuplicate
    counts.honestDropped = delivery.honestDropped
    return Arrival(
      updates: UpdateSet(
        values: values, count: delivery.accepted.count, dimension: d, weights: delivery.weights),
      ids: delivery.accepted.map { messages[$0].sender },
      malicious: delivery.accepted.map { messages[$0].origin == .malicious },
      counts: counts,
      maliciousReceived: messages.filter { $0.origin == .malicious }.count,
      maliciousRejected: delivery.maliciousRejected,
      rejectedIds: rejectedIds(messages, accepted: delivery.accepted))
  }
}
