import FuzzSupport

/// The scenario JSON parser and loader: any bytes must give a scenario or
/// ScenarioErrors, and a valid scenario must pass or fail the pre-run checks
/// (memory estimate included) without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScenario(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let text = Fuzz.text(start, count)
  _ = try? JSONParser.parse(text)
  Fuzz.load(text)
  return 0
}
