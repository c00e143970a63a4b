/// The fixed-point encoding of secure aggregation: reals clipped to
/// `[-C, C]` become integers mod `2^bits`, so that masks can be added with
/// wrapping arithmetic and the sum of `n` inputs decodes without overflow.
///
/// With `h = ceil(log2 n)` headroom bits the scale is
/// `s = (2^(bits-1-h) - 1) / C`; an input encodes as `round(clip(x) * s)`
/// (two's complement mod `2^bits`). The sum of `n` encodings has magnitude
/// at most `n (2^(bits-1-h) - 1) < 2^(bits-1)`, so it decodes exactly as a
/// signed integer, and the decoded sum differs from the sum of the clipped
/// inputs by at most `n / (2 s) = n C / (2 (2^(bits-1-h) - 1))` per
/// coordinate (each rounding is off by at most half a unit).
struct FixedPoint: Sendable, Equatable {
  /// The ring's bits (mod 2^bits).
  let bits: Int
  /// The clipping bound C.
  let clip: Double
  /// Inputs summed (n).
  let inputs: Int

  /// Headroom bits: `ceil(log2 n)`.
  var headroom: Int { inputs <= 1 ? 0 : Int.bitWidth - (inputs - 1).leadingZeroBitCount }
  /// Bits left for the value of one input, sign excluded.
  var precisionBits: Int { bits - 1 - headroom }
  /// `2^bits - 1`.
  var mask: UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) - 1 }
  /// The scale s.
  var scale: Double { Double((Int64(1) << Int64(precisionBits)) - 1) / clip }
  /// The largest error of a decoded sum per coordinate: `n / (2 s)`.
  var sumErrorBound: Double { Double(inputs) / (2 * scale) }

  /// Encodes one value.
  /// - Parameter x: a real (NaN encodes as 0, infinities as ±C).
  /// - Returns: its element of Z_(2^bits).
  func encode(_ x: Float) -> UInt64 {
    let clipped = x.isNaN ? 0 : min(max(Double(x), -clip), clip)
    return UInt64(bitPattern: Int64((clipped * scale).rounded())) & mask
  }

  /// Decodes a sum of encodings.
  /// - Parameter value: an element of Z_(2^bits).
  /// - Returns: the real it stands for.
  func decode(_ value: UInt64) -> Double {
    let v = value & mask
    let signed: Int64
    if bits < 64 && v >= (1 << UInt64(bits - 1)) {
      signed = Int64(bitPattern: v) - (Int64(1) << Int64(bits))
    } else {
      signed = Int64(bitPattern: v)
    }
    return Double(signed) / scale
  }
}
