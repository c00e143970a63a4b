import Testing

@testable import PoisonLab

/// Bytes of a hex string.
func hexBytes(_ hex: String) -> [UInt8] {
  var out: [UInt8] = []
  var index = hex.startIndex
  while index < hex.endIndex {
    let next = hex.index(index, offsetBy: 2)
    out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
    index = next
  }
  return out
}

/// A fixed sequence of words, for Shamir polynomials chosen by hand.
struct FixedWords: IteratorProtocol {
  var words: [UInt64]
  mutating func next() -> UInt64? { words.isEmpty ? nil : words.removeFirst() }
}

@Suite("Channel cryptography: published test vectors")
struct CryptographyVectorTests {
  @Test("Ed25519: RFC 8032 section 7.1, test 1 (empty message)")
  func ed25519() {
    let key = ChannelCrypto.SigningKey(
      seed: hexBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    #expect(
      key.publicKey == hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
    let signature = key.sign([])
    #expect(
      signature
        == hexBytes(
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ))
    #expect(ChannelCrypto.verify(signature: signature, of: [], publicKey: key.publicKey))
    #expect(!ChannelCrypto.verify(signature: signature, of: [0], publicKey: key.publicKey))
  }

  @Test("X25519: RFC 7748 section 6.1 public keys; both sides agree on one key")
  func x25519() {
    let alice = ChannelCrypto.AgreementKey(
      secret: hexBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    let bob = ChannelCrypto.AgreementKey(
      secret: hexBytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
    #expect(
      alice.publicKey
        == hexBytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
    #expect(
      bob.publicKey == hexBytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
    let ab = alice.agree(with: bob.publicKey, info: "x")
    #expect(ab != nil && ab == bob.agree(with: alice.publicKey, info: "x"))
    #expect(ab != alice.agree(with: bob.publicKey, info: "y"))
  }

  @Test("ChaCha20 keystream: RFC 8439 appendix A.1, test vector 2 (zero key and nonce, counter 1)")
  func chacha20() {
    #expect(
      ChannelCrypto.keystream(key: [UInt8](repeating: 0, count: 32), count: 64)
        == hexBytes(
          "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
        ))
  }

  @Test("sealed shares open only with the right key and nonce")
  func sealing() {
    let key = ChannelCrypto.secret(seed: 5, "k")
    let nonce = [UInt8](repeating: 1, count: 12)
    let sealed = ChannelCrypto.seal([1, 2, 3], key: key, nonce: nonce)
    #expect(sealed.count == 3 + 16)
    #expect(ChannelCrypto.open(sealed, key: key, nonce: nonce) == [1, 2, 3])
    var forged = sealed
    forged[0] ^= 1
    #expect(ChannelCrypto.open(forged, key: key, nonce: nonce) == nil)
    #expect(
      ChannelCrypto.open(sealed, key: ChannelCrypto.secret(seed: 6, "k"), nonce: nonce) == nil)
    // Secrets are a function of the seed and the label.
    #expect(ChannelCrypto.secret(seed: 5, "k") == key && ChannelCrypto.secret(seed: 5, "j") != key)
  }
}

@Suite("Shamir sharing over GF(2^61 - 1): hand-computed")
struct ShamirTests {
  @Test("field arithmetic: 2^60 * 4 = 2, 2^-1 = 2^60, (p-1)^2 = 1, 3 - 5 = p - 2")
  func field() {
    let p = Shamir.prime
    #expect(Shamir.multiply(1 << 60, 4) == 2)
    #expect(Shamir.inverse(2) == 1 << 60)
    #expect(Shamir.multiply(p - 1, p - 1) == 1)
    #expect(Shamir.subtract(3, 5) == p - 2)
    #expect(Shamir.add(p - 1, 3) == 2)
    for a: UInt64 in [1, 7, 123_456_789, p - 2] {
      #expect(Shamir.multiply(a, Shamir.inverse(a)) == 1)
    }
  }

  @Test("f(x) = 3 + 5x + 7x^2 gives shares 15, 41, 81, 135; any 3 recover 3, 2 do not")
  func handComputed() throws {
    var secret = [UInt8](repeating: 0, count: 32)
    secret[0] = 3
    var words = FixedWords(words: [5, 7] + [UInt64](repeating: 0, count: 8))
    let shares = Shamir.share(secret, threshold: 3, count: 4, random: &words)
    #expect(shares.map { $0[0] } == [15, 41, 81, 135])
    #expect(shares.allSatisfy { $0[1...].allSatisfy { $0 == 0 } })
    for subset in [[0, 1, 2], [1, 2, 3], [0, 2, 3], [3, 0, 1]] {
      let picked = subset.map { (x: UInt64($0 + 1), values: shares[$0]) }
      #expect(Shamir.reconstruct(picked) == secret, "\(subset)")
    }
    // Two shares of a degree-2 polynomial: the line through (1, 15), (2, 41) meets 0 at -11.
    let two = [0, 1].map { (x: UInt64($0 + 1), values: shares[$0]) }
    #expect(Shamir.reconstruct(two) != secret)
    #expect(Shamir.reconstruct([(1, shares[0]), (1, shares[0])]) == nil)
  }

  @Test("random 32-byte secrets round-trip through any t of n shares (seed 17)")
  func roundTrip() {
    var rng = SplitMix64(seed: 17)
    for trial in 0..<20 {
      let secret = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      let n = 3 + trial % 6
      let t = 2 + trial % (n - 1)
      var random = KeystreamWords(key: ChannelCrypto.secret(seed: UInt64(trial), "s"), words: 64)
      let shares = Shamir.share(secret, threshold: t, count: n, random: &random)
      var indices = Array(0..<n)
      rng.shuffle(&indices)
      let picked = indices.prefix(t).map { (x: UInt64($0 + 1), values: shares[$0]) }
      #expect(Shamir.reconstruct(Array(picked)) == secret, "trial \(trial)")
    }
  }
}

@Suite("Fixed-point encoding: hand-computed")
struct FixedPointTests {
  @Test("bits 16, clip 1, n 4: h = 2, s = 8191; 0.5 -> 4096, -1 -> 57345, 2 -> 8191")
  func goldens() {
    let f = FixedPoint(bits: 16, clip: 1, inputs: 4)
    #expect(f.headroom == 2 && f.precisionBits == 13 && f.scale == 8191)
    #expect(f.encode(0.5) == 4096)
    #expect(f.encode(-1) == 57345)
    #expect(f.encode(2) == 8191 && f.encode(-.infinity) == 57345 && f.encode(.nan) == 0)
    #expect(f.decode(57345) == -1)
    #expect(isClose(f.sumErrorBound, 4 / (2 * 8191.0), rtol: 1e-12))
    // The worst sum: four times -1 wraps to 65536 - 32764 and decodes to -4 exactly.
    let sum = (0..<4).reduce(UInt64(0)) { total, _ in (total &+ f.encode(-1)) & f.mask }
    #expect(sum == 65536 - 4 * 8191 && f.decode(sum) == -4)
    #expect(FixedPoint(bits: 32, clip: 1, inputs: 20).headroom == 5)
    #expect(FixedPoint(bits: 32, clip: 1, inputs: 16).headroom == 4)
    #expect(FixedPoint(bits: 32, clip: 1, inputs: 1).headroom == 0)
  }

  @Test("the decoded sum of n clipped inputs is within n / (2s) of their sum (seed 23)")
  func bound() {
    var rng = SplitMix64(seed: 23)
    for bits in [16, 24, 32, 48] {
      let n = 13
      let f = FixedPoint(bits: bits, clip: 0.75, inputs: n)
      for _ in 0..<200 {
        let xs = (0..<n).map { _ in Float(rng.nextGaussian() * 0.5) }
        let encoded = xs.reduce(UInt64(0)) { ($0 &+ f.encode($1)) & f.mask }
        let exact = xs.reduce(0.0) { $0 + min(max(Double($1), -0.75), 0.75) }
        // 1e-14: the double rounding of the reference sum itself.
        #expect(
          abs(f.decode(encoded) - exact) <= f.sumErrorBound * (1 + 1e-9) + 1e-14, "bits \(bits)")
      }
    }
  }
}

@Suite("Pairwise masking (Bonawitz et al. 2017)")
struct PairwiseMaskingTests {
  func inputs(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
    gaussian(n * d, seed: seed, scale: 0.3)
  }

  @Test("what the server receives is masked: no row is its client's encoded input (seed 5)")
  func inputsAreMasked() {
    let (n, d) = (5, 200)
    let x = inputs(n, d, seed: 5)
    let result = PairwiseMasking(settings: SecureAggregationSettings(threshold: 3), seed: 5).run(
      round: 1, ids: Array(0..<n), inputs: x, dimension: d, threads: 1)
    #expect(!result.failed && result.masked.count == n * d)
    let encoding = FixedPoint(bits: 32, clip: 1, inputs: n)
    for u in 0..<n {
      // A coordinate equals its encoding by chance with probability 2^-32.
      let clear = (0..<d).filter { result.masked[u * d + $0] == encoding.encode(x[u * d + $0]) }
      #expect(clear.count <= 1, "client \(u): \(clear.count) coordinates in the clear")
      // and no row is another row's encoding shifted by one mask only: rows differ.
      for v in 0..<u {
        #expect(
          (0..<d).filter { result.masked[u * d + $0] == result.masked[v * d + $0] }.count <= 1)
      }
    }
  }

  @Test("unmasked sum equals the plain sum within the fixed-point bound; no dropout")
  func exactSum() {
    let (n, d) = (6, 11)
    let x = inputs(n, d, seed: 1)
    let settings = SecureAggregationSettings(threshold: 4)
    let result = PairwiseMasking(settings: settings, seed: 9).run(
      round: 1, ids: Array(0..<n), inputs: x, dimension: d, threads: 1)
    #expect(!result.failed && result.included == [Bool](repeating: true, count: n))
    let bound = FixedPoint(bits: 32, clip: 1, inputs: n).sumErrorBound
    for j in 0..<d {
      let plain = (0..<n).reduce(0.0) { $0 + min(max(Double(x[$1 * d + j]), -1), 1) }
      #expect(abs(result.sum[j] - plain) <= bound * (1 + 1e-9))
    }
    // Bytes: keys, n-1 sealed shares, the masked input (4 bytes per value), n-1 revealed shares.
    let expected =
      64 + (n - 1) * PairwiseMasking.sealedShareBytes + d * 4
      + (n - 1) * PairwiseMasking.revealedShareBytes
    #expect(result.bytesPerClient == Double(expected))
    #expect(PairwiseMasking.sealedShareBytes == 104 && PairwiseMasking.revealedShareBytes == 44)
  }

  @Test("dropouts before and after the masked input are recovered from t shares (seeds 0-29)")
  func dropouts() {
    let (n, d) = (8, 5)
    let x = inputs(n, d, seed: 2)
    var recoveredWithEarly = 0
    for seed in UInt64(0)..<30 {
      let settings = SecureAggregationSettings(threshold: 4, dropout: 0.2, earlyDropout: 0.2)
      let result = PairwiseMasking(settings: settings, seed: seed).run(
        round: 3, ids: (0..<n).map { 10 + 3 * $0 }, inputs: x, dimension: d, threads: 2)
      let sent = result.included.filter { $0 }.count
      #expect(sent == n - result.droppedEarly)
      if result.failed {
        #expect(sent < 4 || sent - result.droppedLate < 4, "seed \(seed)")
        #expect(result.sum.isEmpty)
        continue
      }
      if result.droppedEarly > 0 { recoveredWithEarly += 1 }
      let bound = FixedPoint(bits: 32, clip: 1, inputs: n).sumErrorBound
      for j in 0..<d {
        let plain = (0..<n).filter { result.included[$0] }.reduce(0.0) {
          $0 + min(max(Double(x[$1 * d + j]), -1), 1)
        }
        #expect(abs(result.sum[j] - plain) <= bound * (1 + 1e-9), "seed \(seed)")
      }
    }
    // The seeds exercise the recovery of early dropouts (masking keys
    // rebuilt); a round that cannot be unmasked is the case below.
    #expect(recoveredWithEarly >= 5)
    let hard = SecureAggregationSettings(threshold: 8, dropout: 0.5)
    let failed = PairwiseMasking(settings: hard, seed: 4).run(
      round: 1, ids: Array(0..<n), inputs: x, dimension: d, threads: 1)
    #expect(failed.failed && failed.droppedLate > 0 && failed.sum.isEmpty)
  }

  @Test("the same seed gives the same sum for 1 and 2 threads; another round other masks")
  func deterministic() {
    let (n, d) = (5, 300)
    let x = inputs(n, d, seed: 3)
    let settings = SecureAggregationSettings(threshold: 3, dropout: 0.1, earlyDropout: 0.1)
    let one = PairwiseMasking(settings: settings, seed: 7).run(
      round: 2, ids: Array(0..<n), inputs: x, dimension: d, threads: 1)
    let two = PairwiseMasking(settings: settings, seed: 7).run(
      round: 2, ids: Array(0..<n), inputs: x, dimension: d, threads: 2)
    #expect(one.sum == two.sum && one.included == two.included)
  }
}
