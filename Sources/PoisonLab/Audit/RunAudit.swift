/// The audit stage both runners attach after training.
extension Experiment {
  /// Runs the scenario's audit on the final model, or nil without one.
  func runAudit(
    parameters: [Float], network: Network, test: Dataset, probe: AttackProbe?,
    normalizer: Normalizer
  ) throws(RunFailure) -> AuditFindings? {
    guard let audit = scenario.audit else { return nil }
    let findings = try audit.audit(
      AuditInput(
        network: network, parameters: parameters, test: test, probe: probe, normalizer: normalizer,
        training: scenario.training, seeds: SeedTree(scenario.seed), threads: threads))
    if let directory = auditDirectory {
      for picture in findings.pictures(title: scenario.name) {
        do {
          try AtomicFile.write(picture.bytes, to: directory + "/" + picture.name)
        } catch {
          throw .output(error)
        }
      }
    }
    return findings
  }
}
