import ArgumentParser
import Dispatch
import Foundation
import PoisonLab

/// `poisonlab sweep`: every combination of a grid of scenario values, with seeds.
struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract:
      "Run every combination of scenario values (a grid) and seeds; shardable and resumable.",
    discussion: """
      Axes come from the scenario's `sweep` block ({"attack.name": ["alie", "ipm"]}), then each \
      --grid PATH=V1,V2,... (values are JSON; a bare word is a string), then --seeds (0-4 or 0,3,7); \
      the last axis varies fastest. Every combination is validated before anything runs: one \
      invalid combination stops the sweep with exit code 2 and the list, unless --skip-invalid \
      records it as a "skipped" row.

      Output is JSON Lines: each run's round records and summary, with "run_id" (a hash of the \
      resolved scenario), "run_index" (its position in the expansion) and "axes" added, written \
      when the run completes, in expansion order, whatever --jobs. With an existing --output, runs \
      already in it are skipped (a killed sweep resumes where it stopped); a torn last line is \
      removed. --shard K/N runs the runs whose index is K-1 modulo N, so N shards cover the sweep \
      once and their outputs concatenate into the whole (see scripts/slurm-sweep.sh and the \
      README for Slurm and GNU parallel). A run that fails leaves an "error" row; the sweep goes on \
      and exits with 3.
      """)

  @Argument(help: "The scenario file.")
  var scenario: String

  @Option(
    name: .customLong("grid"),
    help: ArgumentHelp("An axis: PATH=V1,V2,...", valueName: "path=values"))
  var grids: [String] = []

  @Option(help: "Seeds: a range (0-4) or a list (0,3,7).")
  var seeds: String?

  @Option(
    name: .customLong("set"),
    help: ArgumentHelp("Override a value in every run (PATH=JSON).", valueName: "path=value"))
  var overrides: [String] = []

  @Option(help: "Runs executed at once (threads are shared between them).")
  var jobs: Int = 1

  @Option(help: ArgumentHelp("Run only the K-th of N disjoint slices.", valueName: "K/N"))
  var shard: String?

  @Option(help: "Append JSON Lines to this file, skipping runs it already holds.")
  var output: String?

  @Flag(help: "Record invalid combinations as skipped instead of stopping.")
  var skipInvalid = false

  @Option(help: "Total worker threads (default: all cores).")
  var threads: Int?

  @Flag(help: "No progress on standard error.")
  var quiet = false

  func validate() throws {
    for grid in grids where SweepAxis.parse(grid: grid) == nil {
      throw ValidationError("--grid \(grid): expected PATH=V1,V2,... with non-empty values")
    }
    if let seeds, SweepAxis.parse(seeds: seeds) == nil {
      throw ValidationError("--seeds \(seeds): expected a range like 0-4 or a list like 0,3,7")
    }
    if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    if let shard, Self.parseShard(shard) == nil {
      throw ValidationError("--shard \(shard): expected K/N with 1 <= K <= N")
    }
  }

  static func parseShard(_ text: String) -> (k: Int, n: Int)? {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n
    else { return nil }
    return (k, n)
  }

  func run() throws {
    let plan: SweepPlan
    do {
      plan = try SweepPlan.expand(
        file: scenario, grids: grids.compactMap(SweepAxis.parse(grid:)),
        seeds: seeds.flatMap(SweepAxis.parse(seeds:)),
        overrides: overrides)
    } catch {
      Terminal.error(error.description)
      throw ExitCode(Exit.invalid)
    }
    let invalid = plan.runs.filter { if case .failure = $0.scenario { true } else { false } }
    if !invalid.isEmpty && !skipInvalid {
      Terminal.error(
        "poisonlab: \(invalid.count) of \(plan.runs.count) combinations are invalid (nothing was run):"
      )
      for run in invalid {
        if case .failure(let errors) = run.scenario {
          Terminal.error(
            "  run \(run.index) \(JSONValue.object(run.axes).serialized()): \(errors.errors.first?.description ?? "")"
          )
        }
      }
      throw ExitCode(Exit.invalid)
    }
    let (k, n) = shard.flatMap(Self.parseShard) ?? (1, 1)
    var done = Set<String>()
    if let output, FileManager.default.fileExists(atPath: output) {
      done = try Self.completedRuns(in: output)
    }
    let todo = plan.runs.filter { $0.index % n == k - 1 && !done.contains($0.id) }
    let sink: (String) -> Void
    var handle: FileHandle?
    if let output {
      if !FileManager.default.fileExists(atPath: output) {
        guard FileManager.default.createFile(atPath: output, contents: nil) else {
          Terminal.error("poisonlab: cannot create \(output)")
          throw ExitCode(Exit.runtime)
        }
      }
      guard let h = FileHandle(forWritingAtPath: output) else {
        Terminal.error("poisonlab: cannot open \(output)")
        throw ExitCode(Exit.runtime)
      }
      _ = try? h.seekToEnd()
      handle = h
      sink = { text in
        try? h.write(contentsOf: Data(text.utf8))
        try? h.synchronize()
      }
    } else {
      sink = { Terminal.out($0) }
    }
    let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
    let perRun = max(1, cores / jobs)
    let writer = OrderedWriter(order: todo.map(\.index), sink: sink)
    let progress = !quiet && Terminal.stderrIsTTY
    let skippedByShard = plan.runs.filter { $0.index % n == k - 1 }.count - todo.count
    if progress || skippedByShard > 0 {
      Terminal.error(
        "poisonlab: \(todo.count) run(s) to do"
          + (skippedByShard > 0 ? ", \(skippedByShard) already in \(output ?? "the output")" : "")
          + (n > 1 ? " (shard \(k)/\(n) of \(plan.runs.count))" : " of \(plan.runs.count)"))
    }
    let queue = WorkQueue(count: todo.count)
    let shared = SweepWork((todo, writer, queue))
    DispatchQueue.concurrentPerform(iterations: min(jobs, max(1, todo.count))) { _ in
      let (todo, writer, queue) = shared.value
      while let next = queue.take() {
        let run = todo[next]
        let lines = Self.execute(run, threads: perRun)
        writer.complete(run.index, lines: lines.text, failed: lines.failed)
        if progress {
          Terminal.error(
            "  [\(run.index + 1)/\(todo.count)] \(JSONValue.object(run.axes).serialized()) \(lines.failed ? "FAILED" : "done")"
          )
        }
      }
    }
    try? handle?.close()
    if writer.failures > 0 {
      Terminal.error("poisonlab: \(writer.failures) run(s) failed; their \"error\" rows say why")
      throw ExitCode(Exit.runtime)
    }
  }

  /// Runs one combination; returns its JSON lines and whether it failed.
  static func execute(_ run: SweepPlan.Run, threads: Int) -> (text: String, failed: Bool) {
    func line(_ fields: [JSONMember], type: String) -> String {
      var members = [
        JSONMember("type", .string(type)), JSONMember("run_id", .string(run.id)),
        JSONMember("run_index", .number(Double(run.index))), JSONMember("axes", .object(run.axes)),
      ]
      members += fields.filter { $0.key != "type" }
      return JSONValue.object(members).serialized() + "\n"
    }
    switch run.scenario {
    case .failure(let errors):
      let message = errors.errors.map(\.description).joined(separator: "; ")
      return (line([JSONMember("message", .string(message))], type: "skipped"), false)
    case .success(let scenario):
      var text = ""
      do {
        try Experiment(scenario: scenario, threads: threads).run { record in
          text += line(record.fields, type: record.kind.rawValue)
        }
        return (text, false)
      } catch {
        let fields = [
          JSONMember("exit_code", .number(Double(error.exitCode))),
          JSONMember("message", .string(error.description)),
        ]
        return (line(fields, type: "error"), true)
      }
    }
  }

  /// Run ids already complete in a sweep output (a summary, error or skipped row).
  ///
  /// A sweep killed mid-write can leave a torn last line or the first rows of
  /// a run without its summary; those are removed (the file is rewritten
  /// atomically) so that re-running adds each run exactly once.
  static func completedRuns(in path: String) throws -> Set<String> {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    let text = String(decoding: data, as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let torn = !(lines.last?.isEmpty ?? true)
    lines.removeLast()  // the text after the last newline: empty, or a torn line
    var complete = Set<String>()
    var ids: [String?] = []
    for line in lines {
      let value = try? JSONParser.parse(line)
      guard case .string(let id)? = value?["run_id"] else {
        ids.append(nil)
        continue
      }
      ids.append(id)
      if case .string(let type)? = value?["type"], ["summary", "error", "skipped"].contains(type) {
        complete.insert(id)
      }
    }
    let kept = zip(lines, ids).filter { $0.1.map(complete.contains) ?? false }.map(\.0)
    if torn || kept.count != lines.count {
      let body = kept.map { $0 + "\n" }.joined()
      guard writeAtomically(Data(body.utf8), to: path) else { throw ExitCode(Exit.runtime) }
      Terminal.error(
        "poisonlab: removed \(lines.count - kept.count + (torn ? 1 : 0)) line(s) of unfinished runs from \(path)"
      )
    }
    return complete
  }
}

/// Writes each run's lines once every earlier run (in expansion order) is written.
final class OrderedWriter: @unchecked Sendable {
  private let lock = NSLock()
  private let order: [Int]
  private var pending: [Int: String] = [:]
  private var next = 0
  private let sink: (String) -> Void
  private(set) var failures = 0

  init(order: [Int], sink: @escaping (String) -> Void) {
    self.order = order
    self.sink = sink
  }

  func complete(_ index: Int, lines: String, failed: Bool) {
    lock.lock()
    defer { lock.unlock() }
    pending[index] = lines
    if failed { failures += 1 }
    while next < order.count, let text = pending[order[next]] {
      sink(text)
      pending[order[next]] = nil
      next += 1
    }
  }
}

/// Hands out work items 0..<count to worker threads.
final class WorkQueue: @unchecked Sendable {
  private let lock = NSLock()
  private var next = 0
  private let count: Int

  init(count: Int) { self.count = count }

  func take() -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard next < count else { return nil }
    next += 1
    return next - 1
  }
}

/// The runs, the writer and the queue, shared by the worker threads: the runs
/// are read-only and the writer and queue lock.
private struct SweepWork: @unchecked Sendable {
  let value: ([SweepPlan.Run], OrderedWriter, WorkQueue)
  init(_ value: ([SweepPlan.Run], OrderedWriter, WorkQueue)) { self.value = value }
}
