import Foundation

/// The safetensors format (Hugging Face, github.com/huggingface/safetensors).
///
/// An 8-byte little-endian header length N, N bytes of a JSON header, then
/// the tensor data. The header maps each tensor name to `{"dtype",
/// "shape", "data_offsets": [begin, end]}` (offsets into the data, which
/// the tensors must cover without holes or overlaps) and may hold
/// `__metadata__`, a map of strings. poisonlab writes `F32` tensors only,
/// in little-endian order, pads the header with spaces to a multiple of 8
/// bytes, and reads only what it writes, checking everything.
enum Safetensors {
  /// One tensor.
  struct Tensor: Equatable {
    var name: String
    var shape: [Int]
    var values: [Float]
  }

  /// The largest header read (the format's own reference limit is 100 MB).
  static let maxHeader = 100_000_000

  /// The file's bytes.
  static func encode(_ tensors: [Tensor], metadata: [(key: String, value: String)]) -> [UInt8] {
    var members: [JSONMember] = []
    if !metadata.isEmpty {
      members.append(
        JSONMember("__metadata__", .object(metadata.map { JSONMember($0.key, .string($0.value)) })))
    }
    var offset = 0
    for tensor in tensors {
      let size = tensor.values.count * 4
      members.append(
        JSONMember(
          tensor.name,
          .object([
            JSONMember("dtype", .string("F32")),
            JSONMember("shape", .array(tensor.shape.map { .number(Double($0)) })),
            JSONMember(
              "data_offsets", .array([.number(Double(offset)), .number(Double(offset + size))])),
          ])))
      offset += size
    }
    var header = Array(JSONValue.object(members).serialized().utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
    bytes.reserveCapacity(8 + header.count + offset)
    bytes += header
    for tensor in tensors {
      for v in tensor.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
    }
    return bytes
  }

  /// The first bytes of a file up to the end of its header (the length
  /// and the JSON), read as every data file is: a regular file only (a FIFO
  /// would block), gunzipped when compressed, as ``decode(_:file:)``'s caller
  /// reads the whole file.
  /// - Parameter path: the file.
  /// - Returns: the bytes; fewer than the header declares when the file is
  ///   truncated (``headerMembers(_:file:)`` says so).
  /// - Throws: `DataError.missing`, `.unreadable` or `.corrupt` naming the file.
  static func headerBytes(ofFile path: String) throws(DataError) -> [UInt8] {
    let stream = try ByteStream(path: path)
    var bytes: [UInt8] = []
    var wanted = 8
    while bytes.count < wanted, let chunk = try stream.nextChunk(limit: wanted - bytes.count) {
      bytes += chunk
      if wanted == 8 && bytes.count == 8 {
        let length = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(maxHeader) else { break }
        wanted = 8 + Int(length)
      }
    }
    return bytes
  }

  /// The `__metadata__` of a file, read from its header alone (the tensors
  /// are neither read nor checked), or nil when the header is not readable.
  /// - Parameter path: the file.
  /// - Returns: the metadata.
  static func metadata(ofFile path: String) -> [String: String]? {
    guard let bytes = try? headerBytes(ofFile: path),
      let parsed = try? headerMembers(bytes, file: path)
    else { return nil }
    return try? metadata(in: parsed.members, file: path)
  }

  /// The shape each tensor's header entry gives, where it is a list of
  /// whole numbers (``decode(_:file:)`` reports any other).
  /// - Parameter members: the header's members.
  /// - Returns: the shapes by tensor name.
  static func shapes(in members: [JSONMember]) -> [String: [Int]] {
    var shapes: [String: [Int]] = [:]
    for member in members where member.key != "__metadata__" {
      guard case .array(let dims)? = member.value["shape"] else { continue }
      let shape = dims.compactMap { dim -> Int? in
        guard case .number(let x) = dim, let n = Int(exactly: x), n >= 0 else { return nil }
        return n
      }
      if shape.count == dims.count { shapes[member.key] = shape }
    }
    return shapes
  }

  /// The header's members (tensors and `__metadata__`) and where the data begins.
  /// - Throws: `DataError.corrupt` naming `file` and what is wrong.
  static func headerMembers(_ bytes: [UInt8], file: String) throws(DataError)
    -> (members: [JSONMember], headerEnd: Int)
  {
    func corrupt(_ reason: String) -> DataError { .corrupt(file: file, reason: reason) }
    guard bytes.count >= 8 else {
      throw corrupt(
        "is \(bytes.count) bytes long; a safetensors file starts with an 8-byte header length")
    }
    var length: UInt64 = 0
    for k in stride(from: 7, through: 0, by: -1) { length = length << 8 | UInt64(bytes[k]) }
    guard length <= UInt64(maxHeader) else {
      throw corrupt(
        "declares a \(length)-byte header, more than the \(maxHeader) bytes poisonlab reads (corrupt, or not safetensors)"
      )
    }
    guard length <= UInt64(bytes.count - 8) else {
      throw corrupt(
        "declares a \(length)-byte header but holds \(bytes.count - 8) bytes after the length (truncated, or not safetensors)"
      )
    }
    let headerEnd = 8 + Int(length)
    guard let text = String(validating: bytes[8..<headerEnd], as: UTF8.self) else {
      throw corrupt("its header is not UTF-8 text")
    }
    let header: JSONValue
    do {
      header = try JSONParser.parse(text)
    } catch {
      // The parser's reason: a duplicate tensor name, a syntax error, its place.
      throw corrupt("its header is not valid JSON (\(error))")
    }
    guard case .object(let members) = header else {
      throw corrupt("its header is not a JSON object")
    }
    return (members, headerEnd)
  }

  /// The `__metadata__` strings among the header's members.
  /// - Throws: `DataError.corrupt` when it is not an object of strings.
  private static func metadata(in members: [JSONMember], file: String) throws(DataError)
    -> [String: String]
  {
    var metadata: [String: String] = [:]
    for member in members where member.key == "__metadata__" {
      guard case .object(let items) = member.value else {
        throw .corrupt(file: file, reason: "__metadata__ is not an object of strings")
      }
      for item in items {
        guard case .string(let s) = item.value else {
          throw .corrupt(file: file, reason: "__metadata__.\(item.key) is not a string")
        }
        metadata[item.key] = s
      }
    }
    return metadata
  }

  /// The tensors (in data order) and metadata of a file's bytes.
  /// - Throws: `DataError.corrupt` naming `file` and what is wrong.
  static func decode(_ bytes: [UInt8], file: String) throws(DataError)
    -> (tensors: [Tensor], metadata: [String: String])
  {
    func corrupt(_ reason: String) -> DataError { .corrupt(file: file, reason: reason) }
    let (members, headerEnd) = try headerMembers(bytes, file: file)
    let metadata = try metadata(in: members, file: file)
    var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
    for member in members where member.key != "__metadata__" {
      guard case .string(let dtype)? = member.value["dtype"] else {
        throw corrupt("tensor \(member.key) has no dtype")
      }
      guard dtype == "F32" else {
        throw corrupt("tensor \(member.key) is \(dtype); poisonlab reads F32 tensors only")
      }
      guard case .array(let dims)? = member.value["shape"],
        case .array(let offsets)? = member.value["data_offsets"], offsets.count == 2
      else { throw corrupt("tensor \(member.key) lacks shape or data_offsets") }
      var shape: [Int] = []
      for dim in dims {
        guard case .number(let x) = dim, let n = Int(exactly: x), n >= 0, n <= 1 << 40 else {
          throw corrupt("tensor \(member.key) has an invalid shape")
        }
        shape.append(n)
      }
      guard case .number(let b) = offsets[0], case .number(let e) = offsets[1],
        let begin = Int(exactly: b), let end = Int(exactly: e), begin >= 0, begin <= end
      else { throw corrupt("tensor \(member.key) has invalid data_offsets") }
      var count = 1
      for n in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: n)
        guard !overflow else { throw corrupt("tensor \(member.key) is too large") }
        count = product
      }
      let (bytesNeeded, tooLarge) = count.multipliedReportingOverflow(by: 4)
      guard !tooLarge, end - begin == bytesNeeded else {
        throw corrupt(
          "tensor \(member.key) has shape \(shape) (\(tooLarge ? "too many" : String(bytesNeeded)) bytes) but data_offsets span \(end - begin) bytes"
        )
      }
      entries.append((member.key, shape, begin, end))
    }
    entries.sort { $0.begin < $1.begin }
    var expected = 0
    for entry in entries {
      guard entry.begin == expected else {
        throw corrupt(
          "tensor \(entry.name)'s data does not follow the previous tensor's (holes or overlaps)")
      }
      expected = entry.end
    }
    // Bounds are checked here, once the offsets are known to tile the data: reading a tensor
    // never leaves the file.
    let held = bytes.count - headerEnd
    guard expected <= held else {
      throw corrupt(
        "is truncated: its header describes \(expected) bytes of tensor data, the file holds \(held)"
      )
    }
    guard expected == held else {
      throw corrupt(
        "holds \(held) bytes of tensor data but its header describes \(expected) (padded)")
    }
    let tensors = entries.map { entry -> Tensor in
      var values = [Float](repeating: 0, count: (entry.end - entry.begin) / 4)
      for i in values.indices {
        let at = headerEnd + entry.begin + 4 * i
        let bits =
          UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
          | UInt32(bytes[at + 3]) << 24
        values[i] = Float(bitPattern: bits)
      }
      return Tensor(name: entry.name, shape: entry.shape, values: values)
    }
    return (tensors, metadata)
  }
}
