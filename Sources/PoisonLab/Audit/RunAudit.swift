/// The audit stage both runners attach after training.
extension Experiment {
  /// The probe an audit judges its finding by.
  ///
  /// The first backdoor's (a data poisoning whose probe reports robust
  /// accuracy), on the raw test set, its inputs normalised; nil without an
  /// audit or a backdoor. It differs from the run's `attack_success` probe (the first targeted
  /// attack's) when a label flip comes before the backdoor.
  /// - Parameters:
  ///   - rawTest: the test set before normalisation.
  ///   - normalizer: the run's normalisation.
  /// - Returns: the probe.
  func auditProbe(rawTest: Dataset, normalizer: Normalizer) -> AttackProbe? {
    guard scenario.audit != nil else { return nil }
    for entry in scenario.attacks {
      guard let poisoning = entry.attack as? any DataPoisoning,
        var probe = poisoning.probe(test: rawTest), probe.reportsRobustAccuracy
      else { continue }
      normalizer.apply(to: &probe.inputs)
      return probe
    }
    return nil
  }

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
