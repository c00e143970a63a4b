import Foundation

/// A NumPy `.npy` array of floating-point values (format versions 1-3).
///
/// Layout: the magic `\x93NUMPY`, a major and minor version byte, the header
/// length (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3),
/// an ASCII Python-dict header (`{'descr': '<f4', 'fortran_order': False,
/// 'shape': (n, d), }`), then the values in C order. `float32` and `float64`
/// of either byte order are read; Fortran order is refused (write the array
/// with `np.ascontiguousarray`).
public struct NPYArray: Sendable, Equatable {
  /// The shape, outermost first.
  public var shape: [Int]
  /// The values, converted to float32, C order.
  public var values: [Float]

  /// Creates an array.
  /// - Parameters:
  ///   - shape: the dimensions.
  ///   - values: the values, C order.
  public init(shape: [Int], values: [Float]) {
    self.shape = shape
    self.values = values
  }

  /// The NumPy magic, `\x93NUMPY`.
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

  /// The whole file's size implied by its header, once the header is read;
  /// the bytes so far when the header is invalid (the parser says why).
  static func expectedSize(prefix bytes: [UInt8]) -> Int? {
    guard bytes.count >= 10 else { return nil }
    guard Array(bytes[0..<6]) == magic else { return bytes.count }
    let (lengthSize, start) = bytes[6] == 1 ? (2, 10) : (4, 12)
    guard bytes.count >= start else { return nil }
    var headerLength = 0
    for k in 0..<lengthSize { headerLength |= Int(bytes[8 + k]) << (8 * k) }
    guard bytes.count >= start + headerLength else { return nil }
    let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
    guard let descr = capture(#"'descr'\s*:\s*'([^']*)'"#, in: header),
      let shapeText = capture(#"'shape'\s*:\s*\(([^)]*)\)"#, in: header)
    else { return bytes.count }
    var count = descr.hasSuffix("8") ? 8 : 4
    for part in shapeText.split(separator: ",") {
      let text = part.trimmingCharacters(in: .whitespaces)
      if text.isEmpty { continue }
      guard let value = Int(text), value >= 0 else { return bytes.count }
      let (product, overflow) = count.multipliedReportingOverflow(by: value)
      guard !overflow, product <= 8 * Int(Int32.max) else { return bytes.count }
      count = product
    }
    return start + headerLength + count
  }

  /// Reads and parses a `.npy` file, reading no more than its header
  /// declares (plus one byte, to detect trailing data).
  /// - Parameter path: the file.
  /// - Throws: `DataError` naming the file and the problem.
  public init(reading path: String) throws(DataError) {
    try self.init(
      parsing: FileBytes.read(path, expectedSize: Self.expectedSize(prefix:)), file: path)
  }

  /// Parses `.npy` bytes, checking the magic, header, dtype, order and size.
  /// - Parameters:
  ///   - bytes: the whole file.
  ///   - file: the name used in errors.
  /// - Throws: `DataError.corrupt` saying what is wrong.
  public init(parsing bytes: [UInt8], file: String) throws(DataError) {
    guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else {
      throw .corrupt(file: file, reason: "not a NumPy .npy file (bad magic)")
    }
    let major = bytes[6]
    let (lengthSize, start): (Int, Int)
    switch major {
    case 1: (lengthSize, start) = (2, 10)
    case 2, 3: (lengthSize, start) = (4, 12)
    default:
      throw .corrupt(file: file, reason: "unsupported .npy format version \(major).\(bytes[7])")
    }
    guard bytes.count >= start else { throw .corrupt(file: file, reason: "truncated .npy header") }
    var headerLength = 0
    for k in 0..<lengthSize { headerLength |= Int(bytes[8 + k]) << (8 * k) }
    guard bytes.count >= start + headerLength else {
      throw .corrupt(
        file: file,
        reason:
          "truncated .npy header: \(headerLength) bytes declared, \(bytes.count - start) present")
    }
    let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
    // NumPy writes each key once; a file naming one twice is ambiguous.
    for key in ["descr", "fortran_order", "shape"] {
      let uses =
        header.components(separatedBy: "'\(key)'").count
        + header.components(separatedBy: "\"\(key)\"").count - 2
      guard uses <= 1 else {
        throw .corrupt(file: file, reason: "the .npy header names '\(key)' \(uses) times")
      }
    }
    guard let descr = Self.capture(#"'descr'\s*:\s*'([^']*)'"#, in: header) else {
      throw .corrupt(
        file: file,
        reason:
          "the .npy header has no 'descr': \(header.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    let (littleEndian, size): (Bool, Int)
    switch descr {
    case "<f4": (littleEndian, size) = (true, 4)
    case ">f4": (littleEndian, size) = (false, 4)
    case "<f8": (littleEndian, size) = (true, 8)
    case ">f8": (littleEndian, size) = (false, 8)
    default:
      throw .corrupt(
        file: file,
        reason: "element type '\(descr)' is not supported (float32 or float64: '<f4', '<f8')")
    }
    // NumPy writes a Python bool; anything else (1, 'True') is refused, as
    // numpy.load refuses it.
    switch Self.capture(#"'fortran_order'\s*:\s*([^,}\s]*)"#, in: header) {
    case "False"?: break
    case "True"?:
      throw .corrupt(
        file: file, reason: "the array is in Fortran order; save np.ascontiguousarray(a) instead")
    case let other:
      throw .corrupt(
        file: file,
        reason:
          "the .npy header's 'fortran_order' is \(other.map { "\($0)" } ?? "missing"), not True or False"
      )
    }
    guard let shapeText = Self.capture(#"'shape'\s*:\s*\(([^)]*)\)"#, in: header) else {
      throw .corrupt(file: file, reason: "the .npy header has no 'shape'")
    }
    var shape: [Int] = []
    for part in shapeText.split(separator: ",") {
      let text = part.trimmingCharacters(in: .whitespaces)
      if text.isEmpty { continue }
      guard let value = Int(text), value >= 0 else {
        throw .corrupt(file: file, reason: "bad shape (\(shapeText))")
      }
      shape.append(value)
    }
    var count = 1
    for d in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product <= Int(Int32.max) else {
        throw .corrupt(file: file, reason: "shape \(shape) is implausibly large")
      }
      count = product
    }
    let data = start + headerLength
    guard bytes.count - data == count * size else {
      throw .corrupt(
        file: file,
        reason:
          "shape \(shape) of \(descr) needs \(count * size) data bytes, the file has \(bytes.count - data)"
      )
    }
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      var bits: UInt64 = 0
      for k in 0..<size {
        let byte = UInt64(bytes[data + i * size + (littleEndian ? k : size - 1 - k)])
        bits |= byte << (8 * UInt64(k))
      }
      if size == 4 {
        values[i] = Float(bitPattern: UInt32(truncatingIfNeeded: bits))
      } else {
        let wide = Double(bitPattern: bits)
        values[i] = Float(wide)
        if wide.isFinite && !values[i].isFinite {
          throw .corrupt(
            file: file,
            reason:
              "value \(wide) at flat index \(i) (shape \(shape)) is out of float32 range (±3.4e38); poisonlab computes in float32"
          )
        }
      }
    }
    self.shape = shape
    self.values = values
  }

  private static func capture(_ pattern: String, in text: String) -> String? {
    guard let regex = try? NSRegularExpression(pattern: pattern),
      let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
      match.numberOfRanges > 1,
      let range = Range(match.range(at: 1), in: text)
    else { return nil }
    return String(text[range])
  }

  /// The array as a version 1.0 `.npy` file of little-endian float32.
  /// - Returns: the file's bytes.
  public func serialized() -> [UInt8] {
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
    // Pad so that magic + version + length + header + newline is a multiple of 64.
    let total = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    let length = header.utf8.count
    out += [UInt8(length & 0xFF), UInt8(length >> 8)]
    out += Array(header.utf8)
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    return out
  }
}

/// Reads a matrix (rows of floats) from `.npy` or CSV, for `poisonlab aggregate`.
public enum MatrixFile {
  /// The matrix in `path`: a 2-D `.npy` (1-D is one row per value for weights),
  /// or a CSV of numbers (an optional header row of names is skipped; `nan`
  /// and `inf` are accepted, as hostile updates may hold them).
  /// - Parameter path: the file.
  /// - Returns: the shape and values.
  /// - Throws: `DataError` naming the file and the problem.
  public static func read(_ path: String) throws(DataError) -> NPYArray {
    try readWithHeader(path).matrix
  }

  /// The matrix in `path`, and the header row skipped from a CSV (nil: none).
  ///
  /// A file named `.npy`, or one that starts with NumPy's magic, is read as
  /// `.npy`. A CSV's first row is a header only when every field is
  /// non-numeric (so `1,x,3` is a malformed data row, not a header); a UTF-8
  /// byte-order mark is removed.
  /// - Parameter path: the file.
  /// - Returns: the matrix and the skipped header fields.
  /// - Throws: `DataError` naming the file and the problem.
  public static func readWithHeader(_ path: String) throws(DataError) -> (
    matrix: NPYArray, header: [String]?
  ) {
    let stream = try ByteStream(path: path)
    let head = try stream.nextChunk(limit: 6).map(Array.init) ?? []
    if head == Array(NPYArray.magic.prefix(head.count)) && head.count == 6
      || path.lowercased().hasSuffix(".npy")
    {
      return (try NPYArray(reading: path), nil)
    }
    var header: [String]?
    var width = 0
    var rows = 0
    var values: [Float] = []
    try CSVReader.rows(of: path) { (row, line) throws(DataError) in
      if rows == 0 && header == nil && width == 0,
        CSVReader.isHeader(row)
      {
        header = row
        return
      }
      if width == 0 { width = row.count }
      guard row.count == width else {
        throw .csv(
          file: path, line: line, column: nil, reason: "has \(row.count) fields, expected \(width)")
      }
      for (c, cell) in row.enumerated() {
        switch CSVReader.parse(cell) {
        case .value(let value):
          values.append(value)
        case .outOfRange:
          throw .csv(
            file: path, line: line, column: c + 1,
            reason: "\(cell) is out of float32 range (±3.4e38); poisonlab computes in float32")
        case .notANumber:
          throw .csv(
            file: path, line: line, column: c + 1,
            reason: "expected a number, found \"\(cell)\"")
        }
      }
      rows += 1
    }
    guard rows > 0, width > 0 else { throw .corrupt(file: path, reason: "no numbers") }
    return (NPYArray(shape: [rows, width], values: values), header)
  }
}
