import ArgumentParser
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
    if let shard, SweepShard(parsing: shard) == nil {
      throw ValidationError("--shard \(shard): expected K/N with 1 <= K <= N")
    }
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
    let budget = try memoryBudget(maxMemory)
    // The checks `run` makes before any work, for every combination.
    let jobBudget = MemoryBudget(
      bytes: budget.bytes / max(1, min(jobs, plan.runs.count)),
      source: jobs > 1 ? "\(budget.source), shared by --jobs \(jobs)" : budget.source)
    let distinct = plan.distinctRuns
    if distinct.count < plan.runs.count {
      Terminal.error(
        "poisonlab: \(plan.runs.count - distinct.count) combination(s) resolve to a scenario already in the sweep; each runs once"
      )
    }
    let runs = SweepPlan.preflight(distinct, threads: perRun, budget: jobBudget)
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
    let slice = shard.flatMap(SweepShard.init(parsing:)) ?? .whole
    var done = Set<String>()
    var file: SweepOutput?
    if let output, !OutputPath.isStandardOutput(output) {
      do {
        let opened = try SweepOutput(path: output, expectedRows: SweepPlan.expectedRows(runs))
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
    let todo = runs.filter { slice.contains($0.index) && !done.contains($0.id) }
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
    let progress = !quiet && Terminal.stderrIsTTY
    let skippedByShard = runs.filter { slice.contains($0.index) }.count - todo.count
    if progress || skippedByShard > 0 {
      Terminal.error(
        "poisonlab: \(todo.count) run(s) to do"
          + (skippedByShard > 0 ? ", \(skippedByShard) already in \(output ?? "the output")" : "")
          + (slice.n > 1 ? " (shard \(slice.k)/\(slice.n) of \(runs.count))" : " of \(runs.count)"))
    }
    let meter = SweepMeter(total: todo.count)
    // One run at a time: its own progress line (rounds, clients or samples,
    // ETA) under the sweep's; with several at once, only the sweep's lines.
    let inRun = progress && min(jobs, max(1, todo.count)) == 1 ? Progress(enabled: true) : nil
    let outcome = SweepRunner(runs: todo, jobs: jobs, threads: perRun, budget: jobBudget).run(
      sink: sink, progress: inRun?.quietHandle, restart: inRun.map { bar in { bar.restart() } },
      clear: inRun.map { bar in { bar.clear() } }
    ) { finished in
      guard progress else { return }
      let axes = finished.run.axes.map { "\($0.key)=\(Report.label($0.value))" }
        .joined(separator: ", ")
      Terminal.error(
        "  [\(finished.done)/\(todo.count)] \(axes): \(finished.failed ? "FAILED" : "done") in "
          + ProgressClock.short(ContinuousClock.now - finished.started) + " · "
          + meter.status(done: finished.done))
    }
    file?.close()
    if let error = outcome.writeError {
      Terminal.fail(error)
    }
    if outcome.failures > 0 {
      Terminal.error("poisonlab: \(outcome.failures) run(s) failed; their \"error\" rows say why")
      throw ExitCode(Exit.runtime)
    }
  }
}

/// The elapsed time and the estimate of what is left after `done` of
/// `total` runs.
private struct SweepMeter {
  let total: Int
  let started = ContinuousClock.now

  /// `elapsed, ETA` after `done` runs.
  func status(done: Int) -> String {
    ProgressClock.status(
      elapsed: ContinuousClock.now - started, fraction: Double(done) / Double(max(1, total)))
  }
}
