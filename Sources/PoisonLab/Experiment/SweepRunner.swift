import Dispatch
import Foundation

/// A slice of a sweep (`--shard K/N`): the runs whose expansion index is
/// `K - 1` modulo `N`, so that N shards cover the sweep once and their
/// outputs concatenate into the whole.
public struct SweepShard: Sendable, Equatable {
  /// K, from 1.
  public var k: Int
  /// N, at least 1.
  public var n: Int

  /// The whole sweep (1/1).
  public static let whole = SweepShard(k: 1, n: 1)

  /// Creates a shard.
  /// - Parameters:
  ///   - k: K, from 1 to `n`.
  ///   - n: N, at least 1.
  public init(k: Int, n: Int) {
    self.k = k
    self.n = n
  }

  /// Parses `K/N` with `1 <= K <= N` (nil when malformed).
  /// - Parameter text: the option's value.
  public init?(parsing text: String) {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n
    else { return nil }
    self.init(k: k, n: n)
  }

  /// Whether the run at `index` is this shard's.
  /// - Parameter index: the run's position in the expansion.
  /// - Returns: true when `index % N == K - 1`.
  public func contains(_ index: Int) -> Bool { index % n == k - 1 }
}

extension SweepPlan {
  /// The runs with distinct ids, in expansion order: combinations that
  /// resolve to the same scenario (`--seeds 1,1`; 0.05 and 0.050) are one run.
  public var distinctRuns: [Run] {
    var seen = Set<String>()
    return runs.filter { seen.insert($0.id).inserted }
  }

  /// Runs `run`'s pre-run checks (``Experiment/preflight(budget:)``) on
  /// every valid run: a combination that fails them becomes invalid.
  /// - Parameters:
  ///   - runs: the runs.
  ///   - threads: each run's threads.
  ///   - budget: each run's memory budget.
  /// - Returns: the runs, with failures recorded.
  public static func preflight(_ runs: [Run], threads: Int, budget: MemoryBudget) -> [Run] {
    var checked = runs
    for i in checked.indices {
      guard case .success(let scenario) = checked[i].scenario else { continue }
      do {
        try Experiment(scenario: scenario, threads: threads).preflight(budget: budget)
      } catch {
        if case .scenario(let errors) = error { checked[i].scenario = .failure(errors) }
      }
    }
    return checked
  }

  /// The round numbers each run records, for resuming an output
  /// (``SweepOutput``); nil for a skipped (invalid) combination.
  /// - Parameter runs: the runs.
  /// - Returns: run id to its rounds.
  public static func expectedRows(_ runs: [Run]) -> [String: Set<Int>?] {
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
}

/// Runs a sweep's runs, `jobs` at a time, and writes each run's JSON lines
/// in expansion order, whatever finishes first.
///
/// Each run's records gain `run_id`, `run_index`, `axes` and `sweep_id`
/// (the rows ``SweepOutput`` and ``Report`` read back); an invalid
/// combination writes a `skipped` row and a failed run an `error` row
/// with its exit code and message.
public struct SweepRunner {
  /// The runs to do, in expansion order.
  public var runs: [SweepPlan.Run]
  /// Runs executed at once.
  public var jobs: Int
  /// Threads of each run.
  public var threads: Int
  /// Memory budget of each run.
  public var budget: MemoryBudget

  /// Creates the runner.
  /// - Parameters:
  ///   - runs: the runs to do.
  ///   - jobs: runs at once (at least 1).
  ///   - threads: threads of each run.
  ///   - budget: memory budget of each run.
  public init(runs: [SweepPlan.Run], jobs: Int, threads: Int, budget: MemoryBudget) {
    self.runs = runs
    self.jobs = max(1, jobs)
    self.threads = threads
    self.budget = budget
  }

  /// What one finished run reports to the caller.
  public struct Finished: Sendable {
    /// The run.
    public var run: SweepPlan.Run
    /// Whether it failed (an `error` row).
    public var failed: Bool
    /// Runs finished so far, this one included.
    public var done: Int
    /// When it started.
    public var started: ContinuousClock.Instant
  }

  /// What the sweep did.
  public struct Outcome: Sendable {
    /// Runs that failed.
    public var failures: Int
    /// The first write failure (the sweep stopped taking runs after it), or nil.
    public var writeError: SinkError?
  }

  /// Runs every run and writes their lines through `sink` in expansion order.
  /// - Parameters:
  ///   - sink: receives each run's lines.
  ///   - progress: per-run progress events (only with one run at a time), or nil.
  ///   - restart: called before each run (one run at a time), or nil.
  ///   - clear: called after each run, before its lines are written (one
  ///     run at a time), or nil.
  ///   - finished: called after each run's lines, from the worker that ran it.
  /// - Returns: the failures and the first write error.
  public func run(
    sink: @escaping (String) throws(SinkError) -> Void,
    progress: ((ProgressEvent) -> Void)? = nil,
    restart: (() -> Void)? = nil,
    clear: (() -> Void)? = nil,
    finished: @escaping (Finished) -> Void = { _ in }
  ) -> Outcome {
    let writer = OrderedWriter(order: runs.map(\.index), sink: sink)
    let queue = WorkQueue(count: runs.count)
    let counter = Counter()
    let workers = min(jobs, max(1, runs.count))
    let single = workers == 1
    // The runs are read-only, the writer, queue and counter lock, and the
    // hooks are only called with one run at a time (`single`), except
    // `finished`, which the caller makes safe to share.
    let hooks = Unchecked(
      (single ? progress : nil, single ? restart : nil, single ? clear : nil, finished))
    let shared = Unchecked((self, writer, queue, counter))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      let (runner, writer, queue, counter) = shared.value
      while writer.writeError == nil, let next = queue.take() {
        let run = runner.runs[next]
        let started = ContinuousClock.now
        hooks.value.1?()
        let lines = Self.execute(
          run, threads: runner.threads, budget: runner.budget, progress: hooks.value.0)
        hooks.value.2?()
        writer.complete(run.index, lines: lines.text, failed: lines.failed)
        hooks.value.3(
          Finished(run: run, failed: lines.failed, done: counter.next(), started: started))
      }
    }
    return Outcome(failures: writer.failures, writeError: writer.writeError)
  }

  /// Runs one combination.
  /// - Parameters:
  ///   - run: the combination.
  ///   - threads: its threads.
  ///   - budget: its memory budget.
  ///   - progress: its progress events, or nil.
  /// - Returns: its JSON lines, and whether it failed.
  public static func execute(
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
  private var failed = 0
  private var error: SinkError?

  /// Runs that failed so far.
  var failures: Int {
    lock.lock()
    defer { lock.unlock() }
    return failed
  }

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
    if failed { self.failed += 1 }
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

/// A locked counter of finished runs.
private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0

  func next() -> Int {
    lock.lock()
    defer { lock.unlock() }
    value += 1
    return value
  }
}
