/// The `safeguards` block: what the operator does across rounds.
///
/// - `validation`: a gate that evaluates every new global model on held-out
///   clean data and rejects the round when it got worse (``ValidationGate``);
/// - `monitor`: signals computed every round from what the server sees,
///   with alarms (``SignalMonitor``);
/// - `quarantine`: clients flagged too often are never selected again
///   (``Quarantine``);
/// - `response`: what an alarm triggers, `rollback` or `retrain`
///   (``Response``).
public struct SafeguardSettings: Sendable, Equatable {
  /// The validation gate.
  public struct Validation: Sendable, Equatable {
    /// Clean training samples the server keeps.
    public var size: Int
    /// Largest accepted drop of validation accuracy from the last accepted model.
    public var maxDrop: Double
    /// Largest accepted drop of any class's validation accuracy (nil: not checked).
    public var perClassMaxDrop: Double?
    /// On a rejected round, test each update alone and flag those that fail.
    public var attribute: Bool = false
  }

  /// The monitor.
  public struct Monitor: Sendable, Equatable {
    /// The signals, by name, in the order given.
    public var signals: [String]
    /// Rounds of history a signal is compared with (and FLDetector's N).
    public var window: Int
    /// Robust z-score above which an alarm fires.
    public var threshold: Double
  }

  /// The quarantine rule.
  public struct Quarantine: Sendable, Equatable {
    /// Flags needed...
    public var after: Int
    /// ...within this many of the client's last participations.
    public var window: Int
    /// A defense-chain flag counts only when the update is at least this
    /// many times as far from the accepted updates' mean as the median
    /// received update (nil: every flag counts).
    public var minDistanceRatio: Double? = nil
  }

  /// The response to an alarm.
  public enum Response: String, Sendable, CaseIterable {
    /// Restore the model saved before the implicated round, quarantine the suspects, go on.
    case rollback
    /// Restart from the initial model without the suspects.
    case retrain
  }

  public var validation: Validation?
  public var monitor: Monitor?
  public var quarantine: Quarantine?
  public var response: Response?

  /// No safeguards.
  public init() {}

  /// Whether any safeguard is on.
  public var isEmpty: Bool {
    validation == nil && monitor == nil && quarantine == nil && response == nil
  }

  static let validationKeys: [ParameterSpec] = [
    ParameterSpec(
      "size", .integer(min: 10, max: 10_000_000), required: true,
      doc:
        "clean training samples the server keeps (class-proportional, removed from the clients' data)"
    ),
    ParameterSpec(
      "max_drop", .number(min: 0, max: 1, minOpen: false, maxOpen: false), default: .number(0.02),
      doc:
        "reject a round whose model's validation accuracy is this much below the last accepted model's"
    ),
    ParameterSpec(
      "per_class_max_drop", .number(min: 0, max: 1, minOpen: false, maxOpen: false),
      doc:
        "also reject it when any class's validation accuracy drops by more than this (default: not checked)"
    ),
    ParameterSpec(
      "attribute", .boolean, default: .bool(false),
      doc:
        "on a rejected round, apply each received update alone and flag the clients whose model fails the same test (they count for the quarantine)"
    ),
  ]

  static let monitorKeys: [ParameterSpec] = [
    ParameterSpec(
      "signals", .array(.choice(SignalMonitor.signalNames), minCount: 1, maxCount: nil),
      default: .array([.string("update_norm")]),
      doc: "what is watched: " + SignalMonitor.signalNames.joined(separator: ", ")),
    ParameterSpec(
      "window", .integer(min: 3, max: 1_000), default: .number(10),
      doc: "rounds of its own history a signal is compared with (FLDetector: its N)"),
    ParameterSpec(
      "threshold", .number(atLeast: 0, open: true),
      doc:
        "robust z-score, (x - median) / (1.4826 MAD), beyond which an alarm fires (default 3.5; z-scored signals only, not fldetector)"
    ),
  ]

  static let quarantineKeys: [ParameterSpec] = [
    ParameterSpec(
      "after", .integer(min: 1, max: 1_000), default: .number(3),
      doc:
        "flags (by the defense chain, the monitor or the gate's attribute) that shut a client out..."
    ),
    ParameterSpec(
      "window", .integer(min: 1, max: 1_000), default: .number(5),
      doc: "...within this many of its last participations"),
    ParameterSpec(
      "min_distance_ratio", .number(atLeast: 1, open: false),
      doc:
        "count a defense-chain flag only when the flagged update is at least this many times as far from the mean of the accepted updates as the median received update (default: every flag counts)"
    ),
  ]

  static let responseKeys: [ParameterSpec] = [
    ParameterSpec(
      "name", .choice(Response.allCases.map(\.rawValue)), required: true,
      doc:
        "rollback: restore the model saved before the implicated round and quarantine the suspects; "
        + "retrain: restart from the initial model without them")
  ]

  /// The block's keys.
  public static let keys: [ParameterSpec] = [
    ParameterSpec(
      "validation", .object(validationKeys),
      doc:
        "the gate: {\"size\": N, \"max_drop\": d, \"per_class_max_drop\": c, \"attribute\": false}"
    ),
    ParameterSpec(
      "monitor", .object(monitorKeys),
      doc: "signals and alarms: {\"signals\": [...], \"window\": w, \"threshold\": z}"),
    ParameterSpec(
      "quarantine", .object(quarantineKeys),
      doc: "never select again a client flagged in `after` of its last `window` participations"),
    ParameterSpec(
      "response", .object(responseKeys),
      doc: "what an alarm triggers: {\"name\": \"rollback\" | \"retrain\"}"),
  ]

  /// Reads a validated block.
  static func read(
    _ p: Parameters, context: ScenarioContext, validator: inout SchemaValidator
  ) -> SafeguardSettings? {
    var settings = SafeguardSettings()
    let errors = validator.errors.count
    if case .object(let members)? = p["validation"] {
      let v = Parameters(members: members, path: p.path("validation"), given: [])
      settings.validation = Validation(
        size: v.int("size") ?? 10, maxDrop: v.double("max_drop") ?? 0.02,
        perClassMaxDrop: v.double("per_class_max_drop"), attribute: v.bool("attribute") ?? false)
      if settings.validation?.attribute == true && context.pipeline {
        validator.fail(
          v.path("attribute"),
          "tests each client's update alone, and a pipeline cycle has no client updates; "
            + "its sources are screened by the source filters (provenance, roni)")
      }
    }
    if case .object(let members)? = p["monitor"] {
      let m = Parameters(members: members, path: p.path("monitor"), given: [])
      let signals: [String] =
        if case .array(let items)? = m["signals"] {
          items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        } else { ["update_norm"] }
      let repeated = signals.enumerated().filter { signals[..<$0.offset].contains($0.element) }
      for (index, signal) in repeated {
        validator.fail(m.path("signals").appending(index), "lists \(signal) twice")
      }
      if context.pipeline {
        let updates = signals.filter { SignalMonitor.updateSignals.contains($0) }
        if !updates.isEmpty {
          validator.fail(
            m.path("signals"),
            "\(updates.joined(separator: ", ")) \(updates.count == 1 ? "reads" : "read") client updates, which a pipeline has none of; "
              + "a pipeline watches \(SignalMonitor.signalNames.filter { !SignalMonitor.updateSignals.contains($0) }.joined(separator: ", "))"
          )
        }
      }
      for signal in Registry.signals where signals.contains(signal.descriptor.name) {
        let name = signal.descriptor.name
        // What its input needs: the gate's held-out set, or a pipeline's deliveries.
        if signal.input == .model && settings.validation == nil {
          validator.fail(
            m.path("signals"),
            "\(name) needs the held-out set of safeguards.validation; add {\"validation\": {\"size\": N}}"
          )
        }
        if signal.input == .newData && !context.pipeline {
          validator.fail(
            m.path("signals"),
            "\(name) watches the data each pipeline cycle brings; it needs a pipeline block")
        }
        if signal.comparesClients, let n = context.clientsPerRound, n < 3 {
          validator.fail(
            m.path("signals"),
            "\(signal.descriptor.name) compares the clients of a round and needs at least 3 per round, got \(n)"
          )
        }
        for problem in signal.problems(in: context) {
          validator.fail(m.path("signals"), problem)
        }
      }
      if validator.given(at: p.path("monitor")).contains("threshold"),
        !signals.isEmpty, signals.allSatisfy({ $0 == "fldetector" })
      {
        validator.fail(
          m.path("threshold"),
          "applies to the z-scored signals, and fldetector decides by its own gap statistic; remove it, or watch another signal too"
        )
      }
      settings.monitor = Monitor(
        signals: signals, window: m.int("window") ?? 10, threshold: m.double("threshold") ?? 3.5)
    }
    if p["quarantine"] != nil && context.pipeline && p["monitor"] == nil
      && !context.pipelineHasFilter
    {
      validator.fail(
        p.path("quarantine"),
        "in a pipeline, sources are flagged by a source filter (defense) or the monitor; with neither, the quarantine can never act"
      )
    }
    // Suspects come from the signals that read client updates; the model
    // signals (validation_accuracy, class_accuracy) suspect nobody.
    let monitorSuspects =
      settings.monitor?.signals.contains { SignalMonitor.updateSignals.contains($0) } ?? false
    if p["quarantine"] != nil && context.federated && !context.chainFlags && !monitorSuspects
      && settings.validation?.attribute != true
    {
      validator.fail(
        p.path("quarantine"),
        "counts flags, and nothing here flags a client: the defense chain (fedavg, mean, authenticate and filters that flag nothing) flags no update, and no monitor signal that reads client updates and no validation.attribute suspects one; add a robust defense or one of them"
      )
    }
    if case .object(let members)? = p["quarantine"] {
      let q = Parameters(members: members, path: p.path("quarantine"), given: [])
      let after = q.int("after") ?? 3
      let window = q.int("window") ?? 5
      if after > window {
        validator.fail(
          q.path("after"),
          "must be at most window (\(window)), got \(after); no client could ever be quarantined")
      }
      settings.quarantine = Quarantine(
        after: after, window: window, minDistanceRatio: q.double("min_distance_ratio"))
      if q["min_distance_ratio"] != nil && context.pipeline {
        validator.fail(
          q.path("min_distance_ratio"),
          "measures client updates, and a pipeline has none; its sources are flagged by the source filters"
        )
      }
    }
    if case .string(let name)? = p["response"]?["name"] {
      settings.response = Response(rawValue: name)
      if settings.monitor == nil {
        validator.fail(
          p.path("response"),
          "responds to alarms, which only a monitor raises; add safeguards.monitor")
      }
    }
    let parsed = validator.errors.count == errors
    // Settings that can never act in this many rounds or cycles (reported
    // without hiding the checks the parsed settings feed further on). A
    // federated run reviews rounds 1...R; a pipeline reviews cycles 0...C
    // (the initial training included).
    let horizon: (reviews: Int, first: Int, unit: String, key: String, watched: String)?
    if context.federated, let rounds = context.rounds {
      horizon = (rounds, 1, "round", "training.rounds is \(rounds)", "client")
    } else if context.pipeline, let cycles = context.cycles {
      horizon = (
        cycles + 1, 0, "cycle",
        "pipeline.cycles is \(cycles) (\(cycles + 1) cycles with the initial training, cycle 0)",
        "source"
      )
    } else {
      horizon = nil
    }
    if let horizon {
      let (reviews, first, unit, key, watched) = horizon
      if let window = settings.monitor?.window {
        // A signal is compared with its last `window` reviews (FLDetector
        // also needs a first prediction): before that nothing can fire.
        // fldetector needs a first prediction, new_data_loss a first
        // delivery (cycle 1): alone, they alarm a review later.
        let late =
          settings.monitor?.signals.allSatisfy { $0 == "fldetector" || $0 == "new_data_loss" }
          == true
        let firstAlarm = window + (late ? 1 : 0)
        if firstAlarm >= reviews {
          validator.fail(
            p.path("monitor").appending("window"),
            "\(window) leaves no \(unit) to watch: the first alarm can come in \(unit) \(firstAlarm + first), and \(key); lower the window or add \(unit)s"
          )
        }
      }
      if let after = settings.quarantine?.after, after > reviews {
        validator.fail(
          p.path("quarantine").appending("after"),
          "\(after) flags need at least \(after) \(unit)s, and \(key); no \(watched) could ever be quarantined"
        )
      }
    }
    return parsed ? settings : nil
  }
}
