import FuzzSupport

/// `--set PATH=VALUE`, `--grid`, `--seeds` and `--max-memory` parsing,
/// applied to a small valid scenario: each line of the input is one
/// assignment.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOverride(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let text = Fuzz.text(start, count)
  let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  for line in lines.prefix(8) {
    _ = SweepAxis.parse(grid: line)
    _ = SweepAxis.parse(seeds: line)
    _ = SweepAxis.seedsProblem(line)
    _ = MemoryBudget.parse(line)
  }
  Fuzz.load(base, overrides: Array(lines.prefix(8)))
  return 0
}

private let base = #"""
  {"name": "fuzz", "seed": 1,
   "dataset": {"name": "synthetic", "classes": 3, "features": 4, "train_size": 60, "test_size": 20},
   "model": {"name": "mlp", "hidden": [4]},
   "training": {"rounds": 2, "batch_size": 8, "learning_rate": 0.05},
   "federation": {"clients": 4, "clients_per_round": 3},
   "attack": {"name": "alie", "clients": 1},
   "defense": {"name": "trimmed-mean", "f": 1}}
  """#
