import ArgumentParser
import Foundation
import PoisonLab

/// Standard streams and terminal detection.
///
/// Nothing here traps: a reader that closed standard output (`poisonlab list
/// | head -1`) ends the command quietly with exit code 0, as Unix tools do;
/// any other failure to write standard output (a full disk, `> /dev/full`)
/// says why on standard error and exits with 3.
enum Terminal {
  /// Whether standard output is a terminal.
  static var stdoutIsTTY: Bool { StandardStream.outputIsTerminal }
  /// Whether standard error is a terminal.
  static var stderrIsTTY: Bool { StandardStream.errorIsTerminal }

  /// Writes `text` and a newline to standard error.
  static func error(_ text: String) {
    StandardStream.err(text + "\n")
  }

  /// Writes `text` to standard error with no newline (progress lines).
  static func errorInline(_ text: String) {
    StandardStream.err(text)
  }

  /// Commands whose exit code reports a verdict (`check`) keep running when
  /// the reader of standard output goes away, dropping further output, so
  /// that a failed check still exits 1 and writes its JUnit file.
  nonisolated(unsafe) static var outlivesReader = false

  /// Writes `text` to standard output, unbuffered; stops the process when
  /// standard output is gone (see the type's documentation), unless
  /// ``outlivesReader``.
  static func out(_ text: String) {
    do {
      try StandardStream.out(text)
    } catch {
      guard case .failed(let reason) = error else {
        if outlivesReader { return }
        terminate(0)
      }
      Terminal.error("poisonlab: cannot write standard output: \(reason)")
      terminate(Exit.runtime)
    }
  }

  /// Writes `text` and a newline to standard output (as `print` would, unbuffered).
  static func line(_ text: String = "") {
    out(text + "\n")
  }

  /// Stops the process for a sink failure: quietly (0) when a pipe's reader
  /// went away, else with the message and exit code 3.
  static func fail(_ error: SinkError, partial: String? = nil) -> Never {
    if error.readerClosed { terminate(0) }
    Terminal.error("poisonlab: \(error)")
    if let partial { Terminal.error("poisonlab: rows completed so far are in \(partial)") }
    terminate(Exit.runtime)
  }
}

/// Writes `text` to `path` atomically (through `path.partial`, locked), or to
/// standard output when `path` is `-`.
/// - Throws: `ExitCode(3)` after saying why on standard error.
func writeOutput(_ bytes: [UInt8], to path: String) throws {
  if OutputPath.isStandardOutput(path) {
    Terminal.out(String(decoding: bytes, as: UTF8.self))
    return
  }
  do {
    try AtomicFile.write(bytes, to: path)
  } catch {
    Terminal.error("poisonlab: \(error)")
    throw ExitCode(Exit.runtime)
  }
}

/// An output written at the end of a command but locked from its start, so
/// that a second writer is refused before any work, not after it: the
/// library's ``ReservedFile``, or standard output for `-`, with its errors
/// said and turned into exit 3.
final class ReservedOutput {
  let path: String
  private let file: ReservedFile?

  /// Locks `path` (nothing for `-`, standard output).
  /// - Throws: `ExitCode(3)` after saying why (locked, not replaceable).
  init(_ path: String) throws {
    self.path = path
    if OutputPath.isStandardOutput(path) {
      file = nil
      return
    }
    do {
      file = try ReservedFile(path: path)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
  }

  /// Writes the whole contents and renames the file into place.
  /// - Throws: `ExitCode(3)` after saying why.
  func finish(_ bytes: [UInt8]) throws {
    guard let file else {
      Terminal.out(String(decoding: bytes, as: UTF8.self))
      return
    }
    do {
      try file.finish(bytes)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
  }

  /// Releases the lock and removes the unfinished file.
  func cancel() { file?.cancel() }
}

/// Refuses, before any work, an output path poisonlab must not replace.
/// - Parameters:
///   - path: the option's value, if given.
///   - streamable: whether the option takes `-` (named in the advice).
/// - Throws: `ExitCode(3)` after saying why on standard error.
func checkOutput(_ path: String?, streamable: Bool = true) throws {
  guard let path, !OutputPath.isStandardOutput(path) else { return }
  do {
    try OutputPath.check(path, streamable: streamable)
  } catch {
    Terminal.error("poisonlab: \(error)")
    throw ExitCode(Exit.runtime)
  }
}

/// Refuses (exit 2) an output file that names one of the pictures the
/// audit will write into `folder` (`--audit-dir`).
/// - Parameters:
///   - folder: the `--audit-dir` value, if given.
///   - outputs: the other output options and their paths.
/// - Throws: `ExitCode(2)` after naming the option and the picture.
func checkAuditFolder(_ folder: String?, against outputs: [(option: String, path: String?)]) throws
{
  guard let folder else { return }
  // A picture name taken by a folder, FIFO or link would fail after the
  // training and the audit: refused now, as any output path is.
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
  for name in entries.sorted() where AuditFindings.isPictureName(name) {
    let path = folder + "/" + name
    guard (try? SystemFile.kind(of: path)) != .some(.regular) else { continue }
    do {
      try OutputPath.check(
        name.hasSuffix(".partial") ? String(path.dropLast(8)) : path, streamable: false)
    } catch {
      Terminal.error("poisonlab: --audit-dir: \(error)")
      throw ExitCode(Exit.runtime)
    }
  }
  try refuseNames(
    in: ("--audit-dir", folder), taken: "an audit picture", against: outputs,
    AuditFindings.isPictureName)
}

/// Refuses (exit 2) an option whose file is inside `folder` and has a name
/// the run writes there.
/// - Parameters:
///   - folder: the folder option and its value.
///   - taken: what the run writes under such names, for the message.
///   - others: the other options and their paths.
///   - isWritten: whether the run writes a file of this name into the folder.
/// - Throws: `ExitCode(2)` after naming both options and the file.
func refuseNames(
  in folder: (option: String, path: String), taken: String,
  against others: [(option: String, path: String?)], _ isWritten: (String) -> Bool
) throws {
  func resolved(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
  }
  let target = resolved(folder.path)
  for (option, path) in others {
    guard let path, !OutputPath.isStandardOutput(path) else { continue }
    let name = path.split(separator: "/").last.map(String.init) ?? path
    if isWritten(name) && resolved(OutputPath.folder(of: path)) == target {
      Terminal.error(
        "poisonlab: \(option) \(path) is inside \(folder.option) \(folder.path) and takes the name of \(taken) (\(name)); give it another name or folder"
      )
      throw ExitCode(Exit.invalid)
    }
  }
}

/// Refuses two output options naming the same file (one would overwrite the
/// other's rows): exit 2.
/// - Parameter outputs: (option, path) pairs; nil paths and `-` are ignored.
/// - Throws: `ExitCode(2)` after saying which options collide.
func checkDistinct(_ outputs: [(option: String, path: String?)]) throws {
  // A file and its FILE.partial collide too: one writer's partial file is
  // the other's output.
  var seen: [String: String] = [:]
  for (option, path) in outputs {
    guard let path, !OutputPath.isStandardOutput(path) else { continue }
    let key = OutputPath.resolved(path)
    for candidate in [key, key + ".partial"] {
      if let other = seen[candidate] {
        Terminal.error(
          other == option
            ? "poisonlab: \(path) is named twice (as \(option)); name each file once"
            : "poisonlab: \(other) and \(option) name the same file (or one's partial file): \(path); give each its own file"
        )
        throw ExitCode(Exit.invalid)
      }
    }
    seen[key] = option
    seen[key + ".partial"] = option
  }
}

/// The files the scenarios' datasets read, once each, as ``checkDistinct(_:)``
/// entries: an output may not name one (it would replace the data).
/// - Parameter scenarios: the scenarios a command runs.
/// - Returns: (what, path) pairs.
func datasetInputs(_ scenarios: [Scenario]) -> [(option: String, path: String?)] {
  datasetInputs(scenarios.flatMap(\.dataset.inputFiles))
}

/// `files` once each (by the file they name), as ``checkDistinct(_:)`` entries.
/// - Parameter files: dataset files.
/// - Returns: (what, path) pairs.
func datasetInputs(_ files: [String]) -> [(option: String, path: String?)] {
  // (A sweep's runs mostly share their files: each path is resolved once.)
  var named = Set<String>()
  var seen = Set<String>()
  var inputs: [(option: String, path: String?)] = []
  for file in files where named.insert(file).inserted {
    if seen.insert(OutputPath.resolved(file)).inserted {
      inputs.append(("the dataset's file", file))
    }
  }
  return inputs
}

/// Locks the folders a command writes files into, each once, for as long as
/// the returned handles live: a second run writing there is refused at once
/// (exit 3).
/// - Parameter folders: (option, path) pairs; nil paths are ignored.
/// - Returns: the locks, to keep until the command ends.
/// - Throws: `ExitCode(3)` after saying why on standard error.
func lockFolders(_ folders: [(option: String, path: String?)]) throws -> [SystemFile] {
  var locks: [SystemFile] = []
  var seen = Set<String>()
  for (option, path) in folders {
    guard let path else { continue }
    let key = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    guard seen.insert(key).inserted else { continue }
    do {
      locks.append(try SystemFile.lockFolder(path, shown: "\(option) \(path)"))
      try SystemFile.probeWritable(path, shown: "\(option) \(path)")
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
  }
  return locks
}
