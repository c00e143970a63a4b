import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab aggregate`: runs a defense on real client updates from a file.
struct AggregateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "aggregate",
    abstract: "Run a defense on real client updates (.npy or CSV, one row per client).",
    discussion: """
      UPDATES is a 2-D matrix, one update per row: a NumPy .npy of float32 or float64 in C order, \
      or a CSV of numbers. --defense takes the same JSON as a scenario's defense (an object or a \
      chain); `f` defaults to 0, or beside a `run --save-updates` round to the run's default (its \
      malicious clients), so the scenario's own defense block reproduces the round. The same code \
      as the simulator runs: updates holding NaN or Inf are rejected first by robust rules. Prints \
      which rows were rejected or given zero weight and the per-row scores where the rule has \
      them; --output writes the aggregate (.npy float32 or .csv).

      Exit codes: 0 ok; 2 invalid --defense or usage, an `f` or `m` the number of rows does not \
      allow included; 3 unreadable or malformed files, or a rule that cannot run on these rows \
      (anomaly on fewer than 3, a robust rule given only non-finite rows, an aggregate \
      that is not finite: float32 overflow, or NaN/Inf rows under fedavg or mean).

      Examples:
        poisonlab aggregate updates.npy --defense median --format json
        poisonlab aggregate out/round-0003.npy \\
          --defense '[{"name": "norm-clip"}, {"name": "fedavg"}]'
      """)

  @Argument(help: "The updates: a 2-D .npy or CSV matrix, one row per client.")
  var updates: String

  @Option(
    help: ArgumentHelp(
      "The defense as JSON, e.g. '{\"name\": \"krum\", \"f\": 2}', or a bare name: median.",
      valueName: "json"))
  var defense: String

  @Option(
    help:
      "Per-row sample weights (.npy or a CSV/text list), for the rules that weight updates (fedavg, geometric-median)."
  )
  var weights: String?

  @Option(help: "The server's own update on clean root data (.npy or CSV), for fltrust.")
  var serverUpdate: String?

  @Option(help: "Write the aggregate to this .npy or .csv file.")
  var output: String?

  @Option(
    help: ArgumentHelp(
      "Refuse a chain whose estimated memory (n x n matrices for krum and the like) exceeds this (16G, 800M; default: 80% of memory).",
      valueName: "size"))
  var maxMemory: String?

  @Option(help: "Output format: table or json (default: table on a terminal, json otherwise).")
  var format: String?

  @Option(
    help:
      "Seed for defenses that draw random numbers (bucketing, dp); default: the round file's, or 0."
  )
  var seed: UInt64?

  @Option(
    help: "The round whose random streams the defenses draw from; default: the round file's, or 1.")
  var round: Int?

  @Option(help: "Worker threads for coordinate-wise rules (default: all cores).")
  var threads: Int?

  func validate() throws {
    if let format, !["table", "json"].contains(format) {
      throw ValidationError(
        "unknown format \"\(format)\"\(Suggest.phrase(for: format, in: ["table", "json"])) (allowed: table, json)"
      )
    }
    if let round, round < 1 {
      throw ValidationError("--round counts from 1 (a run's first round), got \(round)")
    }
    if let output, !(output.hasSuffix(".npy") || output.hasSuffix(".csv")) {
      throw ValidationError("--output must end in .npy or .csv, got \(output)")
    }
  }

  func run() throws {
    let json: JSONValue
    do {
      json = try JSONParser.parse(defense)
    } catch {
      // A bare name, as --set takes it: --defense median.
      guard defense.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), !defense.isEmpty
      else {
        Terminal.error("--defense: not valid JSON: \(error)")
        throw ExitCode(Exit.invalid)
      }
      json = .object([JSONMember("name", .string(defense))])
    }
    // A matrix from `run --save-updates` carries its round's facts in X.json.
    let sidecar: UpdateExport.Round?
    do {
      sidecar = try UpdateExport.sidecar(of: updates)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
    // The inputs (and the round's facts beside an exported matrix) may not be the output.
    try checkDistinct([
      ("the updates", updates), ("--weights", weights), ("--server-update", serverUpdate),
      ("the round's .json", UpdateExport.sidecarPath(of: updates)),
      ("the round's server update", sidecar?.serverUpdate),
      ("--output", output),
    ])
    try checkOutput(output)
    // Locked now: a second writer is refused before the updates are read.
    let outputFile = try output.map { try ReservedOutput($0) }
    let replay: UpdateReplay
    do {
      replay = try UpdateReplay.load(
        updates: updates, sidecar: sidecar, weights: weights, serverUpdate: serverUpdate)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
    for note in replay.notes { Terminal.error(note) }
    let set = replay.set
    let (n, d) = (set.count, set.dimension)
    // With --output and a standard output closed at start (`>&-`), the
    // file is the result and the summary meant for the terminal is left out.
    let summaryUnwanted = output != nil && StandardStream.outputWasClosed
    if let exported = replay.exported, format != "json", !summaryUnwanted {
      Terminal.line(
        "round \(exported.round) of a --save-updates export: weights, client ids, seed, round and "
          + "the \(exported.quarantined) client(s) quarantined and \(exported.rejectedByChannel) "
          + "whose message the channel rejected (rules assume f less them) from its .json"
          + (exported.defaultF.map { ", and f = \($0) where the defense leaves it unset" } ?? "")
      )
    }
    var chain: DefenseChain
    let resolved: JSONValue
    let sidecarName = UpdateExport.sidecarPath(of: updates) ?? ""
    if replay.exported != nil, replay.exported?.defaultF == nil {
      Terminal.error(
        "poisonlab: note: \(sidecarName) has no default_f (written before poisonlab recorded it): "
          + "rules that leave f unset get f = 0, which may not be the run's; give f in --defense "
          + "to reproduce the round")
    }
    do {
      (chain, resolved) = try ScenarioLoader.defenseChain(
        json, source: "--defense", updates: n + replay.excluded,
        defaultF: replay.exported?.defaultF ?? 0)
    } catch {
      Terminal.error(error.description)
      if let f = replay.exported?.defaultF {
        Terminal.error(
          "poisonlab: note: rules that leave f unset got f = \(f), the run's default from "
            + "\(sidecarName); give f in --defense to choose another")
      }
      throw ExitCode(Exit.invalid)
    }
    // An input the chain would not use is a usage error, not a silent no-op.
    let unused = chain.unusedInputs(weights: weights != nil, serverUpdate: serverUpdate != nil)
    if !unused.isEmpty {
      for problem in unused { Terminal.error("poisonlab: " + problem) }
      throw ExitCode(Exit.invalid)
    }
    // Distance-based rules hold n x n matrices: estimated before allocating.
    let estimate = chain.memoryEstimate(rows: n, dimension: d)
    let budget = try memoryBudget(maxMemory)
    if estimate.exceeds(budget) {
      Terminal.error(
        "poisonlab: \(updates): aggregating its \(n) updates of \(d) values with "
          + "\(chain.names.joined(separator: " → ")) needs an estimated \(estimate.summary()) of "
          + "memory, more than \(budget.source) allows (\(MemoryEstimate.format(budget.bytes)))")
      throw ExitCode(Exit.runtime)
    }
    let workers = try Threads.resolve(threads)
    let result: DefenseChain.Result
    let began = ContinuousClock.now
    do {
      result = try replay.run(&chain, round: round, seed: seed, threads: workers)
    } catch {
      Terminal.error("poisonlab: defense \(error)")
      throw ExitCode(Exit.runtime)
    }
    if let problem = replay.nonFiniteProblem(result.aggregate, chain: chain.names) {
      Terminal.error("poisonlab: " + problem)
      throw ExitCode(Exit.runtime)
    }
    let elapsed = ContinuousClock.now - began
    let seconds = elapsed.inSeconds
    if let output, let outputFile {
      let text: [UInt8] =
        output.hasSuffix(".npy")
        ? NPYArray(shape: [d], values: result.aggregate).serialized()
        : Array((result.aggregate.map { "\($0)" }.joined(separator: ",") + "\n").utf8)
      try outputFile.finish(text)
    }
    if summaryUnwanted { return }
    let norms = set.norms()
    let aggregateNorm = result.aggregate.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let flaggedRows = (0..<n).filter { result.flagged[$0] }
    let downweightedRows = (0..<n).filter { result.downweighted[$0] }
    if (format ?? (Terminal.stdoutIsTTY ? "table" : "json")) == "json" {
      var members = [
        JSONMember("updates", .string(updates)),
        JSONMember("rows", .number(Double(n))),
        JSONMember("dimension", .number(Double(d))),
        JSONMember("header_skipped", replay.header.map { .array($0.map { .string($0) }) } ?? .null),
        JSONMember("defense", resolved),
        JSONMember("flagged", .array(flaggedRows.map { .number(Double($0)) })),
        JSONMember("downweighted", .array(downweightedRows.map { .number(Double($0)) })),
        JSONMember("rejected_non_finite", .number(Double(result.rejectedNonFinite))),
        JSONMember(
          "scores",
          .object(
            result.scores.map {
              JSONMember($0.stage, .array($0.values.map { $0.map { .number($0) } ?? .null }))
            })),
        JSONMember("aggregate_norm", .number(aggregateNorm)),
        JSONMember("seconds", .number(seconds)),
        JSONMember("output", output.map { .string($0) } ?? .null),
      ]
      if output == nil {
        members.append(
          JSONMember("aggregate", .array(result.aggregate.map { .number(Double($0)) })))
      }
      Terminal.out(JSONValue.object(members).serialized() + "\n")
      return
    }
    var text = "\(n) updates of \(d) values; defense \(resolved.serialized())\n"
    if let header = replay.header {
      text +=
        "skipped a header row (every field is non-numeric): \(header.joined(separator: ","))\n"
    }
    let scoreNames = result.scores.map(\.stage)
    text +=
      "  row        norm  flagged  downweighted" + scoreNames.map { "  \($0) score" }.joined()
      + "\n"
    for i in 0..<n {
      var line =
        String(format: "%5d  %10.4g  ", i, norms[i]) + (result.flagged[i] ? "    yes" : "     no")
        + (result.downweighted[i] ? "           yes" : "            no")
      for stage in result.scores {
        line += stage.values[i].map { String(format: "  %12.6g", $0) } ?? "             -"
      }
      text += line + "\n"
    }
    text +=
      "flagged: \(flaggedRows.isEmpty ? "none" : flaggedRows.map(String.init).joined(separator: ", "))"
    text += result.rejectedNonFinite > 0 ? " (\(result.rejectedNonFinite) non-finite)" : ""
    text +=
      "; kept with less weight or a smaller norm: \(downweightedRows.isEmpty ? "none" : downweightedRows.map(String.init).joined(separator: ", "))\n"
    text +=
      String(format: "aggregate norm %.6g (%.3f s)", aggregateNorm, seconds)
      + (output.map { ", written to \($0)" } ?? "") + "\n"
    Terminal.out(text)
  }
}
