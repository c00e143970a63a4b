/// The cost of the update channel for one round, measured on random updates
/// (what `poisonlab bench` reports at W1 size: 20 clients, d = 199,210).
public enum ChannelBenchmark {
  /// One round's channel costs.
  public struct Figures: Sendable {
    /// Seconds to sign every client's message (all threads).
    public var signSeconds: Double
    /// Seconds for the server to verify every message (all threads).
    public var verifySeconds: Double
    /// Bytes each signed message carries besides the update (signature).
    public var signatureBytes: Int
    /// Secure aggregation (pairwise masking, no dropout): mean client seconds.
    public var secureClientSeconds: Double
    /// Secure aggregation: the server's unmasking seconds.
    public var secureServerSeconds: Double
    /// Secure aggregation: wall-clock seconds of the whole protocol.
    public var secureSeconds: Double
    /// Secure aggregation: mean bytes sent per client.
    public var secureBytesPerClient: Double
  }

  /// Measures one round (the best of `repeats`).
  /// - Parameters:
  ///   - clients: messages per round.
  ///   - dimension: floats per update.
  ///   - threads: worker threads.
  ///   - repeats: measurements; the fastest counts.
  /// - Returns: the figures.
  public static func measure(clients: Int, dimension: Int, threads: Int, repeats: Int = 3)
    -> Figures
  {
    let clock = ContinuousClock()
    var settings = ChannelSettings()
    settings.authentication = .ed25519
    let updates = (0..<clients).map { gaussianVector(dimension, seed: UInt64($0)) }
    let digest = ChannelCrypto.sha256(floats: gaussianVector(dimension, seed: 999))
    var figures = Figures(
      signSeconds: .infinity, verifySeconds: .infinity, signatureBytes: 64,
      secureClientSeconds: .infinity, secureServerSeconds: .infinity, secureSeconds: .infinity,
      secureBytesPerClient: 0)
    for _ in 0..<max(1, repeats) {
      let stage = ChannelStage(
        channel: UpdateChannel(
          settings: settings, seed: 1, samples: [Int](repeating: 100, count: clients)))
      let outgoing = (0..<clients).map {
        ChannelStage.Outgoing(claimed: $0, signer: $0, reported: 100, malicious: false)
      }
      let started = clock.now
      let messages = stage.signed(
        round: 1, digest: digest, outgoing: outgoing, rows: Array(updates.joined()), d: dimension,
        threads: threads)
      let signedAt = clock.now
      var channel = stage.channel
      let delivery = channel.receive(messages, round: 1, digest: digest, threads: threads)
      let verifiedAt = clock.now
      figures.signSeconds = min(figures.signSeconds, (signedAt - started).inSeconds)
      // Every message is genuine: a rejection would mean the measurement is wrong.
      figures.verifySeconds =
        delivery.accepted.count == clients
        ? min(figures.verifySeconds, (verifiedAt - signedAt).inSeconds) : .nan

      let protocolStart = clock.now
      let result = PairwiseMasking(
        settings: SecureAggregationSettings(threshold: clients / 2 + 1), seed: 1
      ).run(
        round: 1, ids: Array(0..<clients), inputs: Array(updates.joined()), dimension: dimension,
        threads: threads)
      figures.secureSeconds = min(figures.secureSeconds, (clock.now - protocolStart).inSeconds)
      figures.secureClientSeconds = min(figures.secureClientSeconds, result.clientSeconds)
      figures.secureServerSeconds = min(figures.secureServerSeconds, result.serverSeconds)
      figures.secureBytesPerClient = result.bytesPerClient
    }
    return figures
  }

  private static func gaussianVector(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(rng.nextGaussian() * 0.01) }
  }
}
