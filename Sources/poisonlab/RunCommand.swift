import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab run`: runs one scenario and reports metrics per evaluated round.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a scenario and print per-round metrics.",
    discussion: """
      Records go to standard output in --format (default: table on a terminal, jsonl otherwise). \
      With --output FILE they are written to FILE.partial, flushed row by row, and renamed to FILE \
      when the run completes; standard output then shows the table (unless --quiet).

      --set takes JSON values: --set training.learning_rate=0.1, --set 'model.hidden=[100]', \
      --set defense.name=median (a bare word is a string). Overrides are validated like the file.

      Exit codes: 0 ok; 1 an expect threshold missed; 2 invalid scenario or usage; \
      3 runtime failure (scenario or data file missing or corrupt, divergence, I/O); 130 interrupted (Ctrl-C), \
      saying where the finished rows are.

      Example:
        poisonlab run scenarios/quickstart.json --set defense.name=median \\
          --output run.jsonl --plot curves.svg
      """)

  @Argument(help: "The scenario JSON file.")
  var scenario: String

  @OptionGroup var scenarioOptions: ScenarioOptions

  @Option(
    help: ArgumentHelp(
      "Output format: \(Formats.names.joined(separator: ", ")).", valueName: "format"))
  var format: String?

  @Option(help: "Write records to this file (atomically completed; - for standard output).")
  var output: String?

  @Flag(
    help:
      "Replace an existing --output or --save-model file, or an earlier run's round files in --checkpoint-dir or --save-updates (without it, run refuses)."
  )
  var force = false

  @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
  var threads: Int?

  @Flag(help: "No progress and no table when --output is given.")
  var quiet = false

  @Flag(help: "Ignore the scenario's expect block (for shortened exploratory runs).")
  var noExpect = false

  @Option(
    help:
      "Write per-round curves (accuracy, attack success, the gate's candidate) with alarms and gate rejections marked to this SVG file."
  )
  var plot: String?

  @Option(
    help: ArgumentHelp(
      "Write the final model to FILE (safetensors, PyTorch state_dict names).",
      valueName: "file"))
  var saveModel: String?

  @Option(
    help: ArgumentHelp(
      "Start from a saved model; one saved by this scenario and seed resumes after its round.",
      valueName: "file"))
  var initModel: String?

  @Option(
    help: ArgumentHelp(
      "Federated runs: write each round's received updates and their facts to this existing folder.",
      valueName: "dir"))
  var saveUpdates: String?

  @Option(
    help: ArgumentHelp("Write a checkpoint every N rounds (with --checkpoint-dir).", valueName: "n")
  )
  var checkpointEvery: Int?

  @Option(
    help: ArgumentHelp(
      "The existing folder for checkpoints, DIR/round-NNNN.safetensors.", valueName: "dir"))
  var checkpointDir: String?

  @Option(
    help: ArgumentHelp(
      "The existing folder for the audit's pictures (strip: entropy histograms; neural-cleanse: reversed triggers as PNG and SVG).",
      valueName: "dir"))
  var auditDir: String?

  func validate() throws {
    if force && (output == nil || OutputPath.isStandardOutput(output ?? "")) && saveModel == nil
      && checkpointDir == nil && saveUpdates == nil
    {
      throw ValidationError(
        "--force replaces the existing files of --output FILE, --save-model FILE, --checkpoint-dir or --save-updates; give one of them"
      )
    }
    // Standard output carries the records or the table unless they go to a
    // file and --quiet silences the table: only then may the SVG take it.
    if let plot, OutputPath.isStandardOutput(plot),
      output == nil || OutputPath.isStandardOutput(output ?? "") || !quiet
    {
      throw ValidationError(
        "--plot - would share standard output with the records or the table; give --plot a file, or add --output FILE --quiet"
      )
    }
    for (option, path) in [("--output", output), ("--plot", plot)] where path?.isEmpty == true {
      throw ValidationError("\(option) takes a file path (or -), got an empty one")
    }
    for (option, path) in [("--save-model", saveModel), ("--init-model", initModel)] {
      if let path, path.isEmpty || OutputPath.isStandardOutput(path) {
        throw ValidationError(
          "\(option) takes a .safetensors file path, got \(path.isEmpty ? "an empty one" : "-")")
      }
    }
    if let n = checkpointEvery, n < 1 {
      throw ValidationError("--checkpoint-every must be at least 1, got \(n)")
    }
    if (checkpointEvery == nil) != (checkpointDir == nil) {
      throw ValidationError("--checkpoint-every and --checkpoint-dir go together")
    }
    if let format, Formats.named(format) == nil {
      throw ValidationError(
        "unknown format \"\(format)\"\(Suggest.phrase(for: format, in: Formats.names)) (allowed: \(Formats.names.joined(separator: ", ")))"
      )
    }
  }

  func run() throws {
    let scenario: Scenario
    do {
      scenario = try scenarioOptions.load(self.scenario, extra: noExpect ? ["expect=null"] : [])
    } catch {
      Terminal.error(error.description)
      throw ExitCode(error.exitCode)
    }
    if !scenario.sweep.isEmpty {
      Terminal.error(
        "\(self.scenario): sweep: the scenario has a sweep block; run it with `poisonlab sweep \(self.scenario)` (or remove the block)"
      )
      throw ExitCode(Exit.invalid)
    }
    let threads = try Threads.resolve(self.threads)
    try scenarioOptions.preflight(scenario, threads: threads)
    try checkDistinct(
      [("the scenario", self.scenario)] + datasetInputs([scenario]) + [
        ("--output", output), ("--plot", plot), ("--save-model", saveModel),
        ("--init-model", initModel),
      ])
    try checkOutput(output)
    if let output, !OutputPath.isStandardOutput(output), !force,
      (try? SystemFile.kind(of: output)) == .some(.regular)
    {
      Terminal.error(
        "poisonlab: \(output) exists; add --force to replace it (sweep --output appends and resumes instead)"
      )
      throw ExitCode(Exit.invalid)
    }
    // The rows an interrupted or failed run left are not deleted silently
    // either (a partial file another run holds is reported as locked below).
    if let output, !OutputPath.isStandardOutput(output), !force,
      OutputPath.holdsUnfinishedRows(output + ".partial")
    {
      Terminal.error(
        "poisonlab: \(output).partial holds the rows of an unfinished run; move it away, or add --force to start over"
      )
      throw ExitCode(Exit.invalid)
    }
    // A trained model is the most expensive thing a run makes: never replaced silently.
    if let saveModel, !force, (try? SystemFile.kind(of: saveModel)) == .some(.regular) {
      Terminal.error("poisonlab: --save-model \(saveModel) exists; add --force to replace it")
      throw ExitCode(Exit.invalid)
    }
    try checkOutput(plot)
    // Locked now: a second writer of the curves is refused before training.
    let plotFile = try plot.map { try ReservedOutput($0) }
    try checkOutput(saveModel, streamable: false)
    var options = Experiment(scenario: scenario, threads: 1)
    options.updateExport = saveUpdates
    options.auditDirectory = auditDir
    if let problem = options.optionProblems.first {
      Terminal.error("poisonlab: " + problem)
      throw ExitCode(Exit.invalid)
    }
    try Self.checkFolder("--save-updates", saveUpdates)
    try Self.checkFolder("--checkpoint-dir", checkpointDir)
    try Self.checkFolder("--audit-dir", auditDir)
    try checkAuditFolder(
      auditDir, against: [("--output", output), ("--plot", plot), ("--save-model", saveModel)])
    // A second run writing into the same folders is refused now.
    let folderLocks = try lockFolders([
      ("--checkpoint-dir", checkpointDir), ("--save-updates", saveUpdates),
      ("--audit-dir", auditDir),
    ])
    defer { withExtendedLifetime(folderLocks) {} }
    try checkRoundFiles(scenario, threads: threads)
    // Locked now: a second run saving to the same file, or a folder that
    // cannot take it, is refused before training, not after it.
    let modelFile: ReservedFile?
    do {
      modelFile = try saveModel.map { try ReservedFile(path: $0) }
    } catch {
      Terminal.error("poisonlab: --save-model: \(error)")
      throw ExitCode(Exit.runtime)
    }
    let toFile = output.map { !OutputPath.isStandardOutput($0) } ?? false
    let fileFormat = format ?? output.map(Self.formatFor(path:)) ?? "jsonl"
    let stdoutFormat =
      !toFile
      ? (format ?? (Terminal.stdoutIsTTY ? "table" : "jsonl"))
      : (quiet || StandardStream.outputWasClosed ? nil : "table")
    // A run that writes files finishes them when the table's reader goes
    // away (`| head`): it drops the table and keeps its exit code.
    let writesFiles =
      toFile || saveModel != nil || checkpointDir != nil || saveUpdates != nil
      || auditDir != nil || plot.map { !OutputPath.isStandardOutput($0) } == true
    if writesFiles { Terminal.outlivesReader = true }
    var sinks: [RecordSink] = []
    do {
      if toFile, let output, let fmt = Formats.named(fileFormat) {
        sinks.append(try RecordSink(format: fmt, path: output))
      }
      if let stdoutFormat, let fmt = Formats.named(stdoutFormat) {
        if stdoutFormat == "table" { Terminal.out(Self.banner(scenario)) }
        sinks.append(try RecordSink(standardOutputFormat: fmt))
      }
    } catch {
      for sink in sinks { sink.abandon() }
      plotFile?.cancel()
      modelFile?.cancel()
      Terminal.fail(error)
    }
    // Until a row is written, an interrupted run leaves no output file (an
    // empty partial file named as "rows completed so far" misleads).
    let unfinished =
      (plot.map { OutputPath.isStandardOutput($0) ? [] : [$0 + ".partial"] } ?? [])
      + (saveModel.map { [$0 + ".partial"] } ?? [])
    let kept = sinks.compactMap(\.partialPath).first
    StandardStream.onInterrupt(
      "\npoisonlab: interrupted before the first row\n",
      removing: unfinished + sinks.compactMap(\.partialPath),
      later: (
        "\npoisonlab: interrupted"
          + (kept.map { "; rows completed so far are in \($0)" } ?? "") + "\n", unfinished
      ))
    var rowsKept = false
    let progress = Progress(enabled: !quiet && Terminal.stderrIsTTY)
    var experiment = Experiment(
      scenario: scenario, threads: threads, memoryBudget: try scenarioOptions.budget())
    experiment.updateExport = saveUpdates
    experiment.auditDirectory = auditDir
    experiment.modelFiles = ModelFileOptions(
      save: saveModel, initial: initModel, checkpointEvery: checkpointEvery,
      checkpointDirectory: checkpointDir)
    experiment.modelFiles.reservedSave = modelFile
    if let warning = experiment.resumeWarning { Terminal.error("poisonlab: " + warning) }
    let summary: MetricRecord
    var rounds: [MetricRecord] = []
    func deliver(_ record: MetricRecord) throws(SinkError) {
      progress.clear()
      if record.kind == MetricRecord.Kind.round { rounds.append(record) }
      // Before the write: an interrupt between the two must not remove a
      // file that holds the row (it may name a file still empty instead).
      if !rowsKept {
        rowsKept = true
        StandardStream.advanceInterrupt()
      }
      for sink in sinks {
        do {
          try sink.write(record)
        } catch {
          // The table's reader went away; the files still get everything.
          guard error.readerClosed, writesFiles else { throw error }
          sinks.removeAll { $0.isStandardOutput }
        }
      }
    }
    do {
      summary = try experiment.run(progress: progress.handle, emit: deliver)
      for sink in sinks { try sink.finish() }
    } catch let failure as RunFailure {
      progress.clear()
      abandon(sinks)
      modelFile?.cancel()
      if let plotFile {
        // The curves of the rounds run so far; none when no round finished.
        if rounds.isEmpty {
          plotFile.cancel()
          Terminal.error("poisonlab: no round finished: no plot written")
        } else {
          writePlot(rounds, scenario: scenario, to: plotFile, failure: "\(failure)")
        }
      }
      if case .output(let error) = failure {
        Terminal.fail(error, partial: sinks.compactMap(\.keptPartialPath).first)
      }
      Terminal.error("poisonlab: \(failure)")
      if let partial = sinks.compactMap(\.keptPartialPath).first {
        Terminal.error("poisonlab: rows completed so far are in \(partial)")
      }
      throw ExitCode(failure.exitCode)
    } catch let error as SinkError {
      progress.clear()
      abandon(sinks)
      plotFile?.cancel()
      modelFile?.cancel()
      Terminal.fail(error, partial: sinks.compactMap(\.keptPartialPath).first)
    }
    if let plotFile, !writePlot(rounds, scenario: scenario, to: plotFile) {
      throw ExitCode(Exit.runtime)
    }
    if summary.totals?.expectPassed == false {
      Terminal.error("poisonlab: expectations missed:")
      for miss in summary.totals?.expectMisses ?? [] { Terminal.error("  - \(miss)") }
      throw ExitCode(Exit.expectationMissed)
    }
  }

  /// Gives up the record files: a file that holds rows is kept, one that
  /// holds none is removed, and then an interrupt no longer names it.
  func abandon(_ sinks: [RecordSink]) {
    for sink in sinks { sink.abandon() }
    if sinks.allSatisfy({ $0.keptPartialPath == nil }) { StandardStream.retreatInterrupt() }
  }

  /// Writes the curves of the rounds run so far (also after a failure).
  /// - Returns: false after saying why on standard error when it cannot be written.
  @discardableResult
  func writePlot(
    _ rounds: [MetricRecord], scenario: Scenario, to file: ReservedOutput, failure: String? = nil
  ) -> Bool {
    let svg = Report.runFigure(rounds, scenario: scenario, failure: failure)
    return (try? file.finish(Array(svg.utf8))) != nil
  }

  /// Refuses, before any work, the round files this run would write when
  /// another output names one, when one is not a regular file (exit 3), or
  /// when one exists without `--force` (exit 2).
  func checkRoundFiles(_ scenario: Scenario, threads: Int) throws {
    var planner = Experiment(scenario: scenario, threads: threads)
    planner.updateExport = saveUpdates
    planner.modelFiles = ModelFileOptions(
      initial: initModel, checkpointEvery: checkpointEvery, checkpointDirectory: checkpointDir)
    do {
      try planner.checkRoundFiles(
        besides: [
          ("the scenario", self.scenario), ("--output", output), ("--plot", plot),
          ("--save-model", saveModel),
        ], force: force)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(error.exitCode)
    }
  }

  /// Refuses a folder option that names no folder (exit 3).
  static func checkFolder(_ option: String, _ path: String?) throws {
    guard let path else { return }
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    guard exists, isDirectory.boolValue else {
      Terminal.error(
        "poisonlab: \(option) \(path): " + (exists ? "not a folder" : "no such folder"))
      throw ExitCode(Exit.runtime)
    }
  }

  /// The format implied by a file's extension (`.csv`, `.json`, else `jsonl`).
  static func formatFor(path: String) -> String {
    if path.hasSuffix(".csv") { return "csv" }
    if path.hasSuffix(".json") { return "json" }
    return "jsonl"
  }

  /// Lines describing the run, above the table.
  static func banner(_ scenario: Scenario) -> String {
    var text = "scenario \"\(scenario.name)\""
    if !scenario.description.isEmpty { text += ": \(scenario.description)" }
    text +=
      "\n  seed \(scenario.seed); "
      + ["dataset", "model", "attack"].compactMap { key in
        scenario.resolved[key].map { "\(key) \($0.serialized())" }
      }.joined(separator: "\n  ")
    return text + "\n"
  }
}

/// A one-line progress display on standard error (terminals only); used by
/// one thread at a time (a run, or a sweep running one run at once).
final class Progress: @unchecked Sendable {
  private let enabled: Bool
  private var lastDraw = ContinuousClock.now
  private var started = ContinuousClock.now
  private var shown = false

  init(enabled: Bool) { self.enabled = enabled }

  var handle: ((ProgressEvent) -> Void)? {
    guard enabled else { return nil }
    return { [self] event in
      switch event {
      case .prepared(let text):
        Terminal.error("  " + text)
      case .training(let round, let rounds, let done, let total, let unit, let roundName):
        let now = ContinuousClock.now
        guard now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        let within = total > 0 ? Double(done) / Double(total) : 1
        // Cycles count from 0 (the initial training), rounds and epochs from 1.
        let first = roundName == "cycle" ? 0 : 1
        let span = Double(max(1, rounds - first + 1))
        let fraction = (Double(round - first) + within) / span
        Terminal.errorInline(
          "\r  \(roundName) \(round)/\(rounds): \(done)/\(total) \(unit) · "
            + ProgressClock.status(elapsed: now - started, fraction: fraction) + "\u{1B}[K")
        shown = true
      case .roundFinished:
        clear()
      }
    }
  }

  /// Starts the clock of a new run (sweeps reuse one display).
  func restart() { started = ContinuousClock.now }

  /// The handle without the data summary lines (sweeps: one line per run is enough).
  var quietHandle: ((ProgressEvent) -> Void)? {
    guard let handle else { return nil }
    return { event in
      if case .prepared = event { return }
      handle(event)
    }
  }

  func clear() {
    guard shown else { return }
    Terminal.errorInline("\r\u{1B}[K")
    shown = false
  }
}
