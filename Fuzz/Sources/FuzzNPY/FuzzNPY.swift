import FuzzSupport

/// `.npy` parsing (all versions, dtypes, shapes), from memory and from a file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let bytes = Fuzz.bytes(start, count)
  _ = try? NPYArray(parsing: bytes, file: "fuzz")
  _ = try? MatrixFile.read(Fuzz.file(bytes, suffix: ".npy"))
  return 0
}
