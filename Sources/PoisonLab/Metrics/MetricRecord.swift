/// One output record: a `round` (an evaluated round) or the final `summary`.
///
/// Field names and meanings are the scenario contract's; every output format
/// carries exactly these fields, in this order (``fields``).
public struct MetricRecord: Sendable, Equatable {
  /// `round`, `summary`, or `alarm` (a monitor alarm, with ``alarm``).
  public enum Kind: String, Sendable {
    case round
    case summary
    case alarm
  }

  /// What the safeguards did in a round (nil without a `safeguards` block).
  public struct SafeguardFigures: Sendable, Equatable {
    /// `accepted` or `rejected` by the validation gate (nil without one).
    public var gate: String?
    /// The candidate model's accuracy on the gate's held-out set (nil without a gate).
    public var validationAccuracy: Double? = nil
    /// The signals that raised an alarm this round.
    public var alarms: [String]
    /// Clients quarantined so far.
    public var quarantined: Int
    /// Honest clients among them.
    public var falseQuarantined: Int
  }

  /// The safeguards' totals of a run.
  public struct SafeguardTotals: Sendable, Equatable {
    /// The first round with an alarm (nil: none).
    public var firstAlarmRound: Int?
    /// `firstAlarmRound` less the first round an attacker's message arrived (nil: no alarm or no
    /// attack).
    public var timeToDetect: Int?
    /// Alarms in rounds in which no malicious message arrived.
    public var falseAlarms: Int
    /// Responses (rollbacks or restarts).
    public var rollbacks: Int
    /// Rounds of training the responses discarded.
    public var recoveryRounds: Int
    /// Rounds the validation gate rejected.
    public var rejectedRounds: Int
  }

  /// What the update channel did with a round's messages (federated runs).
  public struct ChannelCounts: Sendable, Equatable {
    /// Messages received.
    public var messages = 0
    /// Rejected: the signature did not verify.
    public var rejectedSignature = 0
    /// Rejected: a past round or model.
    public var rejectedStale = 0
    /// Rejected: an id that is not enrolled.
    public var rejectedUnknown = 0
    /// Rejected: a second message from one id in a round.
    public var rejectedDuplicate = 0
    /// Honest messages the channel rejected.
    public var honestDropped = 0

    /// Creates zero counts.
    public init() {}

    /// Every rejection.
    public var rejected: Int {
      rejectedSignature + rejectedStale + rejectedUnknown + rejectedDuplicate
    }

    /// Adds another round's counts.
    public mutating func add(_ other: ChannelCounts) {
      messages += other.messages
      rejectedSignature += other.rejectedSignature
      rejectedStale += other.rejectedStale
      rejectedUnknown += other.rejectedUnknown
      rejectedDuplicate += other.rejectedDuplicate
      honestDropped += other.honestDropped
    }
  }

  /// A round of secure aggregation.
  public struct SecureAggregationFigures: Sendable, Equatable {
    /// Fewer than `threshold` clients survived: the round was skipped.
    public var failed: Bool
    /// Clients that dropped (early or late).
    public var dropped: Int
    /// Mean seconds of protocol work per client.
    public var clientSeconds: Double
    /// Seconds of the server's unmasking.
    public var serverSeconds: Double
    /// Mean bytes each client sent for the protocol.
    public var bytesPerClient: Double
  }

  /// Totals only the summary carries.
  public struct Totals: Sendable, Equatable {
    /// Rounds (epochs) run.
    public var rounds: Int
    /// Wall-clock seconds of the whole run (training and evaluation).
    public var totalSeconds: Double
    /// `totalSeconds / rounds`.
    public var meanSecondsPerRound: Double
    /// Malicious items summed over the rounds (poisoned samples in centralized runs).
    public var maliciousTotal: Int
    /// Items the defenses flagged, summed over the rounds.
    public var flaggedTotal: Int
    /// Updates the defenses kept with less weight or a smaller norm, summed
    /// over the rounds (nil in centralized runs and with secure aggregation).
    public var downweightedTotal: Int? = nil
    /// Whether every `expect` threshold held (nil: no `expect`).
    public var expectPassed: Bool?
    /// The thresholds missed, as text.
    public var expectMisses: [String]
    /// The run's configuration (``Experiment/configID``): equal for runs
    /// of one scenario that differ only in the seed.
    public var configID: String? = nil
    /// The channel's counts over every round (nil in centralized runs).
    public var channel: ChannelCounts? = nil
    /// Rounds secure aggregation could not unmask (nil without it).
    public var secureAggregationFailedRounds: Int? = nil
    /// The safeguards' totals (nil without a `safeguards` block).
    public var safeguards: SafeguardTotals? = nil
    /// What the scenario's audit found (nil without an `audit` block).
    public var audit: AuditFindings? = nil
    /// Pipelines with a source filter: the sources it rejected data of (any delivery), by name.
    public var flaggedSources: [String]? = nil
    /// Pipelines with a source filter: flagged sources the attack poisoned / flagged sources (nil
    /// when none was flagged).
    public var sourceDetectionPrecision: Double? = nil
    /// Pipelines with a source filter: flagged sources the attack poisoned / sources it poisoned
    /// (nil when it poisoned none).
    public var sourceDetectionRecall: Double? = nil
    /// Pipelines with a source filter: rejected untrusted deliveries (a source's data in one
    /// cycle) that held poisoned samples / rejected deliveries (nil when undefined).
    public var deliveryDetectionPrecision: Double? = nil
    /// Pipelines with a source filter: rejected poisoned deliveries / poisoned deliveries (nil
    /// when undefined).
    public var deliveryDetectionRecall: Double? = nil
  }

  /// Record type.
  public var kind: Kind
  /// The scenario's `name`.
  public var scenario: String
  /// The round (epoch in centralized runs), from 1.
  public var round: Int
  /// Clean test accuracy of the model.
  public var accuracy: Double
  /// Mean test cross-entropy.
  public var loss: Double
  /// Targeted attacks' success rate (see the attack), nil for untargeted or no attack.
  public var attackSuccess: Double?
  /// Backdoors: triggered test samples classified as their true label.
  public var robustAccuracy: Double?
  /// Malicious items this round (poisoned training samples in centralized runs).
  public var malicious: Int
  /// Items the defenses rejected this round.
  public var flagged: Int
  /// Flagged items that were malicious / flagged (nil when undefined).
  public var detectionPrecision: Double?
  /// Flagged malicious items / malicious (nil when undefined or no defense).
  public var detectionRecall: Double?
  /// Differential privacy spent so far at the `dp` defense's delta (nil without `dp`).
  public var epsilon: Double?
  /// The channel's counts this round (nil in centralized runs).
  public var channel: ChannelCounts? = nil
  /// Secure aggregation this round (nil without it).
  public var secureAggregation: SecureAggregationFigures? = nil
  /// The safeguards this round (nil without them).
  public var safeguards: SafeguardFigures? = nil
  /// The alarm of an `alarm` record.
  public var alarm: Alarm? = nil
  /// Federated runs: the ids of the clients whose messages were rejected
  /// or flagged this round, ascending (nil in centralized runs).
  public var flaggedClients: [Int]? = nil
  /// Federated runs: the ids of the clients whose updates a defense kept
  /// but scaled down or gave less weight (``DefenseOutcome/downweighted``),
  /// flagged by none, ascending (nil in centralized runs and with secure
  /// aggregation, where the server sees no single update).
  public var downweightedClients: [Int]? = nil
  /// Test accuracy of each class (every evaluated round, and the summary);
  /// nil for a class without test samples (not applicable).
  public var classAccuracy: [Double?]? = nil
  /// The test confusion matrix, `[true class][predicted class]` (written on the summary).
  public var confusion: [[Int]]? = nil
  /// Wall-clock seconds of this round (training and evaluation).
  public var seconds: Double
  /// Summary totals (nil for rounds).
  public var totals: Totals?

  /// Creates a record.
  /// - Parameters:
  ///   - kind: round or summary.
  ///   - scenario: the scenario name.
  ///   - round: the round.
  ///   - accuracy: clean test accuracy.
  ///   - loss: mean test loss.
  ///   - attackSuccess: success rate of a targeted attack.
  ///   - robustAccuracy: backdoor robust accuracy.
  ///   - malicious: malicious items.
  ///   - flagged: flagged items.
  ///   - detectionPrecision: detection precision.
  ///   - detectionRecall: detection recall.
  ///   - epsilon: privacy spent so far.
  ///   - seconds: wall-clock seconds of the round.
  ///   - totals: summary totals.
  public init(
    kind: Kind, scenario: String, round: Int, accuracy: Double, loss: Double,
    attackSuccess: Double?, robustAccuracy: Double?, malicious: Int, flagged: Int,
    detectionPrecision: Double?, detectionRecall: Double?, epsilon: Double? = nil, seconds: Double,
    totals: Totals? = nil
  ) {
    self.kind = kind
    self.scenario = scenario
    self.round = round
    self.accuracy = accuracy
    self.loss = loss
    self.attackSuccess = attackSuccess
    self.robustAccuracy = robustAccuracy
    self.malicious = malicious
    self.flagged = flagged
    self.detectionPrecision = detectionPrecision
    self.detectionRecall = detectionRecall
    self.epsilon = epsilon
    self.seconds = seconds
    self.totals = totals
  }

  /// Every metric name `expect` may test, with what it means.
  public static let metricNames: [String] = [
    "accuracy", "loss", "attack_success", "robust_accuracy", "malicious", "flagged",
    "downweighted", "detection_precision", "detection_recall", "epsilon", "messages",
    "rejected_signature",
    "rejected_stale", "rejected_unknown", "rejected_duplicate", "honest_dropped", "quarantined",
    "false_quarantined", "first_alarm_round", "time_to_detect", "false_alarms", "rollbacks",
    "recovery_rounds", "gate_rejected_rounds", "secure_aggregation_failed_rounds",
    "audit_false_rejection", "audit_false_acceptance", "audit_accuracy_after",
    "audit_attack_success_after", "audit_pruned", "audit_anomaly_index",
    "source_detection_precision", "source_detection_recall", "delivery_detection_precision",
    "delivery_detection_recall",
  ]

  /// The value of a metric by name (nil when null or unknown).
  /// - Parameter name: a name from `metricNames`.
  /// - Returns: the value of a metric by name (nil when null or unknown).
  public func metric(_ name: String) -> Double? {
    switch name {
    case "accuracy": return accuracy
    case "loss": return loss
    case "attack_success": return attackSuccess
    case "robust_accuracy": return robustAccuracy
    case "malicious": return Double(malicious)
    case "flagged": return Double(flagged)
    case "downweighted": return downweightedClients.map { Double($0.count) }
    case "detection_precision": return detectionPrecision
    case "detection_recall": return detectionRecall
    case "epsilon": return epsilon
    case "messages": return channel.map { Double($0.messages) }
    case "rejected_signature": return channel.map { Double($0.rejectedSignature) }
    case "rejected_stale": return channel.map { Double($0.rejectedStale) }
    case "rejected_unknown": return channel.map { Double($0.rejectedUnknown) }
    case "rejected_duplicate": return channel.map { Double($0.rejectedDuplicate) }
    case "honest_dropped": return channel.map { Double($0.honestDropped) }
    case "quarantined": return safeguards.map { Double($0.quarantined) }
    case "false_quarantined": return safeguards.map { Double($0.falseQuarantined) }
    case "first_alarm_round": return totals?.safeguards?.firstAlarmRound.map(Double.init)
    case "time_to_detect": return totals?.safeguards?.timeToDetect.map(Double.init)
    case "false_alarms": return totals?.safeguards.map { Double($0.falseAlarms) }
    case "rollbacks": return totals?.safeguards.map { Double($0.rollbacks) }
    case "recovery_rounds": return totals?.safeguards.map { Double($0.recoveryRounds) }
    case "gate_rejected_rounds": return totals?.safeguards.map { Double($0.rejectedRounds) }
    case "secure_aggregation_failed_rounds":
      return totals?.secureAggregationFailedRounds.map(Double.init)
    case "audit_false_rejection": return totals?.audit?.falseRejection
    case "audit_false_acceptance": return totals?.audit?.falseAcceptance
    case "audit_accuracy_after": return totals?.audit?.accuracyAfter
    case "audit_attack_success_after": return totals?.audit?.attackSuccessAfter
    case "audit_pruned": return totals?.audit?.pruned.map(Double.init)
    case "audit_anomaly_index": return totals?.audit?.anomalyIndex
    case "source_detection_precision": return totals?.sourceDetectionPrecision
    case "source_detection_recall": return totals?.sourceDetectionRecall
    case "delivery_detection_precision": return totals?.deliveryDetectionPrecision
    case "delivery_detection_recall": return totals?.deliveryDetectionRecall
    default: return nil
    }
  }

  /// The column names of every record type, in output order (CSV header).
  public static let columns: [String] = [
    "type", "scenario", "round", "accuracy", "loss", "attack_success", "robust_accuracy",
    "malicious", "flagged", "flagged_clients", "downweighted", "downweighted_clients",
    "detection_precision", "detection_recall",
    "epsilon", "messages",
    "rejected_signature", "rejected_stale", "rejected_unknown", "rejected_duplicate",
    "honest_dropped", "secure_aggregation_failed", "secagg_dropped", "secagg_client_seconds",
    "secagg_server_seconds", "secagg_bytes_per_client", "gate", "validation_accuracy", "alarms",
    "quarantined",
    "false_quarantined", "class_accuracy", "signal", "value", "score", "threshold", "suspected",
    "seconds", "config_id", "rounds",
    "total_seconds",
    "mean_seconds_per_round", "malicious_total", "flagged_total", "downweighted_total",
    "messages_total",
    "rejected_signature_total", "rejected_stale_total", "rejected_unknown_total",
    "rejected_duplicate_total", "honest_dropped_total", "secure_aggregation_failed_rounds",
    "first_alarm_round", "time_to_detect", "false_alarms", "rollbacks", "recovery_rounds",
    "gate_rejected_rounds", "flagged_sources", "source_detection_precision",
    "source_detection_recall", "delivery_detection_precision", "delivery_detection_recall",
    "confusion_matrix", "audit",
    "audit_flagged_classes", "audit_detected", "audit_false_positive", "audit_mask_norms",
    "audit_anomaly_indices", "audit_anomaly_index", "audit_unreversed_classes", "audit_threshold",
    "audit_false_rejection", "audit_false_acceptance", "audit_pruned", "audit_accuracy_before",
    "audit_accuracy_after", "audit_attack_success_before", "audit_attack_success_after",
    "expect_passed",
    "expect_misses",
  ]

  /// The record's fields in output order; summary-only fields only on the summary.
  public var fields: [JSONMember] {
    func number(_ x: Double?) -> JSONValue { x.map { .number($0) } ?? .null }
    if kind == .alarm, let alarm {
      return [
        JSONMember("type", .string(kind.rawValue)),
        JSONMember("scenario", .string(scenario)),
        JSONMember("round", .number(Double(round))),
        JSONMember("signal", .string(alarm.signal)),
        JSONMember("value", number(alarm.value.isFinite ? alarm.value : nil)),
        JSONMember("score", number(alarm.score.isFinite ? alarm.score : nil)),
        JSONMember("threshold", .number(alarm.threshold)),
        JSONMember("suspected", .array(alarm.suspected.map { .number(Double($0)) })),
      ]
    }
    var out: [JSONMember] = [
      JSONMember("type", .string(kind.rawValue)),
      JSONMember("scenario", .string(scenario)),
      JSONMember("round", .number(Double(round))),
      JSONMember("accuracy", .number(accuracy)),
      JSONMember("loss", .number(loss)),
      JSONMember("attack_success", number(attackSuccess)),
      JSONMember("robust_accuracy", number(robustAccuracy)),
      JSONMember("malicious", .number(Double(malicious))),
      JSONMember("flagged", .number(Double(flagged))),
      JSONMember(
        "flagged_clients", flaggedClients.map { .array($0.map { .number(Double($0)) }) } ?? .null),
      JSONMember("downweighted", downweightedClients.map { .number(Double($0.count)) } ?? .null),
      JSONMember(
        "downweighted_clients",
        downweightedClients.map { .array($0.map { .number(Double($0)) }) } ?? .null),
      JSONMember("detection_precision", number(detectionPrecision)),
      JSONMember("detection_recall", number(detectionRecall)),
      JSONMember("epsilon", number(epsilon)),
    ]
    func count(_ x: Int?) -> JSONValue { x.map { .number(Double($0)) } ?? .null }
    out += [
      JSONMember("messages", count(channel?.messages)),
      JSONMember("rejected_signature", count(channel?.rejectedSignature)),
      JSONMember("rejected_stale", count(channel?.rejectedStale)),
      JSONMember("rejected_unknown", count(channel?.rejectedUnknown)),
      JSONMember("rejected_duplicate", count(channel?.rejectedDuplicate)),
      JSONMember("honest_dropped", count(channel?.honestDropped)),
      JSONMember(
        "secure_aggregation_failed", secureAggregation.map { .bool($0.failed) } ?? .null),
      JSONMember("secagg_dropped", count(secureAggregation?.dropped)),
      JSONMember("secagg_client_seconds", number(secureAggregation?.clientSeconds)),
      JSONMember("secagg_server_seconds", number(secureAggregation?.serverSeconds)),
      JSONMember("secagg_bytes_per_client", number(secureAggregation?.bytesPerClient)),
      JSONMember("gate", safeguards?.gate.map { .string($0) } ?? .null),
      JSONMember("validation_accuracy", number(safeguards?.validationAccuracy)),
      JSONMember("alarms", safeguards.map { .array($0.alarms.map { .string($0) }) } ?? .null),
      JSONMember("quarantined", count(safeguards?.quarantined)),
      JSONMember("false_quarantined", count(safeguards?.falseQuarantined)),
      JSONMember(
        "class_accuracy",
        classAccuracy.map { .array($0.map { $0.map(JSONValue.number) ?? .null }) } ?? .null),
      JSONMember("seconds", .number(seconds)),
    ]
    if let totals {
      out += [
        JSONMember("config_id", totals.configID.map { .string($0) } ?? .null),
        JSONMember("rounds", .number(Double(totals.rounds))),
        JSONMember("total_seconds", .number(totals.totalSeconds)),
        JSONMember("mean_seconds_per_round", .number(totals.meanSecondsPerRound)),
        JSONMember("malicious_total", .number(Double(totals.maliciousTotal))),
        JSONMember("flagged_total", .number(Double(totals.flaggedTotal))),
        JSONMember("downweighted_total", count(totals.downweightedTotal)),
        JSONMember("messages_total", count(totals.channel?.messages)),
        JSONMember("rejected_signature_total", count(totals.channel?.rejectedSignature)),
        JSONMember("rejected_stale_total", count(totals.channel?.rejectedStale)),
        JSONMember("rejected_unknown_total", count(totals.channel?.rejectedUnknown)),
        JSONMember("rejected_duplicate_total", count(totals.channel?.rejectedDuplicate)),
        JSONMember("honest_dropped_total", count(totals.channel?.honestDropped)),
        JSONMember(
          "secure_aggregation_failed_rounds", count(totals.secureAggregationFailedRounds)),
        JSONMember("first_alarm_round", count(totals.safeguards?.firstAlarmRound)),
        JSONMember("time_to_detect", count(totals.safeguards?.timeToDetect)),
        JSONMember("false_alarms", count(totals.safeguards?.falseAlarms)),
        JSONMember("rollbacks", count(totals.safeguards?.rollbacks)),
        JSONMember("recovery_rounds", count(totals.safeguards?.recoveryRounds)),
        JSONMember("gate_rejected_rounds", count(totals.safeguards?.rejectedRounds)),
        JSONMember(
          "flagged_sources", totals.flaggedSources.map { .array($0.map { .string($0) }) } ?? .null),
        JSONMember("source_detection_precision", number(totals.sourceDetectionPrecision)),
        JSONMember("source_detection_recall", number(totals.sourceDetectionRecall)),
        JSONMember("delivery_detection_precision", number(totals.deliveryDetectionPrecision)),
        JSONMember("delivery_detection_recall", number(totals.deliveryDetectionRecall)),
        JSONMember(
          "confusion_matrix",
          confusion.map { .array($0.map { .array($0.map { .number(Double($0)) }) }) } ?? .null),
      ]
      out += AuditFindings.fields(totals.audit)
      out += [
        JSONMember("expect_passed", totals.expectPassed.map { .bool($0) } ?? .null),
        JSONMember("expect_misses", .array(totals.expectMisses.map { .string($0) })),
      ]
    }
    return out
  }
}
