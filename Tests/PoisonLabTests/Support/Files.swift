import Foundation

/// A fresh temporary directory for one test, removed by the caller via `cleanup`.
struct TemporaryDirectory {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "poisonlab-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// Writes `bytes` to `name` inside the directory and returns the full path.
  @discardableResult
  func write(_ name: String, _ bytes: [UInt8]) -> String {
    let file = path + "/" + name
    _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
    return file
  }

  /// Writes UTF-8 text.
  @discardableResult
  func write(_ name: String, text: String) -> String { write(name, Array(text.utf8)) }

  func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// IDX bytes: magic (type, rank), big-endian dimensions, then `payload`.
func idx(type: UInt8, dims: [Int], payload: [UInt8]) -> [UInt8] {
  var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
  for d in dims {
    out += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)]
  }
  return out + payload
}

/// gzip of an IDX file with 3 images of 2x2 ubyte holding 0...11 (made by
/// Python's gzip.compress(mtime=0); see the generator in DataTests.swift).
let gzippedImages: [UInt8] = [
  0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xE0, 0x60, 0x66, 0x60,
  0x60, 0x00, 0x61, 0x26, 0x30, 0x66, 0x64, 0x62, 0x66, 0x61, 0x65, 0x63, 0xE7, 0xE0, 0xE4, 0xE2,
  0x06, 0x00, 0x63, 0x44, 0x6F, 0xC6, 0x1C, 0x00, 0x00, 0x00,
]
