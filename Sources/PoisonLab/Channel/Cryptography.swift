import Crypto
import Dispatch
import Foundation

/// The cryptography of the update channel, from apple/swift-crypto.
///
/// BoringSSL does the work on Linux; this is the only file that imports
/// swift-crypto. Nothing here is a home-made
/// primitive: Ed25519 (RFC 8032) signatures, X25519 (RFC 7748) key
/// agreement, SHA-256, HKDF-SHA-256 (RFC 5869) and ChaCha20 (RFC 8439).
///
/// Determinism: every secret is derived with HKDF from the scenario seed and
/// a label (``secret(seed:_:)``), Ed25519 signing is deterministic (RFC 8032
/// section 5.1.6) and X25519 is a function, so a seed gives the same keys,
/// signatures and masks on every run and for any thread count. A 64-bit seed
/// is no secret: the lab simulates the protocol, it does not protect data.
enum ChannelCrypto {
  /// 32 bytes of key material for `label`, derived from the scenario seed.
  /// - Parameters:
  ///   - seed: the scenario seed.
  ///   - label: what the bytes are for (client, round, purpose), made unambiguous by the caller.
  /// - Returns: HKDF-SHA-256(ikm = seed, salt = "poisonlab channel v1", info = label), 32 bytes.
  static func secret(seed: UInt64, _ label: String) -> [UInt8] {
    let ikm = SymmetricKey(data: withUnsafeBytes(of: seed.littleEndian) { Array($0) })
    let key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: ikm, salt: Array("poisonlab channel v1".utf8), info: Array(label.utf8),
      outputByteCount: 32)
    return key.withUnsafeBytes { Array($0) }
  }

  /// SHA-256 of `bytes`.
  /// - Parameter bytes: the message.
  /// - Returns: the 32-byte digest.
  static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    Array(SHA256.hash(data: bytes))
  }

  /// SHA-256 of `bytes` in lowercase hex.
  static func sha256Hex(_ bytes: [UInt8]) -> String {
    bytes.withUnsafeBytes { sha256($0) }.map {
      String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
    }.joined()
  }

  /// SHA-256 of a float vector's little-endian bytes (the global model digest).
  /// - Parameter values: the parameters.
  /// - Returns: the 32-byte digest.
  static func sha256(floats values: [Float]) -> [UInt8] {
    // Float's in-memory bytes are little-endian on every platform Swift runs here.
    values.withUnsafeBytes { sha256($0) }
  }

  /// An Ed25519 signing key made from a 32-byte seed.
  struct SigningKey {
    private let key: Curve25519.Signing.PrivateKey
    /// The 32-byte public key.
    let publicKey: [UInt8]

    /// Creates the key whose RFC 8032 private seed is `seed`.
    /// - Parameter seed: 32 bytes.
    init(seed: [UInt8]) {
      // A 32-byte seed is always a valid Ed25519 private key.
      guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
        fatalError("Ed25519 rejected a 32-byte seed")
      }
      self.key = key
      publicKey = Array(key.publicKey.rawRepresentation)
    }

    /// The 64-byte signature of `message`.
    /// - Parameter message: the signed bytes.
    /// - Returns: the signature.
    func sign(_ message: [UInt8]) -> [UInt8] {
      // BoringSSL's ED25519_sign cannot fail for a valid key.
      guard let signature = try? key.signature(for: message) else {
        fatalError("Ed25519 signing failed")
      }
      return Array(signature)
    }
  }

  /// Whether `signature` is a valid Ed25519 signature of `message` under `publicKey`.
  /// - Parameters:
  ///   - signature: 64 bytes.
  ///   - message: the signed bytes.
  ///   - publicKey: 32 bytes.
  /// - Returns: true when the signature verifies.
  static func verify(signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
    guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
      return false
    }
    return key.isValidSignature(signature, for: message)
  }

  /// An X25519 key pair made from 32 secret bytes.
  struct AgreementKey {
    private let key: Curve25519.KeyAgreement.PrivateKey
    /// The 32-byte secret key.
    let secretKey: [UInt8]
    /// The 32-byte public key.
    let publicKey: [UInt8]

    /// Creates the key pair whose secret scalar is `secret` (clamped by X25519).
    /// - Parameter secret: 32 bytes.
    init(secret: [UInt8]) {
      guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: secret) else {
        fatalError("X25519 rejected a 32-byte secret")
      }
      self.key = key
      secretKey = secret
      publicKey = Array(key.publicKey.rawRepresentation)
    }

    /// A 32-byte key agreed with `peer`: HKDF-SHA-256 of the X25519 shared secret.
    /// - Parameters:
    ///   - peer: the other party's public key.
    ///   - info: what the key is for (both parties must give the same).
    /// - Returns: the key, or nil when `peer` is not a valid public key or the
    ///   shared secret is all zero (a low-order point).
    func agree(with peer: [UInt8], info: String) -> [UInt8]? {
      guard let peerKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peer),
        let shared = try? key.sharedSecretFromKeyAgreement(with: peerKey)
      else { return nil }
      let derived = shared.hkdfDerivedSymmetricKey(
        using: SHA256.self, salt: Array("poisonlab agreement v1".utf8),
        sharedInfo: Array(info.utf8),
        outputByteCount: 32)
      return derived.withUnsafeBytes { Array($0) }
    }
  }

  /// `count` bytes of the ChaCha20 keystream of `key`.
  ///
  /// Nonce zero, block counter from 1: the ChaCha20-Poly1305 encryption of zeros, whose
  /// ciphertext is exactly the keystream (RFC 8439 section 2.8); the tag is
  /// dropped. Each key is used for one stream only.
  /// - Parameters:
  ///   - key: 32 bytes.
  ///   - count: bytes wanted.
  /// - Returns: the keystream.
  static func keystream(key: [UInt8], count: Int) -> [UInt8] {
    let zeros = [UInt8](repeating: 0, count: count)
    guard let nonce = try? ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)),
      let box = try? ChaChaPoly.seal(zeros, using: SymmetricKey(data: key), nonce: nonce)
    else { fatalError("ChaCha20 failed on a 32-byte key") }
    return Array(box.ciphertext)
  }

  /// Authenticated encryption of a short message (a secret share) with
  /// ChaCha20-Poly1305 under `key` and a nonce unique for the key.
  /// - Parameters:
  ///   - plaintext: the bytes.
  ///   - key: 32 bytes.
  ///   - nonce: 12 bytes, never reused with `key`.
  /// - Returns: ciphertext and tag.
  static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8] {
    guard let n = try? ChaChaPoly.Nonce(data: nonce),
      let box = try? ChaChaPoly.seal(plaintext, using: SymmetricKey(data: key), nonce: n)
    else { fatalError("ChaCha20-Poly1305 failed on a 32-byte key and 12-byte nonce") }
    return Array(box.ciphertext) + Array(box.tag)
  }

  /// Opens what ``seal(_:key:nonce:)`` made.
  /// - Parameters:
  ///   - sealed: ciphertext and 16-byte tag.
  ///   - key: 32 bytes.
  ///   - nonce: the 12-byte nonce it was sealed with.
  /// - Returns: the plaintext, or nil when the tag does not verify.
  static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8]? {
    guard sealed.count >= 16, let n = try? ChaChaPoly.Nonce(data: nonce),
      let box = try? ChaChaPoly.SealedBox(
        nonce: n, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16)),
      let plain = try? ChaChaPoly.open(box, using: SymmetricKey(data: key))
    else { return nil }
    return Array(plain)
  }
}

extension ChannelCrypto {
  /// Verifies every message's signature under its key, in parallel.
  /// - Parameters:
  ///   - messages: the messages.
  ///   - keys: the public key each must verify under (nil: none known).
  ///   - threads: worker threads.
  /// - Returns: per message, whether its signature verifies.
  static func verifyAll(_ messages: [ChannelMessage], keys: [[UInt8]?], threads: Int) -> [Bool] {
    var valid = [Bool](repeating: false, count: messages.count)
    let workers = max(1, min(threads, messages.count))
    valid.withUnsafeMutableBufferPointer { out in
      let task = Unchecked(out)
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        for i in stride(from: worker, to: messages.count, by: workers) {
          guard let key = keys[i], messages[i].signature.count == 64 else { continue }
          task.value[i] = verify(
            signature: messages[i].signature, of: messages[i].signedBytes, publicKey: key)
        }
      }
    }
    return valid
  }
}
