/// Authentication as a defense-chain filter: the scenario contract's
/// `authenticate`, "signed updates; rejects tampered, replayed and
/// unenrolled ones".
///
/// Placing it in a federated chain turns on the update channel's
/// authentication: `channel.authentication` becomes `ed25519` with
/// `closed` enrolment (a channel block that says `none` or `open`
/// contradicts it and is refused). The checks happen where the signatures
/// are, on the messages before the chain (see the channel guide): a message
/// whose Ed25519 signature does not verify under its sender's enrolled key
/// (tampered, forged), whose round or model digest is not the current one
/// (replayed), or whose sender is not enrolled, never reaches the chain,
/// and is counted in `rejected_signature`, `rejected_stale`,
/// `rejected_unknown` and `flagged`. Within the chain the filter passes the
/// accepted updates on unchanged; so does `poisonlab aggregate`, whose rows
/// are taken as verified (a `--save-updates` export holds the updates the
/// channel accepted, and `aggregate` reproduces the round with the chain as
/// the scenario wrote it).
public struct Authenticate: UpdateFilter {
  public static let descriptor = PluginDescriptor(
    name: "authenticate",
    summary:
      "signed updates: rejects tampered, replayed and unenrolled messages (turns on channel.authentication ed25519, closed enrolment)",
    reference:
      "Bernstein, Duif, Lange, Schwabe & Yang 2012, High-speed high-security signatures (Ed25519); Flower's SuperNode authentication",
    notes: [
      "federated runs only", "not at the end of the chain (it filters; an aggregator follows)",
    ])
  public static var secureAggregation: SecureAggregationUse { .sum }
  /// It changes nothing in the chain, so a non-finite update is left to the
  /// rules that follow, as without it.
  public static var propagatesNonFinite: Bool { true }

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    guard context.federated else {
      validator.fail(
        parameters.path("name"), "authenticates federated updates; a centralized run has none")
      return nil
    }
  }

  /// Creates the filter (tests).
  init() {}

  /// Turns on what the filter stands for: `channel.authentication` ed25519
  /// with `closed` enrolment, also in the channel block the resolved
  /// scenario prints; a channel block that says otherwise is refused.
  /// - Parameters:
  ///   - channel: the channel settings, changed in place.
  ///   - channelJSON: the resolved channel block, changed in place.
  ///   - given: the keys the scenario's channel block gave.
  ///   - path: the filter's place in the defense chain.
  ///   - validator: collects the contradiction.
  static func turnOn(
    _ channel: inout ChannelSettings, json channelJSON: inout JSONValue?, given: [String],
    at path: JSONPath, validator: inout SchemaValidator
  ) {
    if given.contains("authentication") && channel.authentication != .ed25519 {
      validator.fail(
        path.appending("name"),
        "authenticate verifies ed25519 signatures, and channel.authentication is \(channel.authentication.rawValue); remove one of them"
      )
      return
    }
    if given.contains("enrolment") && channel.enrolment == .open {
      validator.fail(
        path.appending("name"),
        "authenticate rejects unenrolled identities, and channel.enrolment is open; remove one of them"
      )
      return
    }
    channel.authentication = .ed25519
    channel.enrolment = .closed
    var members: [JSONMember] = {
      if case .object(let m)? = channelJSON { return m }
      return [JSONMember("reported_samples", .string("client"))]
    }()
    members.removeAll { $0.key == "authentication" || $0.key == "enrolment" }
    channelJSON = .object(
      [
        JSONMember("authentication", .string("ed25519")),
        JSONMember("enrolment", .string("closed")),
      ] + members)
  }

  public mutating func filter(
    _ updates: inout UpdateSet, context: DefenseContext
  ) throws(DefenseError) -> DefenseOutcome {
    // The messages were verified before the chain; what reaches it passed.
    DefenseOutcome()
  }
}
