internal import CSystemLibraries
import Foundation

/// Reading data files through zlib's `gzopen`/`gzread`, which decompress
/// gzip transparently and pass other files through unchanged.
///
/// Every read is chunked and bounded, so a compressed file can never expand
/// past what its format says it holds: an IDX or `.npy` header gives the
/// exact size (``FileBytes/read(_:hint:limit:expectedSize:)`` stops one byte
/// past it), and CSV is parsed as a stream (``ByteStream``).
final class ByteStream {
  /// The file.
  let path: String
  /// The file's size on disk (regular files only).
  let size: Int?
  private let file: gzFile
  private var buffer = [UInt8](repeating: 0, count: 1 << 20)
  private var start = 0
  private var end = 0
  private var finished = false

  /// Opens `path` for reading.
  /// - Parameters:
  ///   - path: the file.
  ///   - hint: what to tell the user when it is missing.
  ///   - regularOnly: refuse anything but a regular file (data files: a FIFO
  ///     or a device would block or never end); scenario files may be pipes.
  /// - Throws: `DataError.missing` or `.unreadable` with the operating system's reason.
  init(path: String, hint: String = "", regularOnly: Bool = true) throws(DataError) {
    var info = stat()
    guard stat(path, &info) == 0 else {
      if errno == ENOENT || errno == ENOTDIR { throw .missing(file: path, hint: hint) }
      throw .unreadable(file: path, reason: SystemFile.reason(errno))
    }
    let kind = info.st_mode & S_IFMT
    if kind == S_IFDIR { throw .unreadable(file: path, reason: "is a directory") }
    if regularOnly && kind != S_IFREG {
      let what =
        kind == S_IFIFO
        ? "a FIFO (named pipe)"
        : kind == S_IFCHR
          ? "a character device"
          : kind == S_IFBLK
            ? "a block device" : kind == S_IFSOCK ? "a socket" : "not a regular file"
      throw .unreadable(file: path, reason: "is \(what); data files must be regular files")
    }
    size = kind == S_IFREG ? Int(info.st_size) : nil
    errno = 0
    guard let file = gzopen(path, "rb") else {
      let code = errno
      throw .unreadable(
        file: path, reason: code != 0 ? SystemFile.reason(code) : "out of memory")
    }
    self.path = path
    self.file = file
  }

  deinit { gzclose(file) }

  /// Whether the file was gzip-compressed.
  var isCompressed: Bool { gzdirect(file) == 0 }

  /// Refills the buffer; false at the end of the data.
  private func fill() throws(DataError) -> Bool {
    guard !finished else { return false }
    let count = buffer.withUnsafeMutableBytes { raw in
      gzread(file, raw.baseAddress, UInt32(raw.count))
    }
    guard count >= 0 else {
      var code: Int32 = 0
      let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
      if code == Z_ERRNO {
        throw .unreadable(file: path, reason: SystemFile.reason(errno))
      }
      throw .corrupt(file: path, reason: "corrupt gzip data: \(message)")
    }
    if count == 0 {
      // gzread returns 0 both at a clean end and at a truncated stream.
      var code: Int32 = 0
      let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
      if code != Z_OK && code != Z_STREAM_END {
        throw .corrupt(
          file: path,
          reason: code == Z_BUF_ERROR
            ? "truncated gzip stream (ends before its end marker)" : "corrupt gzip data: \(message)"
        )
      }
      finished = true
      return false
    }
    start = 0
    end = Int(count)
    return true
  }

  /// The next chunk of bytes (at most 1 MiB), or nil at the end.
  /// - Throws: `DataError` for read errors and corrupt compressed data.
  /// - Returns: the next chunk of bytes (at most 1 MiB), or nil at the end.
  func nextChunk() throws(DataError) -> ArraySlice<UInt8>? {
    if start == end {
      guard try fill() else { return nil }
    }
    defer { start = end }
    return buffer[start..<end]
  }

  /// The next chunk of at most `limit` bytes, or nil at the end.
  func nextChunk(limit: Int) throws(DataError) -> ArraySlice<UInt8>? {
    if start == end {
      guard try fill() else { return nil }
    }
    let stop = min(end, start + max(1, limit))
    defer { start = stop }
    return buffer[start..<stop]
  }
}

/// Whole-file reads with a bound.
enum FileBytes {
  /// The bytes of `path`, gunzipped when compressed.
  /// - Parameters:
  ///   - path: the file.
  ///   - hint: what to tell the user when it is missing.
  ///   - limit: the largest (decompressed) size accepted.
  ///   - expectedSize: given the bytes read so far, the file's total size
  ///     when the header states it (nil: not yet known). Reading stops one
  ///     byte past it, so that trailing data is still detected.
  ///   - regularOnly: refuse anything but a regular file.
  /// - Throws: `DataError.missing`, `.unreadable` or `.corrupt`.
  /// - Returns: the bytes (at most `expectedSize + 1`).
  static func read(
    _ path: String, hint: String = "", limit: Int = 4 << 30,
    expectedSize: (([UInt8]) -> Int?)? = nil, regularOnly: Bool = true
  ) throws(DataError) -> [UInt8] {
    let stream = try ByteStream(path: path, hint: hint, regularOnly: regularOnly)
    if !stream.isCompressed, let size = stream.size, size > limit {
      throw .corrupt(
        file: path,
        reason: "holds \(size) bytes, more than the \(limit) poisonlab reads from one file")
    }
    var bytes: [UInt8] = []
    var cap = limit
    var known = false
    while let chunk = try stream.nextChunk(limit: cap + 1 - bytes.count) {
      bytes += chunk
      if !known, let size = expectedSize?(bytes) {
        known = true
        cap = min(cap, size)
      }
      if bytes.count > cap {
        if known { break }  // trailing bytes: the parser reports them
        throw .corrupt(
          file: path,
          reason: (stream.isCompressed ? "decompresses to" : "holds")
            + " more than \(limit) bytes, the most poisonlab reads from one file")
      }
    }
    return bytes
  }
}

/// zlib streams (RFC 1950) for the formats poisonlab writes (PNG).
enum Zlib {
  /// Compresses `bytes` into one zlib stream at the best compression level.
  /// - Parameter bytes: the data.
  /// - Returns: the zlib stream (header, deflate data, Adler-32).
  static func compress(_ bytes: [UInt8]) -> [UInt8] {
    var size = compressBound(uLong(bytes.count))
    var out = [UInt8](repeating: 0, count: Int(size))
    let status = out.withUnsafeMutableBufferPointer { target in
      bytes.withUnsafeBufferPointer { source in
        compress2(target.baseAddress, &size, source.baseAddress, uLong(source.count), 9)
      }
    }
    // compressBound is an upper bound, so compress2 cannot run out of room;
    // Z_MEM_ERROR is the only other outcome.
    guard status == Z_OK else { return [] }
    return Array(out[0..<Int(size)])
  }

  /// The CRC-32 (ISO 3309, as PNG and gzip use it) of `bytes`.
  /// - Parameter bytes: the data.
  /// - Returns: the checksum.
  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBufferPointer { b in
      UInt32(CSystemLibraries.crc32(0, b.baseAddress, uInt(b.count)))
    }
  }
}
