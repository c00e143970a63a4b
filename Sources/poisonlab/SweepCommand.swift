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
      resolved scenario), "run_index" (its position in the expansion), "axes" and "sweep_id" (a \
      hash of the base scenario, the --set values and the axis paths) added, written \
      when the run completes, in expansion order, whatever --jobs. With an existing --output, runs \
      already in it are skipped (a killed sweep resumes where it stopped); a torn last line is \
      removed. --shard K/N runs the runs whose index is K-1 modulo N, so N shards cover the sweep \
      once and their outputs concatenate into the whole (see scripts/slurm-sweep.sh and the \
      README for Slurm and GNU parallel). A run that fails leaves an "error" row; the sweep goes on \
      and exits with 3.

      Example:
        poisonlab sweep scenarios/quickstart.json --seeds 0-4 \\
          --grid defense.name=fedavg,median,krum --output results.jsonl
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

  @Option(
    help: "Append JSON Lines to this file, skipping runs it already holds (- for standard output).")
  var output: String?

  @Flag(help: "Record invalid combinations as skipped instead of stopping.")
  var skipInvalid = false

  @Option(help: "Total worker threads (default: all cores).")
  var threads: Int?

  @Flag(help: "No progress on standard error.")
  var quiet = false

  @Flag(help: "Ignore the scenario's expect block in every run.")
  var noExpect = false

  @Option(
    help: ArgumentHelp(
      "Refuse runs whose estimated peak memory exceeds this, shared by --jobs (default: 80% of memory).",
      valueName: "size"))
  var maxMemory: String?

  func validate() throws {
    for grid in grids where SweepAxis.parse(grid: grid) == nil {
      throw ValidationError("--grid \(grid): expected PATH=V1,V2,... with non-empty values")
    }
    if let seeds, SweepAxis.parse(seeds: seeds) == nil {
      throw ValidationError(
        "--seeds \(seeds): "
          + (SweepAxis.seedsProblem(seeds) ?? "expected a range like 0-4 or a list like 0,3,7"))
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
        overrides: overrides + (noExpect ? ["expect=null"] : []))
    } catch {
      Terminal.error(error.description)
      throw ExitCode(error.exitCode)
    }
    let cores = try Threads.resolve(threads)
    let perRun = max(1, cores / jobs)
    guard let budget = MemoryBudget.resolve(maxMemory) else {
      Terminal.error(
        "poisonlab: --max-memory \(maxMemory ?? ""): expected a positive size like 16G, 800M or 1.5G"
      )
      throw ExitCode(Exit.invalid)
    }
    // The checks `run` makes before any work, for every combination.
    let jobBudget = MemoryBudget(
      bytes: budget.bytes / max(1, min(jobs, plan.runs.count)),
      source: jobs > 1 ? "\(budget.source), shared by --jobs \(jobs)" : budget.source)
    // Combinations that resolve to the same scenario (--seeds 1,1; 0.05 and
    // 0.050) are one run.
    var seen = Set<String>()
    var runs = plan.runs.filter { seen.insert($0.id).inserted }
    if runs.count < plan.runs.count {
      Terminal.error(
        "poisonlab: \(plan.runs.count - runs.count) combination(s) resolve to a scenario already in the sweep; each runs once"
      )
    }
    for i in runs.indices {
      guard case .success(let scenario) = runs[i].scenario else { continue }
      do {
        try Experiment(scenario: scenario, threads: perRun).preflight(budget: jobBudget)
      } catch {
        if case .scenario(let errors) = error { runs[i].scenario = .failure(errors) }
      }
    }
    let invalid = runs.filter { if case .failure = $0.scenario { true } else { false } }
    if !invalid.isEmpty && !skipInvalid {
      Terminal.error(
        "poisonlab: \(invalid.count) of \(runs.count) combinations are invalid (nothing was run):"
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
    try checkDistinct(
      [("the scenario", scenario)]
        + datasetInputs(runs.compactMap { try? $0.scenario.get() }) + [("--output", output)])
    let (k, n) = shard.flatMap(Self.parseShard) ?? (1, 1)
    var done = Set<String>()
    var file: SweepOutput?
    if let output, !OutputPath.isStandardOutput(output) {
      do {
        let opened = try SweepOutput(path: output, expectedRows: Self.expectedRows(runs))
        if opened.removedLines > 0 {
          Terminal.error(
            "poisonlab: removed \(opened.removedLines) line(s) of unfinished runs from \(output)")
        }
        done = opened.completed
        file = opened
      } catch {
        Terminal.fail(error)
      }
    }
    let todo = runs.filter { $0.index % n == k - 1 && !done.contains($0.id) }
    let sink: (String) throws(SinkError) -> Void
    if let file {
      sink = { (text) throws(SinkError) in try file.append(text) }
    } else {
      sink = { (text) throws(SinkError) in
        do throws(StandardStream.StreamFailure) {
          try StandardStream.out(text)
        } catch {
          guard case .failed(let reason) = error else {
            throw SinkError(path: "standard output", reason: "closed", readerClosed: true)
          }
          throw SinkError(path: "standard output", reason: "cannot write: \(reason)")
        }
      }
    }
    let writer = OrderedWriter(order: todo.map(\.index), sink: sink)
    let progress = !quiet && Terminal.stderrIsTTY
    let skippedByShard = runs.filter { $0.index % n == k - 1 }.count - todo.count
    if progress || skippedByShard > 0 {
      Terminal.error(
        "poisonlab: \(todo.count) run(s) to do"
          + (skippedByShard > 0 ? ", \(skippedByShard) already in \(output ?? "the output")" : "")
          + (n > 1 ? " (shard \(k)/\(n) of \(runs.count))" : " of \(runs.count)"))
    }
    let queue = WorkQueue(count: todo.count)
    let meter = SweepMeter(total: todo.count)
    // One run at a time: its own progress line (rounds, clients or samples,
    // ETA) under the sweep's; with several at once, only the sweep's lines.
    let inRun = progress && min(jobs, max(1, todo.count)) == 1 ? Progress(enabled: true) : nil
    let shared = SweepWork((todo, writer, queue, meter))
    DispatchQueue.concurrentPerform(iterations: min(jobs, max(1, todo.count))) { _ in
      let (todo, writer, queue, meter) = shared.value
      while writer.writeError == nil, let next = queue.take() {
        let run = todo[next]
        let started = ContinuousClock.now
        inRun?.restart()
        let lines = Self.execute(
          run, threads: perRun, budget: jobBudget, progress: inRun?.quietHandle)
        inRun?.clear()
        writer.complete(run.index, lines: lines.text, failed: lines.failed)
        if progress {
          let axes = run.axes.map { "\($0.key)=\(Report.label($0.value))" }.joined(separator: ", ")
          Terminal.error(
            "  [\(meter.finish())/\(todo.count)] \(axes): \(lines.failed ? "FAILED" : "done") in "
              + ProgressClock.short(ContinuousClock.now - started) + " · " + meter.status())
        }
      }
    }
    file?.close()
    if let error = writer.writeError {
      Terminal.fail(error)
    }
    if writer.failures > 0 {
      Terminal.error("poisonlab: \(writer.failures) run(s) failed; their \"error\" rows say why")
      throw ExitCode(Exit.runtime)
    }
  }

  /// The round numbers each run must record (nil for a skipped combination).
  static func expectedRows(_ runs: [SweepPlan.Run]) -> [String: Set<Int>?] {
    var rows: [String: Set<Int>?] = [:]
    for run in runs {
      guard case .success(let scenario) = run.scenario else {
        rows[run.id] = .some(nil)
        continue
      }
      rows[run.id] = Set(scenario.roundRange.filter(scenario.records(round:)))
    }
    return rows
  }

  /// Runs one combination; returns its JSON lines and whether it failed.
  static func execute(
    _ run: SweepPlan.Run, threads: Int, budget: MemoryBudget,
    progress: ((ProgressEvent) -> Void)? = nil
  ) -> (text: String, failed: Bool) {
    func line(_ fields: [JSONMember], type: String) -> String {
      var members = [
        JSONMember("type", .string(type)), JSONMember("run_id", .string(run.id)),
        JSONMember("run_index", .number(Double(run.index))), JSONMember("axes", .object(run.axes)),
        JSONMember("sweep_id", .string(run.sweepID)),
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
        try Experiment(scenario: scenario, threads: threads, memoryBudget: budget).run(
          progress: progress
        ) { record in
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
}

/// Writes each run's lines once every earlier run (in expansion order) is written.
final class OrderedWriter: @unchecked Sendable {
  private let lock = NSLock()
  private let order: [Int]
  private var pending: [Int: String] = [:]
  private var next = 0
  private let sink: (String) throws(SinkError) -> Void
  private(set) var failures = 0
  private var error: SinkError?

  /// The first write failure (the sweep stops taking runs after it).
  var writeError: SinkError? {
    lock.lock()
    defer { lock.unlock() }
    return error
  }

  init(order: [Int], sink: @escaping (String) throws(SinkError) -> Void) {
    self.order = order
    self.sink = sink
  }

  func complete(_ index: Int, lines: String, failed: Bool) {
    lock.lock()
    defer { lock.unlock() }
    pending[index] = lines
    if failed { failures += 1 }
    while error == nil, next < order.count, let text = pending[order[next]] {
      do {
        try sink(text)
      } catch {
        self.error = error
      }
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
  let value: ([SweepPlan.Run], OrderedWriter, WorkQueue, SweepMeter)
  init(_ value: ([SweepPlan.Run], OrderedWriter, WorkQueue, SweepMeter)) { self.value = value }
}

/// Runs finished so far, the elapsed time and the estimate of what is left
/// (locked: the worker threads share it).
private final class SweepMeter: @unchecked Sendable {
  private let lock = NSLock()
  private let total: Int
  private let started = ContinuousClock.now
  private var done = 0

  init(total: Int) { self.total = total }

  /// Counts a finished run; returns how many are done.
  func finish() -> Int {
    lock.lock()
    defer { lock.unlock() }
    done += 1
    return done
  }

  /// `elapsed, ETA` after the runs done so far.
  func status() -> String {
    lock.lock()
    let fraction = Double(done) / Double(max(1, total))
    lock.unlock()
    return ProgressClock.status(elapsed: ContinuousClock.now - started, fraction: fraction)
  }
}
