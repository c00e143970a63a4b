import FuzzSupport

/// CSV: `poisonlab aggregate`'s matrix reader and the `csv` dataset (header
/// detection, label columns, quoting), on the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let bytes = Fuzz.bytes(start, count)
  let path = Fuzz.file(bytes, suffix: ".csv")
  _ = try? MatrixFile.readWithHeader(path)
  for labelColumn in [#""label_column": 0, "#, "", #""label_column": "y", "header": true, "#] {
    let scenario =
      #"{"name": "fuzz", "dataset": {"name": "csv", "#
      + labelColumn + #""train": ""# + path
      + #""}, "model": {"name": "logistic"}}"#
    if let loaded = try? ScenarioLoader.decode(scenario, source: "fuzz") {
      _ = try? loaded.dataset.load(seeds: SeedTree(0))
      _ = loaded.dataset.estimatedSize()
    }
  }
  return 0
}
