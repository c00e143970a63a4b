import Foundation

/// A way to train a scenario's model: ``CentralizedRun``, ``PipelineRun``
/// or ``FederatedSimulation``, chosen by ``Experiment/run(progress:emit:)``.
///
/// A runner trains and emits one record per evaluated round; what follows
/// training (the final model file, the audit, the summary) is
/// ``Experiment/finish(_:emit:)``'s, written once for every runner.
protocol Runner {
  /// Trains, handing each round record to `emit`.
  /// - Parameters:
  ///   - progress: called with progress events.
  ///   - emit: receives each round record.
  /// - Returns: the trained model and what the summary needs.
  /// - Throws: `RunFailure`; records emitted before the failure stand.
  func train(
    progress: ((ProgressEvent) -> Void)?, emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> TrainedModel
}

/// What a runner hands to the stages after training.
struct TrainedModel {
  /// The final model's weights and architecture.
  var parameters: [Float]
  var network: Network
  /// The round (or pipeline cycle) the model is at: its file's metadata and
  /// the summary's round when no round was evaluated (a run resumed at its end).
  var round: Int
  /// The training input's shape and normalisation (written into the model file).
  var input: Shape
  var normalizer: Normalizer
  /// Per-round client sampling rates, for a model file of a run with dp.
  var samplingRates: [Double]?
  /// The test set and the attack's probes (evaluation and audit).
  var test: Dataset
  var probe: AttackProbe?
  var auditProbe: AttackProbe?
  var evaluators: [Evaluator]
  /// The last evaluated round's record, nil when none ran.
  var last: MetricRecord?
  /// When the run started.
  var started: ContinuousClock.Instant
  /// Malicious and flagged items over the run, and the rounds run.
  var maliciousTotal: Int
  var flaggedTotal: Int
  var ran: Int
  /// The runner's own summary figures (channel, safeguards, sources).
  var totals: (inout MetricRecord.Totals) -> Void = { _ in }
}

extension Experiment {
  /// After training, for every runner: writes `--save-model`, runs the
  /// scenario's audit, and emits the summary.
  /// - Parameters:
  ///   - trained: what the runner returned.
  ///   - emit: receives the summary.
  /// - Returns: the summary record.
  /// - Throws: `RunFailure`.
  func finish(
    _ trained: TrainedModel, emit: (MetricRecord) throws(SinkError) -> Void
  ) throws(RunFailure) -> MetricRecord {
    try saveFinalModel(
      round: trained.round, parameters: trained.parameters, network: trained.network,
      input: trained.input, normalizer: trained.normalizer, samplingRates: trained.samplingRates)
    let audit = try runAudit(
      parameters: trained.parameters, network: trained.network, test: trained.test,
      probe: trained.auditProbe, normalizer: trained.normalizer)
    let last =
      trained.last
      ?? evaluate(
        parameters: trained.parameters, test: trained.test, probe: trained.probe,
        evaluators: trained.evaluators, round: trained.round)
    let summary = summarize(
      last: last, seconds: (ContinuousClock.now - trained.started).inSeconds,
      maliciousTotal: trained.maliciousTotal, flaggedTotal: trained.flaggedTotal, ran: trained.ran
    ) { totals in
      trained.totals(&totals)
      totals.audit = audit
    }
    do { try emit(summary) } catch { throw .output(error) }
    return summary
  }
}
