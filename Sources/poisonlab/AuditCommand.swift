import ArgumentParser
import PoisonLab

/// `poisonlab audit`: audits a saved model on a scenario's data.
struct AuditCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit",
    abstract: "Audit a saved model (safetensors) on a scenario's data.",
    discussion: """
      --method takes an audit name (\(Registry.descriptors(.audits).map(\.name).joined(separator: ", "))) \
      or an audit object as JSON, as a scenario's audit block. The scenario gives the dataset, the \
      model architecture, the training settings (fine-tuning) and, when it holds a backdoor, the \
      triggered test inputs; the model file gives the weights and the input normalisation.
      Exit codes: 0 ok; 2 invalid scenario, method or a model that does not fit; 3 unreadable files.

      Example:
        poisonlab audit badnets.safetensors --method neural-cleanse \\
          --scenario scenarios/fashion-mnist-backdoor.json --audit-dir triggers/
      """)

  @Argument(help: "The model file (from run --save-model).")
  var model: String

  @Option(help: "The scenario whose data and architecture the model belongs to.")
  var scenario: String

  @Option(help: ArgumentHelp("The audit: a name or a JSON object.", valueName: "method"))
  var method: String

  @OptionGroup var scenarioOptions: ScenarioOptions

  @Option(help: "Output format: table or json.")
  var format: String = "table"

  @Option(help: "Worker threads (default: all cores).")
  var threads: Int?

  @Option(
    help: "strip: write the entropy histograms of clean and triggered inputs to this SVG file.")
  var plot: String?

  @Option(
    help: ArgumentHelp(
      "The existing folder for the audit's pictures (strip: entropy histograms; neural-cleanse: reversed triggers as PNG and SVG).",
      valueName: "dir"))
  var auditDir: String?

  func validate() throws {
    if method.hasPrefix("{") {
      do {
        _ = try JSONParser.parse(method)
      } catch {
        throw ValidationError("--method: not valid JSON: \(error)")
      }
    } else if !method.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) || method.isEmpty {
      let names = Registry.descriptors(.audits).map(\.name)
      throw ValidationError(
        "--method takes an audit name (\(names.joined(separator: ", "))) or a JSON object such as '{\"name\": \"strip\"}', got \(method)\(Suggest.phrase(for: method, in: names))"
      )
    }
    guard ["table", "json"].contains(format) else {
      throw ValidationError("unknown format \"\(format)\" (allowed: table, json)")
    }
    if let plot, plot.isEmpty || OutputPath.isStandardOutput(plot) {
      throw ValidationError("--plot takes a file: standard output carries the audit's findings")
    }
  }

  func run() throws {
    let block =
      method.hasPrefix("{")
      ? method : JSONValue.object([JSONMember("name", .string(method))]).serialized()
    let loaded: Scenario
    do {
      loaded = try scenarioOptions.load(
        scenario, before: ["audit=\(block)"], extra: ["sweep=null", "expect=null"])
    } catch {
      Terminal.error(error.description)
      throw ExitCode(error.exitCode)
    }
    // The model and the scenario are inputs: --plot may not name either.
    try checkDistinct(
      [("the model", model), ("the scenario", scenario)] + datasetInputs([loaded])
        + [("--plot", plot)])
    try checkOutput(plot)
    if plot != nil, let audit = loaded.audit, !(audit is STRIP) {
      Terminal.error(
        "poisonlab: --plot draws strip's entropy histograms; \(type(of: audit).descriptor.name) has none"
      )
      throw ExitCode(Exit.invalid)
    }
    let threads = try Threads.resolve(self.threads)
    // The data, the model and the audit's own memory, estimated before any of it.
    _ = try scenarioOptions.preflight(loaded, threads: threads)
    if auditDir != nil, let problem = Experiment(scenario: loaded, threads: 1).auditDirectoryProblem
    {
      Terminal.error("poisonlab: " + problem)
      throw ExitCode(Exit.invalid)
    }
    try RunCommand.checkFolder("--audit-dir", auditDir)
    try checkAuditFolder(auditDir, against: [("--plot", plot)])
    let folderLock = try lockFolders([("--audit-dir", auditDir)])
    defer { withExtendedLifetime(folderLock) {} }
    // Locked now: a second writer is refused before the audit runs.
    let plotFile = try plot.map { try ReservedOutput($0) }
    // Interrupted, the audit leaves no unfinished plot file.
    StandardStream.onInterrupt(
      "\npoisonlab: interrupted\n",
      removing: plot.map { OutputPath.isStandardOutput($0) ? [] : [$0 + ".partial"] } ?? [])
    var experiment = Experiment(scenario: loaded, threads: threads)
    experiment.auditDirectory = auditDir
    let findings: AuditFindings
    do {
      findings = try experiment.auditSavedModel(model)
    } catch {
      Terminal.error("poisonlab: \(error)")
      throw ExitCode(error.exitCode)
    }
    if let plotFile {
      guard findings.method == STRIP.descriptor.name else {
        Terminal.error(
          "poisonlab: --plot draws strip's entropy histograms; \(findings.method) has none")
        throw ExitCode(Exit.invalid)
      }
      let svg = STRIP.histogram(
        findings, title: "STRIP on \(loaded.name): prediction entropy of blended inputs")
      try plotFile.finish(Array(svg.utf8))
    }
    // JSON carries every field, null included (as a run's summary does);
    // the table shows the measured ones.
    if format == "json" {
      Terminal.out(JSONValue.object(AuditFindings.fields(findings)).serialized() + "\n")
      return
    }
    let fields = AuditFindings.fields(findings).filter { $0.value != .null }
    var text = "audit of \(model) with \(findings.method) on \(loaded.name)'s data\n"
    for field in fields { text += "  \(field.key): \(field.value.serialized())\n" }
    Terminal.out(text)
  }
}
