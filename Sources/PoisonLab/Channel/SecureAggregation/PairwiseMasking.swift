import Dispatch

/// Secure aggregation by pairwise masking: Bonawitz, Ivanov, Kreuter,
/// Marcedone, McMahan, Patel, Ramage, Segal & Seth 2017, "Practical Secure
/// Aggregation for Privacy-Preserving Machine Learning" (CCS), the
/// honest-but-curious protocol of its section 4 (rounds 0-3; the
/// consistency-check round against an active server is not simulated).
///
/// For the round's selected clients U1 (ordered by id, index i = 1...n):
/// 0. AdvertiseKeys: client u makes two X25519 key pairs, c_u (to encrypt
///    shares) and s_u (to agree masks), and sends both public keys.
/// 1. ShareKeys: u draws a self-mask seed b_u, Shamir-shares s_u's secret
///    key and b_u t-of-n (``Shamir``), and sends share v of both to v,
///    encrypted with ChaCha20-Poly1305 under the X25519 agreement of c_u and
///    c_v (the server relays ciphertexts it cannot read).
/// 2. MaskedInputCollection: u sends
///    `y_u = x_u + PRG(b_u) + sum_{v > u} PRG(s_uv) - sum_{v < u} PRG(s_uv)`
///    mod 2^bits, where `x_u` is its update in ``FixedPoint`` and
///    `s_uv` the X25519 agreement of s_u and s_v; PRG is the ChaCha20
///    keystream of the key (``ChannelCrypto/keystream(key:count:)``). Clients
///    that drop early (`early_dropout`) never send it: U3 is who did.
/// 3. Unmasking: the clients still online (U4: U3 less those that dropped
///    after sending, `dropout`) decrypt the shares they hold and reveal, for
///    each u in U3, its share of b_u, and for each u in U2 \ U3, its share
///    of s_u's secret key (never both for one client). With at least t of
///    them the server rebuilds every b_u and the dropped clients' secret
///    keys, checks each rebuilt key against the advertised public key, and
///    removes the self-masks and the dropped clients' pairwise masks from
///    `sum_{u in U3} y_u`: what is left is `sum_{u in U3} x_u`.
///
/// Fewer than t clients in U3 or U4: the round fails and nothing is learnt.
/// The server never holds an individual `x_u`. Every key, seed and
/// polynomial comes from HKDF of the scenario seed (``ChannelCrypto``), so
/// the protocol is reproducible and the same for any thread count (sums are
/// mod 2^bits, independent of order).
struct PairwiseMasking {
  let settings: SecureAggregationSettings
  /// The scenario seed.
  let seed: UInt64

  /// What a round of the protocol produced.
  struct Result: Sendable {
    /// `sum_{u in U3} x_u`, decoded (empty when the round failed).
    var sum: [Double]
    /// Per client (input order): whether its input is in the sum (U3).
    var included: [Bool]
    /// Fewer than t clients sent their masked input or stayed to unmask.
    var failed: Bool
    /// Clients that dropped before sending their masked input.
    var droppedEarly: Int
    /// Clients that dropped after sending it.
    var droppedLate: Int
    /// Mean bytes a client sent for the protocol (keys, shares, masked input, unmasking).
    var bytesPerClient: Double
    /// Mean seconds of client-side protocol work per client.
    var clientSeconds: Double
    /// Seconds of server-side work (relaying excluded, unmasking included).
    var serverSeconds: Double
    /// What the server received: each client's masked input y_u, `n x d`
    /// ring elements (zeros for clients that dropped before sending).
    var masked: [UInt64] = []
  }

  /// Bytes of one encrypted share: sender and receiver ids (4 + 4), the
  /// shares of s_u and b_u (5 field elements of 8 bytes each), the 16-byte tag.
  static let sealedShareBytes = 8 + 2 * Shamir.chunks * 8 + 16
  /// Bytes of one revealed share: the owner's id and 5 field elements.
  static let revealedShareBytes = 4 + Shamir.chunks * 8

  /// The bytes per ring element.
  var wordBytes: Int { settings.bits <= 32 ? 4 : 8 }

  /// Runs the protocol on one round.
  /// - Parameters:
  ///   - round: the round (keys are fresh every round).
  ///   - ids: the participating clients' ids, ascending.
  ///   - inputs: `ids.count x d` values, row-major: what each client aggregates.
  ///   - d: the dimension.
  ///   - threads: worker threads for the clients' work.
  /// - Returns: the sum and the protocol's cost.
  func run(round: Int, ids: [Int], inputs: [Float], dimension d: Int, threads: Int) -> Result {
    let n = ids.count
    let clock = ContinuousClock()
    let t = settings.threshold
    let encoding = FixedPoint(bits: settings.bits, clip: settings.clip, inputs: n)
    let mask = encoding.mask
    var clientSeconds = [Double](repeating: 0, count: n)
    var bytes = [Int](repeating: 0, count: n)

    // Who drops, and when (stream ("secagg", round)).
    var dropRng = SeedTree(seed).generator("secagg", round)
    var early = [Bool](repeating: false, count: n)
    var late = [Bool](repeating: false, count: n)
    for u in 0..<n {
      let a = dropRng.nextUnitDouble()
      let b = dropRng.nextUnitDouble()
      early[u] = a < settings.earlyDropout
      late[u] = !early[u] && b < settings.dropout
    }

    // Round 0: keys.
    var cKeys: [ChannelCrypto.AgreementKey] = []
    var sKeys: [ChannelCrypto.AgreementKey] = []
    var selfSeeds: [[UInt8]] = []
    for u in 0..<n {
      let started = clock.now
      let label = "secagg round \(round) client \(ids[u])"
      cKeys.append(
        ChannelCrypto.AgreementKey(secret: ChannelCrypto.secret(seed: seed, label + " c")))
      sKeys.append(
        ChannelCrypto.AgreementKey(secret: ChannelCrypto.secret(seed: seed, label + " s")))
      selfSeeds.append(ChannelCrypto.secret(seed: seed, label + " b"))
      bytes[u] += 64
      clientSeconds[u] += (clock.now - started).inSeconds
    }

    // Round 1: shares, encrypted pairwise; sealed[u * n + v] goes from u to v.
    var sealed = [[UInt8]](repeating: [], count: n * n)
    var ownShares: [(s: [UInt64], b: [UInt64])] = []
    for u in 0..<n {
      let started = clock.now
      let label = "secagg round \(round) client \(ids[u]) shamir"
      var random = KeystreamWords(
        key: ChannelCrypto.secret(seed: seed, label), words: 2 * Shamir.chunks * t + 64)
      let sShares = Shamir.share(sKeys[u].secretKey, threshold: t, count: n, random: &random)
      let bShares = Shamir.share(selfSeeds[u], threshold: t, count: n, random: &random)
      ownShares.append((sShares[u], bShares[u]))
      for v in 0..<n where v != u {
        guard let key = cKeys[u].agree(with: cKeys[v].publicKey, info: "secagg shares \(round)")
        else { continue }
        var plain = Self.littleEndian(UInt32(truncatingIfNeeded: ids[u]))
        plain += Self.littleEndian(UInt32(truncatingIfNeeded: ids[v]))
        for x in sShares[v] + bShares[v] { plain += Self.littleEndian(x) }
        sealed[u * n + v] = ChannelCrypto.seal(plain, key: key, nonce: Self.nonce(u, v, round))
        bytes[u] += sealed[u * n + v].count
      }
      clientSeconds[u] += (clock.now - started).inSeconds
    }

    // Round 2: masked inputs from U3 (clients that did not drop early).
    let sent = (0..<n).filter { !early[$0] }
    var masked = [UInt64](repeating: 0, count: n * d)
    let workers = max(1, min(threads, sent.count))
    masked.withUnsafeMutableBufferPointer { out in
      clientSeconds.withUnsafeMutableBufferPointer { timing in
        let task = Unchecked(
          (
            out: out, timing: timing, inputs: inputs, keys: sKeys, seeds: selfSeeds,
            protocol: self
          ))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          for k in stride(from: worker, to: sent.count, by: workers) {
            let u = sent[k]
            let started = clock.now
            let row = UnsafeMutableBufferPointer(rebasing: task.value.out[(u * d)..<((u + 1) * d)])
            for j in 0..<d { row[j] = encoding.encode(task.value.inputs[u * d + j]) }
            let keys = task.value.keys
            let masking = task.value.protocol
            masking.addStream(key: task.value.seeds[u], into: row, sign: 1, mask: mask)
            for v in 0..<n where v != u {
              guard let key = keys[u].agree(with: keys[v].publicKey, info: "secagg mask \(round)")
              else { continue }
              masking.addStream(key: key, into: row, sign: u < v ? 1 : -1, mask: mask)
            }
            task.value.timing[u] += (clock.now - started).inSeconds
          }
        }
      }
    }
    for u in sent { bytes[u] += d * wordBytes }

    // Round 3: unmasking by the clients still online.
    let online = sent.filter { !late[$0] }
    let included = (0..<n).map { !early[$0] }
    func result(failed: Bool, sum: [Double], serverSeconds: Double) -> Result {
      Result(
        sum: sum, included: included, failed: failed, droppedEarly: early.filter { $0 }.count,
        droppedLate: late.filter { $0 }.count,
        bytesPerClient: Double(bytes.reduce(0, +)) / Double(max(1, n)),
        clientSeconds: clientSeconds.reduce(0, +) / Double(max(1, n)),
        serverSeconds: serverSeconds, masked: masked)
    }
    guard sent.count >= t, online.count >= t else {
      return result(failed: true, sum: [], serverSeconds: 0)
    }
    // Each online client v opens the shares addressed to it and reveals one
    // per other client; the server keeps the first t for each.
    var sharesOf = [[(x: UInt64, values: [UInt64])]](repeating: [], count: n)
    for v in online {
      let started = clock.now
      for u in 0..<n {
        let pair: (s: [UInt64], b: [UInt64])
        if u == v {
          pair = ownShares[v]
        } else {
          guard
            let key = cKeys[v].agree(with: cKeys[u].publicKey, info: "secagg shares \(round)"),
            let plain = ChannelCrypto.open(
              sealed[u * n + v], key: key, nonce: Self.nonce(u, v, round)),
            plain.count == 8 + 2 * Shamir.chunks * 8,
            // The paper's check: the share names the pair it was sent for.
            Array(plain[0..<8])
              == Self.littleEndian(UInt32(truncatingIfNeeded: ids[u]))
              + Self.littleEndian(UInt32(truncatingIfNeeded: ids[v]))
          else { continue }
          let values = (0..<(2 * Shamir.chunks)).map {
            Self.readLittleEndian(plain, at: 8 + 8 * $0)
          }
          pair = (Array(values[0..<Shamir.chunks]), Array(values[Shamir.chunks...]))
        }
        // Never both shares of one client: b for those that sent, s for those that did not.
        let value = early[u] ? pair.s : pair.b
        if sharesOf[u].count < t { sharesOf[u].append((UInt64(v + 1), value)) }
        if u != v { bytes[v] += Self.revealedShareBytes }
      }
      clientSeconds[v] += (clock.now - started).inSeconds
    }

    let serverStarted = clock.now
    var sum = [UInt64](repeating: 0, count: d)
    for u in sent {
      for j in 0..<d { sum[j] = (sum[j] &+ masked[u * d + j]) & mask }
    }
    var ok = true
    sum.withUnsafeMutableBufferPointer { total in
      for u in 0..<n {
        // Fewer than t shares interpolate a wrong secret: the round fails.
        guard sharesOf[u].count == t, let secret = Shamir.reconstruct(sharesOf[u]) else {
          ok = false
          continue
        }
        if early[u] {
          // Remove u's pairwise masks from the survivors' inputs.
          let key = ChannelCrypto.AgreementKey(secret: secret)
          guard key.publicKey == sKeys[u].publicKey else {
            ok = false
            continue
          }
          for v in sent {
            guard let agreed = key.agree(with: sKeys[v].publicKey, info: "secagg mask \(round)")
            else { continue }
            // v added +PRG when v < u, -PRG when v > u.
            addStream(key: agreed, into: total, sign: v < u ? -1 : 1, mask: mask)
          }
        } else {
          addStream(key: secret, into: total, sign: -1, mask: mask)
        }
      }
    }
    guard ok else {
      return result(failed: true, sum: [], serverSeconds: (clock.now - serverStarted).inSeconds)
    }
    let decoded = sum.map { encoding.decode($0) }
    return result(
      failed: false, sum: decoded, serverSeconds: (clock.now - serverStarted).inSeconds)
  }

  /// Adds (`sign` 1) or subtracts (-1) the PRG stream of `key` to `row`, mod 2^bits.
  private func addStream(
    key: [UInt8], into row: UnsafeMutableBufferPointer<UInt64>, sign: Int, mask: UInt64
  ) {
    let width = wordBytes
    let stream = ChannelCrypto.keystream(key: key, count: row.count * width)
    // Little-endian words of `width` bytes, read whole; one loop per sign.
    stream.withUnsafeBytes { raw in
      func add(_ word: (Int) -> UInt64) {
        if sign > 0 {
          for j in 0..<row.count { row[j] = (row[j] &+ word(j)) & mask }
        } else {
          for j in 0..<row.count { row[j] = (row[j] &- word(j)) & mask }
        }
      }
      if width == 4 {
        add {
          UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
        }
      } else {
        add { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
      }
    }
  }

  /// The nonce of the share sealed by client index `u` for `v` in `round`.
  static func nonce(_ u: Int, _ v: Int, _ round: Int) -> [UInt8] {
    littleEndian(UInt32(truncatingIfNeeded: u)) + littleEndian(UInt32(truncatingIfNeeded: v))
      + littleEndian(UInt32(truncatingIfNeeded: round))
  }

  static func littleEndian<T: FixedWidthInteger>(_ x: T) -> [UInt8] {
    withUnsafeBytes(of: x.littleEndian) { Array($0) }
  }

  static func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for k in stride(from: 7, through: 0, by: -1) { value = value << 8 | UInt64(bytes[offset + k]) }
    return value
  }
}

/// 64-bit words of a ChaCha20 keystream: the randomness of Shamir's polynomials.
struct KeystreamWords: IteratorProtocol {
  private let bytes: [UInt8]
  private var offset = 0

  /// The first `words` words of the keystream of `key`.
  init(key: [UInt8], words: Int) {
    bytes = ChannelCrypto.keystream(key: key, count: 8 * words)
  }

  mutating func next() -> UInt64? {
    guard offset + 8 <= bytes.count else { return nil }
    defer { offset += 8 }
    return PairwiseMasking.readLittleEndian(bytes, at: offset)
  }
}
