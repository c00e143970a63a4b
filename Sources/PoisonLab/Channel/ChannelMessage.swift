/// One update in transit from a client (or an identity) to the server.
///
/// The signed bytes (``signedBytes``) are, in order: the ASCII tag
/// `poisonlab-update-v1`, the claimed client id, the round, the SHA-256
/// digest of the global model the client started from (32 bytes), the
/// reported sample count, the dimension, and the update as little-endian
/// float32; integers are unsigned 64-bit little-endian. Binding the round and
/// the model digest defeats replay; binding the sample count stops a
/// man-in-the-middle from reweighting FedAvg.
public struct ChannelMessage: Sendable {
  /// Who really sent a message (ground truth for the records, never read by the server).
  public enum Origin: Sendable, Equatable {
    /// An honest client's message, as it sent it.
    case honest
    /// A malicious client's, identity's or network attacker's message.
    case malicious
  }

  /// The client id the message claims.
  public var sender: Int
  /// The round it claims.
  public var round: Int
  /// The digest of the global model it claims to start from.
  public var modelDigest: [UInt8]
  /// The sample count it reports.
  public var reportedSamples: Int
  /// The update.
  public var update: [Float]
  /// The Ed25519 signature (empty without authentication).
  public var signature: [UInt8] = []
  /// The public key presented on first contact (open enrolment).
  public var presentedKey: [UInt8] = []
  /// Who really sent it.
  public var origin: Origin
  /// The selected client whose slot this is (nil: an injected message).
  public var slot: Int?

  /// Creates an unsigned message.
  /// - Parameters:
  ///   - sender: the claimed id.
  ///   - round: the claimed round.
  ///   - modelDigest: the claimed model digest.
  ///   - reportedSamples: the reported sample count.
  ///   - update: the update.
  ///   - origin: who really sent it.
  ///   - slot: the selected client's position, if any.
  public init(
    sender: Int, round: Int, modelDigest: [UInt8], reportedSamples: Int, update: [Float],
    origin: Origin, slot: Int?
  ) {
    self.sender = sender
    self.round = round
    self.modelDigest = modelDigest
    self.reportedSamples = reportedSamples
    self.update = update
    self.origin = origin
    self.slot = slot
  }

  /// The bytes a signature covers.
  public var signedBytes: [UInt8] {
    var bytes = Array("poisonlab-update-v1".utf8)
    bytes.reserveCapacity(bytes.count + 32 + 32 + 4 * update.count)
    func append(_ x: Int) {
      withUnsafeBytes(of: UInt64(truncatingIfNeeded: x).littleEndian) { bytes += $0 }
    }
    append(sender)
    append(round)
    bytes += modelDigest
    append(reportedSamples)
    append(update.count)
    update.withUnsafeBytes { bytes += $0 }
    return bytes
  }
}
