/// The update channel of a federated run: the clients' side (keys made at
/// enrolment, signing) and the server's side (the enrolment registry and the
/// checks every received message goes through).
///
/// Server checks, in order, for each message in arrival order:
/// 1. unknown id: under `closed` enrolment only the federation's clients
///    exist (`rejected_unknown`); under `open` a new id is enrolled on first
///    contact with the key it presents and the count it reports;
/// 2. with `ed25519`: the signature must verify under the enrolled key
///    (`rejected_signature`), the round and model digest must be the current
///    ones (`rejected_stale`), and an id may deliver one message per round
///    (`rejected_duplicate`).
///
/// Without authentication nothing binds a message to its sender, round or
/// content, so only the enrolment list can be checked.
///
/// FedAvg weights follow `reported_samples` (``ChannelSettings/SampleCounts``).
public struct UpdateChannel {
  /// What the server knows of an enrolled identity.
  struct Enrolled {
    var publicKey: [UInt8]
    var recordedSamples: Int
  }

  let settings: ChannelSettings
  let seed: UInt64
  private var registry: [Int: Enrolled] = [:]
  private var keys: [Int: ChannelCrypto.SigningKey] = [:]

  /// Enrols the federation's clients (closed set-up).
  /// - Parameters:
  ///   - settings: the channel block.
  ///   - seed: the scenario seed (keys derive from it).
  ///   - samples: each client's true local sample count, by id 0..<n.
  init(settings: ChannelSettings, seed: UInt64, samples: [Int]) {
    self.settings = settings
    self.seed = seed
    for (id, count) in samples.enumerated() {
      var publicKey: [UInt8] = []
      if settings.authentication == .ed25519 {
        let key = Self.clientKey(seed: seed, id: id)
        keys[id] = key
        publicKey = key.publicKey
      }
      registry[id] = Enrolled(publicKey: publicKey, recordedSamples: count)
    }
  }

  /// The signing key of federation client `id`.
  static func clientKey(seed: UInt64, id: Int) -> ChannelCrypto.SigningKey {
    ChannelCrypto.SigningKey(seed: ChannelCrypto.secret(seed: seed, "ed25519 client \(id)"))
  }

  /// The signing key of an identity an attacker made (a sybil), or of an
  /// attacker's forgery: never the key of the id it claims.
  static func identityKey(seed: UInt64, label: String) -> ChannelCrypto.SigningKey {
    ChannelCrypto.SigningKey(seed: ChannelCrypto.secret(seed: seed, "ed25519 identity \(label)"))
  }

  /// Signs `message` with the key of federation client `client`.
  ///
  /// The key is the real sender's, whatever id the message claims. No-op
  /// without authentication.
  /// - Parameters:
  ///   - message: the message, changed in place.
  ///   - client: the federation client whose key signs.
  func sign(_ message: inout ChannelMessage, asClient client: Int) {
    guard settings.authentication == .ed25519 else { return }
    let key = keys[client] ?? Self.clientKey(seed: seed, id: client)
    message.signature = key.sign(message.signedBytes)
    message.presentedKey = key.publicKey
  }

  /// Signs `message` with `key` and presents it (identities an attacker made).
  /// - Parameters:
  ///   - message: the message, changed in place.
  ///   - key: the signing key.
  func sign(_ message: inout ChannelMessage, with key: ChannelCrypto.SigningKey) {
    message.presentedKey = key.publicKey
    guard settings.authentication == .ed25519 else { return }
    message.signature = key.sign(message.signedBytes)
  }

  /// Whether the channel signs and verifies messages.
  var authenticates: Bool { settings.authentication == .ed25519 }

  /// What the server made of a round's messages.
  struct Delivery {
    /// Indices (into the messages) accepted, in arrival order.
    var accepted: [Int] = []
    /// FedAvg weight of each accepted message.
    var weights: [Double] = []
    /// Messages received.
    var messages = 0
    /// Rejected: the signature did not verify.
    var rejectedSignature = 0
    /// Rejected: round or model digest not the current ones.
    var rejectedStale = 0
    /// Rejected: the id is not enrolled (closed enrolment).
    var rejectedUnknown = 0
    /// Rejected: a second message from an id this round.
    var rejectedDuplicate = 0
    /// Honest messages rejected.
    var honestDropped = 0
    /// Malicious messages rejected.
    var maliciousRejected = 0
  }

  /// Runs the server's checks on a round's messages, in arrival order.
  /// - Parameters:
  ///   - messages: what arrived.
  ///   - round: the current round.
  ///   - digest: SHA-256 of the current global model.
  ///   - threads: worker threads for signature verification.
  /// - Returns: the accepted messages and the counts.
  mutating func receive(
    _ messages: [ChannelMessage], round: Int, digest: [UInt8], threads: Int
  ) -> Delivery {
    var delivery = Delivery()
    delivery.messages = messages.count
    // Signatures are verified in parallel under the key enrolled when the
    // round began, or the key a new identity presents; a message whose id
    // was enrolled during the round under another key is verified again.
    let keyUsed: [[UInt8]] = messages.map { registry[$0.sender]?.publicKey ?? $0.presentedKey }
    var valid = [Bool](repeating: true, count: messages.count)
    if authenticates {
      valid = ChannelCrypto.verifyAll(messages, keys: keyUsed.map { $0 }, threads: threads)
    }
    var seen = Set<Int>()
    for (index, message) in messages.enumerated() {
      var rejected = true
      defer {
        if rejected {
          if message.origin == .honest {
            delivery.honestDropped += 1
          } else {
            delivery.maliciousRejected += 1
          }
        }
      }
      let known = registry[message.sender]
      if authenticates, let known, known.publicKey != keyUsed[index] {
        valid[index] =
          message.signature.count == 64
          && ChannelCrypto.verify(
            signature: message.signature, of: message.signedBytes, publicKey: known.publicKey)
      }
      if known == nil && settings.enrolment == .closed {
        delivery.rejectedUnknown += 1
        continue
      }
      if authenticates {
        // A new identity must present a key and a message it signed.
        guard valid[index], known != nil || message.presentedKey.count == 32 else {
          delivery.rejectedSignature += 1
          continue
        }
        guard message.round == round, message.modelDigest == digest else {
          delivery.rejectedStale += 1
          continue
        }
        guard !seen.contains(message.sender) else {
          delivery.rejectedDuplicate += 1
          continue
        }
      }
      // Open enrolment: first contact that passed every check enrols the identity.
      if known == nil {
        registry[message.sender] = Enrolled(
          publicKey: message.presentedKey, recordedSamples: message.reportedSamples)
      }
      seen.insert(message.sender)
      rejected = false
      delivery.accepted.append(index)
      let recorded = registry[message.sender]?.recordedSamples ?? message.reportedSamples
      delivery.weights.append(
        Double(
          settings.reportedSamples.weight(reported: message.reportedSamples, recorded: recorded)))
    }
    return delivery
  }
}
