/// The `channel` block: what stands between the clients and the aggregator.
///
/// Every federated run has a channel; without the block it is the default
/// one (no authentication, closed enrolment, FedAvg weights as the clients
/// report them), which is what most simulators and Flower's default do.
public struct ChannelSettings: Sendable, Equatable {
  /// How messages are authenticated.
  public enum Authentication: String, Sendable, CaseIterable {
    /// Nothing binds a message to its sender, round or content.
    case none
    /// Ed25519 signatures over the message (see ``ChannelMessage``).
    case ed25519
  }

  /// Who may join.
  public enum Enrolment: String, Sendable, CaseIterable {
    /// Only the federation's client ids exist.
    case closed
    /// Any new identity presenting a key is enrolled on first contact.
    case open
  }

  /// Where FedAvg's per-update weight comes from.
  public enum SampleCounts: Sendable, Equatable {
    /// The count the client reports (Flower's `num_examples`).
    case client
    /// The count the server recorded at enrolment.
    case server
    /// The client's count, capped.
    case cap(Int)

    /// The weight of a message.
    /// - Parameters:
    ///   - reported: the count in the message.
    ///   - recorded: the count the server recorded at enrolment.
    /// - Returns: the weight FedAvg uses.
    public func weight(reported: Int, recorded: Int) -> Int {
      switch self {
      case .client: return reported
      case .server: return recorded
      case .cap(let n): return min(reported, n)
      }
    }
  }

  /// Message authentication.
  public var authentication: Authentication = .none
  /// Enrolment policy.
  public var enrolment: Enrolment = .closed
  /// The weight policy.
  public var reportedSamples: SampleCounts = .client
  /// Secure aggregation, when on.
  public var secureAggregation: SecureAggregationSettings?

  /// Creates the default channel.
  public init() {}

  /// The block's keys.
  public static let keys: [ParameterSpec] = [
    ParameterSpec(
      "authentication", .choice(Authentication.allCases.map(\.rawValue)), default: .string("none"),
      doc:
        "ed25519: every message signed over (client id, round, SHA-256 of the global model, reported samples, update); "
        + "the server drops bad signatures, stale rounds or models, unknown ids and repeated ids"),
    ParameterSpec(
      "enrolment", .choice(Enrolment.allCases.map(\.rawValue)), default: .string("closed"),
      doc:
        "closed: only the federation's client ids exist; open: any new identity presenting a key is enrolled on first contact"
    ),
    ParameterSpec(
      "reported_samples",
      .either([.choice(["client", "server"]), .object(capKeys)]), default: .string("client"),
      doc:
        "FedAvg's weight: client (the count the client reports), server (the count recorded at enrolment) or {\"cap\": N}"
    ),
    ParameterSpec(
      "secure_aggregation", .object(SecureAggregationSettings.keys),
      doc:
        "{\"name\": \"pairwise-masking\", ...}: Bonawitz et al. 2017; the server learns only the sum of the updates"
    ),
  ]

  /// The keys of `{"cap": N}`.
  static let capKeys: [ParameterSpec] = [
    ParameterSpec(
      "cap", .integer(min: 1, max: 1_000_000_000_000), required: true,
      doc: "largest sample count believed")
  ]

  /// Reads a validated `channel` block.
  /// - Parameters:
  ///   - p: the block, checked against ``keys``.
  ///   - context: the scenario context.
  ///   - validator: where problems go.
  /// - Returns: the settings and the resolved JSON, or nil after a problem.
  static func read(
    _ p: Parameters, context: ScenarioContext, validator: inout SchemaValidator
  ) -> (settings: ChannelSettings, json: JSONValue)? {
    var settings = ChannelSettings()
    settings.authentication = Authentication(rawValue: p.string("authentication") ?? "") ?? .none
    settings.enrolment = Enrolment(rawValue: p.string("enrolment") ?? "") ?? .closed
    var members = p.members.filter {
      $0.key != "secure_aggregation" && $0.key != "reported_samples"
    }
    switch p["reported_samples"] {
    case .string("server")?:
      settings.reportedSamples = .server
      members.append(JSONMember("reported_samples", .string("server")))
    case .object(let cap)?:
      // Validated against capKeys by the schema: `cap` is an integer >= 1.
      guard case .number(let x)? = p["reported_samples"]?["cap"], let n = Int(exactly: x) else {
        return nil
      }
      settings.reportedSamples = .cap(n)
      members.append(JSONMember("reported_samples", .object(cap)))
    default:
      members.append(JSONMember("reported_samples", .string("client")))
    }
    if let block = p["secure_aggregation"] {
      guard
        let (secure, json) = SecureAggregationSettings.read(
          block, at: p.path("secure_aggregation"), context: context, validator: &validator)
      else { return nil }
      settings.secureAggregation = secure
      members.append(JSONMember("secure_aggregation", json))
    }
    return (settings, .object(members))
  }
}
