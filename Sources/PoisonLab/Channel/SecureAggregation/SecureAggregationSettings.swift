/// The `channel.secure_aggregation` block.
///
/// Only `pairwise-masking` (``PairwiseMasking``) exists. Under secure
/// aggregation the server sees masked vectors only, so a defense that needs
/// the individual updates cannot run (see ``Defense/secureAggregation``).
public struct SecureAggregationSettings: Sendable, Equatable {
  /// The protocols, by name.
  public static let names = ["pairwise-masking"]
  /// Largest clients per round (the protocol is quadratic in them).
  public static let maxClients = 1_000

  /// Survivors needed to unmask (t of Shamir's t-of-n).
  public var threshold: Int
  /// Probability that a selected client drops after sending its masked input
  /// (its input counts; its self-mask is recovered from shares).
  public var dropout: Double
  /// Probability that a selected client drops after sharing its keys and
  /// before sending its masked input (its update is lost; its pairwise masks
  /// are removed with its masking key recovered from shares).
  public var earlyDropout: Double
  /// Bits of the ring Z_(2^bits).
  public var bits: Int
  /// Coordinates are clipped to [-clip, clip] before encoding.
  public var clip: Double

  /// Creates settings.
  /// - Parameters:
  ///   - threshold: t.
  ///   - dropout: late dropout probability.
  ///   - earlyDropout: early dropout probability.
  ///   - bits: ring bits.
  ///   - clip: the clipping bound.
  public init(
    threshold: Int, dropout: Double = 0, earlyDropout: Double = 0, bits: Int = 32, clip: Double = 1
  ) {
    self.threshold = threshold
    self.dropout = dropout
    self.earlyDropout = earlyDropout
    self.bits = bits
    self.clip = clip
  }

  /// The block's keys.
  public static let keys: [ParameterSpec] = [
    ParameterSpec(
      "name", .choice(names), required: true,
      doc: "the protocol: pairwise-masking (Bonawitz et al. 2017)"),
    ParameterSpec(
      "threshold", .integer(min: 2, max: 100_000),
      doc: "t: surviving clients needed to unmask (default: half the clients per round, plus one)"),
    ParameterSpec(
      "dropout", .number(min: 0, max: 1, minOpen: false, maxOpen: true), default: .number(0),
      doc: "probability that a selected client drops after sending its masked input"),
    ParameterSpec(
      "early_dropout", .number(min: 0, max: 1, minOpen: false, maxOpen: true), default: .number(0),
      doc:
        "probability that a selected client drops after sharing keys, before its masked input (its update is lost)"
    ),
    ParameterSpec(
      "bits", .integer(min: 16, max: 48), default: .number(32),
      doc:
        "the ring Z_(2^bits) of the fixed-point encoding (up to 48, so that encoding in double precision stays exact to half a unit)"
    ),
    ParameterSpec(
      "clip", .number(atLeast: 0, open: true), default: .number(1),
      doc: "every coordinate of the (weighted) update is clipped to [-clip, clip] before encoding"),
  ]

  /// Reads the block.
  static func read(
    _ value: JSONValue, at path: JSONPath, context: ScenarioContext,
    validator: inout SchemaValidator
  ) -> (SecureAggregationSettings, JSONValue)? {
    guard let p = validator.object(value, keys, at: path, context: "for secure_aggregation") else {
      return nil
    }
    let perRound = context.clientsPerRound ?? 2
    let threshold = p.int("threshold") ?? (perRound / 2 + 1)
    var problems = false
    if threshold > perRound {
      validator.fail(
        p.path("threshold"),
        "must be at most the \(perRound) clients per round, got \(threshold); no round could ever be unmasked"
      )
      problems = true
    }
    if perRound > Self.maxClients {
      validator.fail(
        path,
        "pairwise masking makes about 3 n^2 key agreements and n^2 encrypted shares per round; "
          + "\(perRound) clients per round is more than the \(Self.maxClients) it takes "
          + "(SecAgg+'s sparse graph, Bell et al. 2020, is not implemented)")
      problems = true
    }
    if perRound < 2 {
      validator.fail(
        path, "needs at least 2 clients per round (pairwise masks need pairs), got \(perRound)")
      problems = true
    }
    let settings = SecureAggregationSettings(
      threshold: threshold, dropout: p.double("dropout") ?? 0,
      earlyDropout: p.double("early_dropout") ?? 0, bits: p.int("bits") ?? 32,
      clip: p.double("clip") ?? 1)
    let encoding = FixedPoint(bits: settings.bits, clip: settings.clip, inputs: perRound)
    if encoding.precisionBits < 8 {
      validator.fail(
        p.path("bits"),
        "\(settings.bits) bits leave \(encoding.precisionBits) bits per value after the sign and "
          + "\(encoding.headroom) headroom bits for \(perRound) clients; use at least \(settings.bits + 8 - encoding.precisionBits)"
      )
      problems = true
    }
    if problems { return nil }
    var members = p.members.filter { $0.key != "threshold" }
    members.insert(JSONMember("threshold", .number(Double(threshold))), at: 1)
    return (settings, .object(members))
  }
}
