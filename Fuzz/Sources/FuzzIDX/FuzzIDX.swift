import FuzzSupport

/// IDX parsing, and reading through zlib (gzip or plain): a named error or
/// an array, never a trap, and never more than the header declares.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let bytes = Fuzz.bytes(start, count)
  _ = try? IDXArray(parsing: bytes, file: "fuzz")
  _ = try? IDXArray(reading: Fuzz.file(bytes, suffix: ".idx"))
  return 0
}
