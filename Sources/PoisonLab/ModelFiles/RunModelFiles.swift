/// The model files of a run (`--save-model`, `--init-model`,
/// `--checkpoint-every`/`--checkpoint-dir`).
public struct ModelFileOptions: Sendable, Equatable {
  /// Write the final model here.
  public var save: String?
  /// Start from this model.
  public var initial: String?
  /// Write `round-NNNN.safetensors` every this many rounds...
  public var checkpointEvery: Int?
  /// ...into this folder.
  public var checkpointDirectory: String?
  /// `save`, locked since the command started (the CLI's `--save-model`);
  /// without it the final model is locked only while it is written.
  public var reservedSave: ReservedFile?

  /// No model files.
  public init(
    save: String? = nil, initial: String? = nil, checkpointEvery: Int? = nil,
    checkpointDirectory: String? = nil
  ) {
    self.save = save
    self.initial = initial
    self.checkpointEvery = checkpointEvery
    self.checkpointDirectory = checkpointDirectory
  }

  /// The checkpoint file of `round` in `directory`.
  public static func checkpoint(_ directory: String, round: Int) -> String {
    roundStem(directory, round: round) + ".safetensors"
  }
}

/// `DIR/round-NNNN`: the stem of a round's files (checkpoints, update exports).
/// - Parameters:
///   - directory: the folder.
///   - round: the round (at least 4 digits, zero-padded).
/// - Returns: the path without extension.
func roundStem(_ directory: String, round: Int) -> String {
  let digits = String(round)
  return directory + "/round-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// What both runners share about model files: they attach here once.
extension Experiment {
  /// The model training starts from and the first round to run.
  ///
  /// The fresh model and round 1, or `--init-model`'s. A file saved by this scenario
  /// with this seed resumes after its round (so a run from a checkpoint
  /// continues as the uninterrupted run did; "this scenario" is the resolved
  /// scenario but for rounds, description, expect and evaluation, compared
  /// by SHA-256); any other file's weights start a run from round 1.
  /// - Throws: `.scenario` (exit 2) when the file does not fit the model,
  ///   `.data` (exit 3) when it cannot be read.
  func startingModel(_ fresh: [Float], network: Network, input: Shape) throws(RunFailure) -> (
    parameters: [Float], firstRound: Int
  ) {
    guard let path = modelFiles.initial else { return (fresh, 1) }
    let loaded = try loadModel(path, network: network, input: input, option: "--init-model ")
    let resumes = loaded.fingerprint == fingerprint && loaded.seed == scenario.seed
    guard !resumes || loaded.round < scenario.training.rounds else {
      throw .scenario(
        ScenarioErrors(
          source: scenario.name,
          errors: [
            ScenarioError(
              JSONPath.root.appending("training").appending("rounds"),
              "--init-model \(path) already holds round \(loaded.round) of this scenario; "
                + "raise training.rounds above it to train on")
          ]))
    }
    return (loaded.parameters, resumes ? loaded.round + 1 : 1)
  }

  /// A model file for this scenario's network, with its failures as run
  /// failures: exit 3 for a file that cannot be read, exit 2 (naming the
  /// tensor and both shapes) for one that does not fit the model.
  func loadModel(_ path: String, network: Network, input: Shape, option: String = "")
    throws(RunFailure) -> (
      parameters: [Float], round: Int, fingerprint: String?, seed: UInt64?, normalizer: Normalizer?
    )
  {
    do {
      return try ModelFile.load(path, network: network, input: input)
    } catch {
      switch error {
      case .data(let e): throw .data(e)
      case .mismatch(let file, let reason):
        throw .scenario(
          ScenarioErrors(
            source: scenario.name,
            errors: [ScenarioError(JSONPath.root.appending("model"), "\(option)\(file) \(reason)")])
        )
      }
    }
  }

  /// What a model file of this run records.
  func modelMetadata(round: Int, normalizer: Normalizer, samplingRates: [Double]? = nil)
    -> ModelFile.Metadata
  {
    ModelFile.Metadata(
      architecture: scenario.resolved["model"]?.serialized() ?? "{}", scenario: scenario.name,
      seed: scenario.seed, round: round, normalizer: normalizer, fingerprint: fingerprint,
      samplingRates: samplingRates)
  }

  /// The sampling rates of the rounds before a resume, from the
  /// `--init-model` file this run resumes from (nil: none recorded, or not
  /// `rounds` of them).
  /// - Parameter rounds: the rounds the file holds.
  /// - Returns: one rate per round.
  func resumedSamplingRates(rounds: Int) -> [Double]? {
    guard let path = modelFiles.initial,
      let text = Safetensors.metadata(ofFile: path)?["privacy_sampling_rates"],
      case .array(let items)? = try? JSONParser.parse(text)
    else { return nil }
    let rates = items.compactMap { item -> Double? in
      guard case .number(let q) = item, (0...1).contains(q) else { return nil }
      return q
    }
    return rates.count == rounds && items.count == rounds ? rates : nil
  }

  /// SHA-256 (hex) of the resolved scenario without what a longer or
  /// relabelled run may change: `training.rounds`, `description`, `expect`
  /// and `evaluation`.
  var fingerprint: String {
    guard case .object(let members) = scenario.resolved else { return "" }
    let kept: [JSONMember] = members.compactMap { member in
      switch member.key {
      case "description", "expect", "evaluation", "sweep": return nil
      case "training":
        guard case .object(let t) = member.value else { return member }
        return JSONMember("training", .object(t.filter { $0.key != "rounds" }))
      default: return member
      }
    }
    let digest = ChannelCrypto.sha256Hex(Array(JSONValue.object(kept).serialized().utf8))
    return digest
  }

  /// Writes the checkpoint of `round` when one is due.
  func checkpoint(
    round: Int, parameters: [Float], network: Network, input: Shape, normalizer: Normalizer,
    samplingRates: [Double]? = nil
  ) throws(RunFailure) {
    guard let every = modelFiles.checkpointEvery, let directory = modelFiles.checkpointDirectory,
      round % every == 0
    else { return }
    do {
      try ModelFile.save(
        parameters, network: network, input: input,
        metadata: modelMetadata(
          round: round, normalizer: normalizer, samplingRates: samplingRates),
        to: ModelFileOptions.checkpoint(directory, round: round))
    } catch {
      throw .output(error)
    }
  }

  /// Writes the final model when `--save-model` asks for it.
  func saveFinalModel(
    round: Int, parameters: [Float], network: Network, input: Shape, normalizer: Normalizer,
    samplingRates: [Double]? = nil
  ) throws(RunFailure) {
    guard let path = modelFiles.save else { return }
    let metadata = modelMetadata(
      round: round, normalizer: normalizer, samplingRates: samplingRates)
    do {
      if let reserved = modelFiles.reservedSave, reserved.path == path {
        try reserved.finish(
          ModelFile.encode(parameters, network: network, input: input, metadata: metadata))
      } else {
        try ModelFile.save(
          parameters, network: network, input: input, metadata: metadata, to: path)
      }
    } catch {
      throw .output(error)
    }
  }
}

/// What `--init-model` is to a run, read from the file's header alone.
public enum InitialModelState: Equatable, Sendable {
  /// No `--init-model`.
  case none
  /// It cannot be read (the run reports why, exit 3).
  case unreadable
  /// Saved by this scenario and seed after this round: the run resumes after it.
  case resumes(round: Int)
  /// Another scenario's or seed's weights: the run starts at round 1 from them.
  case startsOver
}

extension Experiment {
  /// What `--init-model` is to this run (header only; the tensors are
  /// checked when the run loads them).
  public func initialModelState() -> InitialModelState {
    guard let path = modelFiles.initial else { return .none }
    guard let header = Safetensors.metadata(ofFile: path) else { return .unreadable }
    // A round out of range is corrupt: loading the file reports it.
    if let text = header["round"], !(Int(text).map(ModelFile.rounds.contains) ?? false) {
      return .unreadable
    }
    guard header["scenario_sha256"] == fingerprint,
      header["seed"].flatMap({ UInt64($0) }) == scenario.seed,
      let round = header["round"].flatMap({ Int($0) })
    else { return .startsOver }
    return .resumes(round: round)
  }

  /// What this run carries from round to round that a model file does not hold.
  ///
  /// The safeguards' state, stateful defenses and attacks, a centralized run's momentum. Empty
  /// when the weights are the whole state.
  public var stateNotInModelFiles: [String] {
    var state: [String] = []
    if !scenario.safeguards.isEmpty {
      state.append(
        "the safeguards' state (quarantined clients and their flags, the monitor's histories, "
          + "the gate's last accepted accuracy, the models saved for a rollback)")
    }
    if scenario.federation == nil, scenario.training.optimizer.momentum != 0 {
      state.append("the optimiser's momentum")
    }
    state += scenario.defenses.compactMap(\.defense.stateAcrossRounds)
    state += scenario.attacks.compactMap(\.attack.stateAcrossRounds)
    return state
  }

  /// The warning a run resumed from a checkpoint prints when its weights are not its whole state
  /// (its rows then differ from the uninterrupted run's), or nil.
  public var resumeWarning: String? {
    // Only a run that will resume: pipelines refuse --init-model, and a file holding the last
    // round is refused too.
    guard scenario.pipeline == nil, case .resumes(let round) = initialModelState(),
      roundsToRun != nil, let path = modelFiles.initial
    else { return nil }
    let state = stateNotInModelFiles
    guard !state.isEmpty else { return nil }
    return "warning: resuming after round \(round) of \(path); a model file holds only the "
      + "weights, so these start empty: \(state.joined(separator: "; ")). The rows from round "
      + "\(round + 1) on can differ from an uninterrupted run's."
  }

  /// The rounds (a pipeline: cycles) this run will run: from round 1 (a
  /// pipeline: cycle 0), or after the round of an `--init-model` saved by
  /// this scenario and seed; nil when that file already holds the last.
  var roundsToRun: (first: Int, last: Int)? {
    let last = scenario.pipeline?.cycles ?? scenario.training.rounds
    var first = scenario.pipeline == nil ? 1 : 0
    if scenario.pipeline == nil, case .resumes(let round) = initialModelState() {
      first = round + 1
    }
    return first <= last ? (first, last) : nil
  }

  /// `--checkpoint-every` that would write no checkpoint in the rounds
  /// this run runs (an option parsed and then unused), or nil.
  var checkpointProblem: String? {
    guard let every = modelFiles.checkpointEvery, every > 0,
      modelFiles.checkpointDirectory != nil, let (first, last) = roundsToRun,
      !(first...last).contains(where: { $0 % every == 0 })
    else { return nil }
    let unit = scenario.pipeline == nil ? "rounds" : "cycles"
    return
      "--checkpoint-every \(every) would write no checkpoint: this run's \(unit) are \(first) to \(last), and none is a multiple of \(every); give a value that has a multiple there (any from \(first) to \(last) does)"
  }

  /// The files this run writes into its round folders, `--checkpoint-dir`
  /// (`round-NNNN.safetensors`) and `--save-updates` (`round-NNNN.npy`,
  /// `.json`, `.aggregate.npy`, `.server.npy`), for the rounds it will run: from
  /// round 1 (a pipeline: cycle 0), or after the round of an `--init-model`
  /// saved by this scenario and seed (read from its header; an unreadable
  /// file counts from the start and fails later with its own error).
  /// - Returns: (the folder option, the file) pairs, in round order.
  public func plannedRoundFiles() -> [(option: String, path: String)] {
    guard let (first, last) = roundsToRun else { return [] }
    var files: [(option: String, path: String)] = []
    if let every = modelFiles.checkpointEvery, every > 0,
      let directory = modelFiles.checkpointDirectory
    {
      for round in first...last where round % every == 0 {
        files.append(("--checkpoint-dir", ModelFileOptions.checkpoint(directory, round: round)))
      }
    }
    if let directory = updateExport, scenario.federation != nil {
      for round in first...last {
        let stem = roundStem(directory, round: round)
        for ending in [".npy", ".json", ".aggregate.npy", ".server.npy"] {
          files.append(("--save-updates", stem + ending))
        }
      }
    }
    return files
  }
}
