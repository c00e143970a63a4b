import Foundation

/// Why a run cannot write its round files, found before any work.
public enum RoundFileProblem: Error, CustomStringConvertible, Equatable, Sendable {
  /// Another option names a file that a round folder option writes (exit 2).
  case namedTwice(option: String, path: String, folderOption: String)
  /// A round file, or its partial file, is not a regular file (exit 3).
  case notRegular(option: String, reason: String)
  /// An earlier run's round files would be replaced without `--force` (exit 2).
  case earlierRun(
    option: String, path: String, more: Int, startsOverFrom: String?)

  /// The process exit code for this problem.
  public var exitCode: Int32 {
    if case .notRegular = self { return 3 }
    return 2
  }

  public var description: String {
    switch self {
    case .namedTwice(let option, let path, let folderOption):
      return
        "\(option) \(path) is a round file that \(folderOption) writes in this run; give it another name or folder"
    case .notRegular(let option, let reason):
      return "\(option): \(reason)"
    case .earlierRun(let option, let path, let more, let startsOverFrom):
      let others = more > 0 ? " and \(more) more round file(s)" : ""
      let why =
        startsOverFrom.map {
          " (--init-model \($0) was not saved by this scenario and seed, so the run starts at round 1)"
        } ?? ""
      return
        "\(option): \(path)\(others) of an earlier run would be replaced\(why); add --force to replace them, or give an empty folder"
    }
  }
}

extension Experiment {
  /// Refuses, before any work, the round files this run would write
  /// (`plannedRoundFiles`) when another output names one of them, when one
  /// is not a regular file, or when one exists and `force` is false: the
  /// files of an earlier run are not replaced silently.
  /// - Parameters:
  ///   - outputs: the run's other files, as (option, path) pairs; nil paths
  ///     and `-` are ignored. `--init-model` is not among them: it is read
  ///     before any round file is written.
  ///   - force: whether existing round files may be replaced.
  /// - Throws: the first problem found.
  public func checkRoundFiles(besides outputs: [(option: String, path: String?)], force: Bool)
    throws(RoundFileProblem)
  {
    let planned = plannedRoundFiles()
    let written = Dictionary(
      planned.map { (OutputPath.resolved($0.path), $0.option) }, uniquingKeysWith: { a, _ in a })
    for (option, path) in outputs {
      guard let path, !OutputPath.isStandardOutput(path),
        let folderOption = written[OutputPath.resolved(path)]
      else { continue }
      throw .namedTwice(option: option, path: path, folderOption: folderOption)
    }
    // An unreadable --init-model is the run's own error (exit 3, naming it).
    let state = initialModelState()
    guard state != .unreadable else { return }
    var existing: [(option: String, path: String)] = []
    for file in planned {
      do {
        // The file and its partial file must be regular or missing.
        try OutputPath.check(file.path, streamable: false)
      } catch {
        throw .notRegular(option: file.option, reason: error.description)
      }
      if (try? SystemFile.kind(of: file.path)) == .some(.regular) { existing.append(file) }
    }
    guard let first = existing.first, !force else { return }
    throw .earlierRun(
      option: first.option, path: first.path, more: existing.count - 1,
      startsOverFrom: state == .startsOver ? modelFiles.initial ?? "" : nil)
  }
}
