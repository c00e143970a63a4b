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
      chain); `f` defaults to 0 here. The same code as the simulator runs: updates holding NaN or \
      Inf are rejected first by robust rules. Prints which rows were rejected or given zero weight \
      and the per-row scores where the rule has them; --output writes the aggregate (.npy float32 \
      or .csv).

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

  @Option(help: "Per-row sample weights (.npy or a CSV/text list), for fedavg.")
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
    let facts = UpdateExport.sidecarPath(of: updates)
    try checkDistinct([
      ("the updates", updates), ("--weights", weights), ("--server-update", serverUpdate),
      ("the round's .json", facts),
      ("the round's server update", sidecar?.serverUpdate),
      ("--output", output),
    ])
    try checkOutput(output)
    // Locked now: a second writer is refused before the updates are read.
    let outputFile = try output.map { try ReservedOutput($0) }
    let matrix: NPYArray
    var header: [String]?
    var rowWeights: [Double]?
    var server: [Float]?
    do {
      (matrix, header) = try MatrixFile.readWithHeader(updates)
      guard matrix.shape.count == 2, matrix.shape[0] > 0, matrix.shape[1] > 0 else {
        throw DataError.corrupt(
          file: updates,
          reason: "expected a non-empty 2-D matrix (rows = clients), got shape \(matrix.shape)")
      }
      if let weights {
        let w = try MatrixFile.read(weights)
        guard w.values.count == matrix.shape[0] else {
          throw DataError.mismatch(
            reason: "\(weights) holds \(w.values.count) weights for \(matrix.shape[0]) updates")
        }
        guard w.values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
          throw DataError.corrupt(file: weights, reason: "weights must be finite and non-negative")
        }
        rowWeights = w.values.map(Double.init)
      }
      if let serverUpdate {
        let g = try MatrixFile.read(serverUpdate)
        guard g.values.count == matrix.shape[1] else {
          throw DataError.mismatch(
            reason:
              "\(serverUpdate) holds \(g.values.count) values for updates of \(matrix.shape[1])")
        }
        server = g.values
      }
    } catch let error as DataError {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(Exit.runtime)
    }
    let (n, d) = (matrix.shape[0], matrix.shape[1])
    if sidecar == nil,
      (updates.split(separator: "/").last ?? "").wholeMatch(of: /round-[0-9]{4,}\.npy(\.gz)?/)
        != nil
    {
      Terminal.error(
        "note: no --save-updates round file (\(facts ?? "")) beside \(updates): the seed, round, "
          + "weights and quarantine counts are aggregate's defaults, which may not be the round's")
    }
    if let sidecar, sidecar.clients.count != n || sidecar.weights.count != n {
      Terminal.error(
        "poisonlab: \(updates): its .json describes \(sidecar.clients.count) rows, the matrix has \(n); ignoring the .json"
      )
    }
    if let sidecar, sidecar.weights.contains(where: { !($0 >= 0) }) {
      Terminal.error("poisonlab: \(updates): its .json holds negative or NaN weights")
      throw ExitCode(Exit.runtime)
    }
    let exported = sidecar.flatMap { $0.clients.count == n && $0.weights.count == n ? $0 : nil }
    if let exported {
      if rowWeights == nil && exported.weights.count == n { rowWeights = exported.weights }
      if server == nil, serverUpdate == nil, let path = exported.serverUpdate {
        do {
          let g = try MatrixFile.read(path)
          guard g.values.count == d else {
            throw DataError.corrupt(
              file: path, reason: "holds \(g.values.count) values for updates of \(d)")
          }
          server = g.values
        } catch let error as DataError {
          Terminal.error("poisonlab: \(error)")
          throw ExitCode(Exit.runtime)
        }
      }
      if format != "json" {
        Terminal.line(
          "round \(exported.round) of a --save-updates export: weights, client ids, seed, round and "
            + "the \(exported.quarantined) client(s) quarantined and \(exported.rejectedByChannel) "
            + "whose message the channel rejected (rules assume f less them) from its .json"
        )
      }
    }
    var chain: DefenseChain
    let resolved: JSONValue
    do {
      // Checked as the run checked it: against the round's clients, those
      // whose message the channel rejected and those quarantined included.
      let excluded = [exported?.rejectedByChannel ?? 0, exported?.quarantined ?? 0].reduce(0) {
        $0 + min($1, 1_000_000)
      }
      (chain, resolved) = try ScenarioLoader.defenseChain(
        json, source: "--defense", updates: n + excluded)
    } catch {
      Terminal.error(error.description)
      throw ExitCode(Exit.invalid)
    }
    // Distance-based rules hold n x n matrices: estimated before allocating.
    let estimate = chain.memoryEstimate(rows: n, dimension: d)
    guard let budget = MemoryBudget.resolve(maxMemory) else {
      Terminal.error(
        "poisonlab: --max-memory \(maxMemory ?? ""): expected a positive size like 16G, 800M or 1.5G"
      )
      throw ExitCode(Exit.invalid)
    }
    if estimate.exceeds(budget) {
      Terminal.error(
        "poisonlab: \(updates): aggregating its \(n) updates of \(d) values with "
          + "\(chain.names.joined(separator: " → ")) needs an estimated \(estimate.summary()) of "
          + "memory, more than \(budget.source) allows (\(MemoryEstimate.format(budget.bytes)))")
      throw ExitCode(Exit.runtime)
    }
    let workers = try Threads.resolve(threads)
    let set = UpdateSet(values: matrix.values, count: n, dimension: d, weights: rowWeights)
    let result: DefenseChain.Result
    // BLAS on one thread, as in the simulator: OpenBLAS's threaded sgemm
    // and sgemv round differently from one thread count to another, and a
    // replayed round must equal the simulator's bit for bit.
    BLAS.setThreads(1)
    let began = ContinuousClock.now
    do {
      result = try chain.run(
        set, round: round ?? exported?.round ?? 1, threads: workers,
        previousAggregate: nil, seeds: SeedTree(seed ?? exported?.seed ?? 0),
        clients: exported?.clients, serverUpdate: server, quarantined: exported?.quarantined ?? 0,
        rejectedByChannel: exported?.rejectedByChannel ?? 0)
    } catch {
      Terminal.error("poisonlab: defense \(error)")
      throw ExitCode(Exit.runtime)
    }
    let nonFinite = result.aggregate.count { !$0.isFinite }
    guard nonFinite == 0 else {
      let inputs = (0..<n).filter { !set.isFinite(row: $0) }
      let cause =
        inputs.isEmpty
        ? "the rule's sums exceed float32's range"
        : "row(s) \(inputs.prefix(5).map(String.init).joined(separator: ", ")) hold NaN or Inf, "
          + "which \(chain.names.joined(separator: " → ")) averages; robust rules reject such rows first"
      Terminal.error(
        "poisonlab: the aggregate holds \(nonFinite) of \(d) values that are not finite (\(cause)); nothing written"
      )
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
    let norms = set.norms()
    let aggregateNorm = result.aggregate.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    let flaggedRows = (0..<n).filter { result.flagged[$0] }
    if (format ?? (Terminal.stdoutIsTTY ? "table" : "json")) == "json" {
      var members = [
        JSONMember("updates", .string(updates)),
        JSONMember("rows", .number(Double(n))),
        JSONMember("dimension", .number(Double(d))),
        JSONMember("header_skipped", header.map { .array($0.map { .string($0) }) } ?? .null),
        JSONMember("defense", resolved),
        JSONMember("flagged", .array(flaggedRows.map { .number(Double($0)) })),
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
    if let header {
      text +=
        "skipped a header row (every field is non-numeric): \(header.joined(separator: ","))\n"
    }
    let scoreNames = result.scores.map(\.stage)
    text += "  row        norm  flagged" + scoreNames.map { "  \($0) score" }.joined() + "\n"
    for i in 0..<n {
      var line =
        String(format: "%5d  %10.4g  ", i, norms[i]) + (result.flagged[i] ? "    yes" : "     no")
      for stage in result.scores {
        line += stage.values[i].map { String(format: "  %12.6g", $0) } ?? "             -"
      }
      text += line + "\n"
    }
    text +=
      "flagged: \(flaggedRows.isEmpty ? "none" : flaggedRows.map(String.init).joined(separator: ", "))"
    text += result.rejectedNonFinite > 0 ? " (\(result.rejectedNonFinite) non-finite)\n" : "\n"
    text +=
      String(format: "aggregate norm %.6g (%.3f s)", aggregateNorm, seconds)
      + (output.map { ", written to \($0)" } ?? "") + "\n"
    Terminal.out(text)
  }
}
