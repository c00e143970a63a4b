/// Why a run stopped early.
///
/// Rows already written are kept.
public enum RunFailure: Error, CustomStringConvertible, Sendable {
  /// The scenario is invalid for the data actually loaded (exit code 2).
  case scenario(ScenarioErrors)
  /// A data file is missing or malformed (exit code 3).
  case data(DataError)
  /// A loss or weight became NaN or infinite (exit code 3).
  case diverged(round: Int, detail: String)
  /// An output file could not be written (exit code 3).
  case output(SinkError)
  /// A defense could not run on the updates of a round (exit code 3).
  case defense(round: Int, DefenseError)
  /// An attack could not do what the scenario asks in a round (exit code 3).
  case attack(round: Int, name: String, detail: String)

  /// The process exit code for this failure.
  public var exitCode: Int32 {
    if case .scenario = self { return 2 }
    return 3
  }

  public var description: String {
    switch self {
    case .scenario(let errors): return errors.description
    case .data(let error): return "data: \(error)"
    case .diverged(let round, let detail): return "training diverged in round \(round): \(detail)"
    case .output(let error): return "output: \(error)"
    case .defense(let round, let error): return "round \(round): defense \(error)"
    case .attack(let round, let name, let detail):
      return "round \(round): attack \(name): \(detail)"
    }
  }
}
