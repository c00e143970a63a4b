/// A parsed IDX file (LeCun's MNIST format): dimensions and values as floats.
///
/// Layout: two zero bytes, an element-type byte (`0x08` u8, `0x09` i8,
/// `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64), a dimension-count byte,
/// then each dimension as a big-endian u32, then the values, big-endian.
public struct IDXArray: Sendable, Equatable {
  /// The dimensions, outermost first.
  public var dimensions: [Int]
  /// The values in row-major order.
  public var values: [Float]

  /// Reads and parses an IDX file (gzipped or not), decompressing no more
  /// than the header's dimensions call for (plus one byte, to detect
  /// trailing data): a gzip bomb stops at the size its header declares.
  /// - Parameter path: the file.
  /// - Throws: `DataError` naming the file and the problem.
  public init(reading path: String) throws(DataError) {
    try self.init(
      parsing: FileBytes.read(path, expectedSize: Self.expectedSize(prefix:)), file: path)
  }

  /// Bytes per element of an IDX type code, or nil for an unknown code.
  static func elementSize(_ type: UInt8) -> Int? {
    switch type {
    case 0x08, 0x09: 1
    case 0x0B: 2
    case 0x0C, 0x0D: 4
    case 0x0E: 8
    default: nil
    }
  }

  /// The whole file's size implied by its first bytes, once the header is
  /// complete; the bytes so far when the header is invalid (the parser says why).
  static func expectedSize(prefix bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    guard let size = elementSize(bytes[2]) else { return bytes.count }
    guard bytes[0] == 0, bytes[1] == 0 else { return bytes.count }
    let header = 4 + 4 * Int(bytes[3])
    guard bytes.count >= header else { return nil }
    var total = size
    for d in 0..<Int(bytes[3]) {
      let o = 4 + 4 * d
      let value =
        Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
      let (product, overflow) = total.multipliedReportingOverflow(by: value)
      guard !overflow, product <= 8 * Int(Int32.max) else { return bytes.count }
      total = product
    }
    return header + total
  }

  /// Parses IDX bytes, checking the magic, element type, dimensions and the
  /// exact data length; never reads past the end.
  /// - Parameters:
  ///   - bytes: the whole (already decompressed) file.
  ///   - file: the name used in errors.
  /// - Throws: `DataError.corrupt` saying what is wrong.
  public init(parsing bytes: [UInt8], file: String) throws(DataError) {
    guard bytes.count >= 4 else {
      throw .corrupt(file: file, reason: "too short for an IDX header (\(bytes.count) bytes)")
    }
    guard bytes[0] == 0, bytes[1] == 0 else {
      throw .corrupt(
        file: file,
        reason:
          "bad IDX magic: first two bytes are \(hex(bytes[0])) \(hex(bytes[1])), expected 00 00")
    }
    guard let size = Self.elementSize(bytes[2]) else {
      throw .corrupt(
        file: file,
        reason: "unknown IDX element type \(hex(bytes[2])) (expected 08, 09, 0B, 0C, 0D or 0E)")
    }
    let rank = Int(bytes[3])
    guard rank >= 1 else { throw .corrupt(file: file, reason: "IDX file declares 0 dimensions") }
    let header = 4 + 4 * rank
    guard bytes.count >= header else {
      throw .corrupt(
        file: file,
        reason:
          "truncated IDX header: \(rank) dimensions need \(header) bytes, file has \(bytes.count)")
    }
    var dimensions: [Int] = []
    var total = 1
    for d in 0..<rank {
      let o = 4 + 4 * d
      let value =
        Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
      dimensions.append(value)
      let (product, overflow) = total.multipliedReportingOverflow(by: value)
      guard !overflow, product <= Int(Int32.max) else {
        throw .corrupt(file: file, reason: "IDX dimensions \(dimensions) are implausibly large")
      }
      total = product
    }
    let expected = total * size
    let available = bytes.count - header
    guard available >= expected else {
      throw .corrupt(
        file: file,
        reason:
          "truncated: dimensions \(dimensions) need \(expected) data bytes, file has \(available)")
    }
    guard available == expected else {
      throw .corrupt(
        file: file,
        reason:
          "unexpected trailing data after the \(expected) data bytes its header declares (at least \(available - expected) more bytes)"
      )
    }
    let type = bytes[2]
    var values = [Float](repeating: 0, count: total)
    bytes.withUnsafeBufferPointer { raw in
      for i in 0..<total {
        let o = header + i * size
        switch type {
        case 0x08: values[i] = Float(raw[o])
        case 0x09: values[i] = Float(Int8(bitPattern: raw[o]))
        case 0x0B: values[i] = Float(Int16(bitPattern: UInt16(raw[o]) << 8 | UInt16(raw[o + 1])))
        case 0x0C: values[i] = Float(Int32(bitPattern: bigEndian32(raw, o)))
        case 0x0D: values[i] = Float(bitPattern: bigEndian32(raw, o))
        default:
          let bits = UInt64(bigEndian32(raw, o)) << 32 | UInt64(bigEndian32(raw, o + 4))
          values[i] = Float(Double(bitPattern: bits))
        }
      }
    }
    // IDX files hold datasets: a NaN or infinite pixel or label is damage,
    // and the models' functions are only defined on finite inputs.
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw .corrupt(
        file: file,
        reason:
          "value \(values[bad]) at flat index \(bad) (dimensions \(dimensions)) is not a finite number"
      )
    }
    self.dimensions = dimensions
    self.values = values
  }
}

private func bigEndian32(_ raw: UnsafeBufferPointer<UInt8>, _ o: Int) -> UInt32 {
  UInt32(raw[o]) << 24 | UInt32(raw[o + 1]) << 16 | UInt32(raw[o + 2]) << 8 | UInt32(raw[o + 3])
}

/// Two upper-case hex digits.
func hex(_ byte: UInt8) -> String {
  let digits = Array("0123456789ABCDEF")
  return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
