/// Shamir secret sharing (Shamir 1979, "How to Share a Secret", CACM 22(11))
/// over the prime field GF(p), p = 2^61 - 1 (a Mersenne prime, so products
/// reduce with shifts).
///
/// A 32-byte secret is cut into five 7-byte chunks (each < 2^56 < p); chunk
/// `c` is the constant term of its own random polynomial of degree `t - 1`,
/// and share `x` (x = 1...n) holds the five polynomials' values at `x`. Any
/// `t` shares give the secret back by Lagrange interpolation at 0; fewer give
/// no information about it.
enum Shamir {
  /// The field's prime, 2^61 - 1.
  static let prime: UInt64 = (1 << 61) - 1
  /// Field elements per share of a 32-byte secret.
  static let chunks = 5
  /// Bytes of secret per chunk.
  static let chunkBytes = 7

  /// `a + b mod p` for `a, b < p`.
  static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let s = a + b
    return s >= prime ? s - prime : s
  }

  /// `a - b mod p` for `a, b < p`.
  static func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 { a >= b ? a - b : a + prime - b }

  /// `a * b mod p` for `a, b < p`.
  static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (high, low) = a.multipliedFullWidth(by: b)
    // a * b = high * 2^64 + low = (high << 3 | low >> 61) * 2^61 + (low & p), and 2^61 = 1 mod p.
    let folded = ((high << 3) | (low >> 61)) + (low & prime)
    let once = (folded & prime) + (folded >> 61)
    return once >= prime ? once - prime : once
  }

  /// `a^-1 mod p` for `0 < a < p` (Fermat: a^(p-2)).
  static func inverse(_ a: UInt64) -> UInt64 {
    var result: UInt64 = 1
    var base = a
    var exponent = prime - 2
    while exponent > 0 {
      if exponent & 1 == 1 { result = multiply(result, base) }
      base = multiply(base, base)
      exponent >>= 1
    }
    return result
  }

  /// Splits a 32-byte secret into `n` shares, any `threshold` of which recover it.
  /// - Parameters:
  ///   - secret: 32 bytes.
  ///   - threshold: t, 1...n.
  ///   - count: n, the number of shares (evaluation points 1...n).
  ///   - random: uniform 64-bit words (a cryptographic stream); values >= p are skipped.
  /// - Returns: `n` shares of ``chunks`` field elements; share `i` is the value at `x = i + 1`.
  static func share(
    _ secret: [UInt8], threshold: Int, count: Int, random: inout some IteratorProtocol<UInt64>
  ) -> [[UInt64]] {
    var shares = [[UInt64]](repeating: [UInt64](repeating: 0, count: chunks), count: count)
    for c in 0..<chunks {
      var coefficients: [UInt64] = [chunk(secret, c)]
      while coefficients.count < threshold {
        guard let word = random.next() else { break }
        let candidate = word & prime
        if candidate < prime { coefficients.append(candidate) }
      }
      for i in 0..<count {
        let x = UInt64(i + 1)
        var value: UInt64 = 0
        for coefficient in coefficients.reversed() { value = add(multiply(value, x), coefficient) }
        shares[i][c] = value
      }
    }
    return shares
  }

  /// The secret from `threshold` or more shares (distinct points).
  /// - Parameter shares: `(x, values)` pairs, `x` in 1...n.
  /// - Returns: the 32 bytes, or nil when two shares have the same point or a
  ///   recovered chunk does not fit 7 bytes (too few or corrupted shares).
  static func reconstruct(_ shares: [(x: UInt64, values: [UInt64])]) -> [UInt8]? {
    guard Set(shares.map(\.x)).count == shares.count, !shares.isEmpty else { return nil }
    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i).
    var basis: [UInt64] = []
    for (i, share) in shares.enumerated() {
      var numerator: UInt64 = 1
      var denominator: UInt64 = 1
      for (j, other) in shares.enumerated() where j != i {
        numerator = multiply(numerator, other.x)
        denominator = multiply(denominator, subtract(other.x, share.x))
      }
      basis.append(multiply(numerator, inverse(denominator)))
    }
    var secret: [UInt8] = []
    for c in 0..<chunks {
      var value: UInt64 = 0
      for (i, share) in shares.enumerated() where share.values.count == chunks {
        value = add(value, multiply(basis[i], share.values[c]))
      }
      let bytes = c == chunks - 1 ? 32 - chunkBytes * (chunks - 1) : chunkBytes
      guard value >> (8 * UInt64(bytes)) == 0 else { return nil }
      for k in 0..<bytes { secret.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
    }
    return secret
  }

  /// Chunk `c` of a 32-byte secret as a field element (little-endian).
  static func chunk(_ secret: [UInt8], _ c: Int) -> UInt64 {
    let start = c * chunkBytes
    let end = min(start + chunkBytes, 32)
    var value: UInt64 = 0
    for k in stride(from: end - 1, through: start, by: -1) {
      value = value << 8 | UInt64(secret[k])
    }
    return value
  }
}
