/// `poisonlab audit MODEL --scenario S --method M`: an audit of a saved model
/// on the scenario's data.
extension Experiment {
  /// Audits the model in `file` with the scenario's `audit` block, on the
  /// scenario's clean test set and, when the scenario holds a backdoor, its
  /// triggered test inputs, normalised as the model file says (or as a
  /// centralized run of the scenario would).
  /// - Parameter file: a safetensors file from `--save-model`.
  /// - Returns: the findings.
  /// - Throws: `RunFailure`: `.scenario` when the file does not fit the model
  ///   or the scenario has no audit, `.data` when a file cannot be read.
  public func auditSavedModel(_ file: String) throws(RunFailure) -> AuditFindings {
    BLAS.setThreads(1)
    var (train, test) = try loadData()
    let network = scenario.model.build(input: test.shape, classes: test.classes)
    let loaded = try loadModel(file, network: network, input: test.shape)
    let normalizer = loaded.normalizer ?? self.normalizer(fittedTo: train)
    let probe = auditProbe(rawTest: test, normalizer: normalizer)
    normalizer.apply(to: &test)
    // Finite offsets and factors can still overflow on these inputs.
    guard test.features.allSatisfy(\.isFinite) else {
      throw .data(
        .corrupt(
          file: file,
          reason:
            "its normalization turns the scenario's test inputs into infinite or NaN values; it does not belong to this data"
        ))
    }
    train = Dataset(
      features: [], labels: [], shape: train.shape, classes: train.classes, isImage: train.isImage)
    guard
      let findings = try runAudit(
        parameters: loaded.parameters, network: network, test: test, probe: probe,
        normalizer: normalizer)
    else {
      throw .scenario(
        ScenarioErrors(
          source: scenario.name,
          errors: [ScenarioError(JSONPath.root.appending("audit"), "no audit method given")]))
    }
    return findings
  }
}
