internal import CSystemLibraries
import Foundation

/// Reading files, transparently decompressing gzip (zlib's `inflate`).
enum FileBytes {
  /// The bytes of `path`, gunzipped when they start with the gzip magic `1f 8b`.
  /// - Parameters:
  ///   - path: the file.
  ///   - hint: what to tell the user when it is missing.
  ///   - limit: the largest decompressed size accepted (default 4 GiB).
  /// - Throws: `DataError.missing`, `.unreadable` or `.corrupt` (bad gzip stream).
  /// - Returns: the bytes of `path`, gunzipped when they start with the gzip magic `1f 8b`.
  static func read(
    _ path: String, hint: String = "", limit: Int = 4 << 30
  ) throws(DataError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .missing(file: path, hint: hint)
    }
    if isDirectory.boolValue { throw .unreadable(file: path, reason: "is a directory") }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .unreadable(file: path, reason: "permission denied or I/O error")
    }
    let bytes = [UInt8](data)
    if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
      return try gunzip(bytes, file: path, limit: limit)
    }
    return bytes
  }

  /// Decompresses a gzip stream.
  /// - Parameters:
  ///   - bytes: the compressed bytes.
  ///   - file: the file name for errors.
  ///   - limit: the largest output accepted.
  /// - Throws: `DataError.corrupt` naming the zlib problem.
  /// - Returns: the decompressed bytes.
  static func gunzip(_ bytes: [UInt8], file: String, limit: Int) throws(DataError) -> [UInt8] {
    var stream = z_stream()
    // 15 window bits + 16: gzip wrapper only.
    guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw .corrupt(file: file, reason: "cannot initialise zlib") }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count * 4)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    var input = bytes
    var status: Int32 = Z_OK
    var failure: String?
    input.withUnsafeMutableBufferPointer { source in
      stream.next_in = source.baseAddress
      stream.avail_in = UInt32(source.count)
      repeat {
        chunk.withUnsafeMutableBufferPointer { target in
          stream.next_out = target.baseAddress
          stream.avail_out = UInt32(target.count)
          status = inflate(&stream, Z_NO_FLUSH)
          let produced = target.count - Int(stream.avail_out)
          output.append(contentsOf: target[0..<produced])
        }
        if status == Z_BUF_ERROR && stream.avail_in == 0 {
          failure = "truncated gzip stream (ends before its end marker)"
        } else if status != Z_OK && status != Z_STREAM_END {
          let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
          failure = "corrupt gzip data: \(message)"
        } else if output.count > limit {
          failure = "decompresses to more than \(limit) bytes"
        }
      } while status == Z_OK && failure == nil
    }
    if let failure { throw .corrupt(file: file, reason: failure) }
    return output
  }
}
