/// A version 1.0 .npy file of 2 float32 zeros with this header dictionary.
/// - Parameter dictionary: the header's Python dict text.
/// - Returns: the file's bytes.
func npyFile(_ dictionary: String) -> [UInt8] {
  let header = dictionary + String(repeating: " ", count: 118 - dictionary.utf8.count) + "\n"
  return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0]
    + Array(header.utf8) + [UInt8](repeating: 0, count: 8)
}
