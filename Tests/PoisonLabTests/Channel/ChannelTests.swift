import Testing

@testable import PoisonLab

@Suite("Update channel: the server's checks, hand-built messages")
struct UpdateChannelTests {
  let digest = ChannelCrypto.sha256(floats: [1, 2, 3])

  func channel(
    _ auth: ChannelSettings.Authentication, _ enrolment: ChannelSettings.Enrolment = .closed,
    weights: ChannelSettings.SampleCounts = .client
  ) -> UpdateChannel {
    var settings = ChannelSettings()
    settings.authentication = auth
    settings.enrolment = enrolment
    settings.reportedSamples = weights
    return UpdateChannel(settings: settings, seed: 42, samples: [100, 200, 300])
  }

  func message(
    _ id: Int, round: Int = 4, reported: Int = 100, origin: ChannelMessage.Origin = .honest,
    digest: [UInt8]? = nil
  ) -> ChannelMessage {
    ChannelMessage(
      sender: id, round: round, modelDigest: digest ?? self.digest, reportedSamples: reported,
      update: [0.5, -1, 2], origin: origin, slot: id)
  }

  @Test("ed25519: honest accepted; tampered, stale, replayed, duplicate and unknown rejected")
  func checks() {
    var c = channel(.ed25519)
    var honest = (0..<3).map { message($0) }
    for i in honest.indices { c.sign(&honest[i], asClient: i) }
    var tampered = honest[1]
    tampered.update[0] = -0.5
    tampered.origin = .malicious
    var stale = message(2, round: 3)
    c.sign(&stale, asClient: 2)
    stale.origin = .malicious
    var otherModel = message(0, digest: ChannelCrypto.sha256(floats: [0]))
    c.sign(&otherModel, asClient: 0)
    otherModel.origin = .malicious
    var forged = message(2, origin: .malicious)
    c.sign(&forged, asClient: 0)  // client 0's key under client 2's id
    var unknown = message(9, origin: .malicious)
    c.sign(&unknown, with: UpdateChannel.identityKey(seed: 42, label: "x"))
    let arrivals = [tampered, honest[0], stale, otherModel, forged, unknown, honest[2], honest[0]]
    let d = c.receive(arrivals, round: 4, digest: digest, threads: 2)
    #expect(d.accepted == [1, 6])
    #expect(d.messages == 8 && d.rejectedSignature == 2 && d.rejectedStale == 2)
    #expect(d.rejectedUnknown == 1 && d.rejectedDuplicate == 1)
    // The repeated honest message is rejected as a duplicate: an honest drop.
    #expect(d.honestDropped == 1 && d.maliciousRejected == 5)
    #expect(d.weights == [100, 100])
  }

  @Test("without authentication only the enrolment list is checked")
  func none() {
    var c = channel(.none)
    var tampered = message(1, origin: .malicious)
    tampered.update[0] = 9
    let d = c.receive(
      [message(0), tampered, message(2, round: 1), message(0), message(7)], round: 4,
      digest: digest, threads: 1)
    #expect(d.accepted == [0, 1, 2, 3] && d.rejectedUnknown == 1 && d.rejectedSignature == 0)
    #expect(d.maliciousRejected == 0 && d.honestDropped == 1)
  }

  @Test("open enrolment enrols a new key on first contact; its later messages must verify")
  func openEnrolment() {
    var c = channel(.ed25519, .open, weights: .server)
    let key = UpdateChannel.identityKey(seed: 42, label: "sybil")
    var first = message(50, reported: 5000, origin: .malicious)
    c.sign(&first, with: key)
    #expect(c.receive([first], round: 4, digest: digest, threads: 1).accepted == [0])
    // Round 5: the same identity, now enrolled with its first count.
    var next = ChannelMessage(
      sender: 50, round: 5, modelDigest: digest, reportedSamples: 9_999_999, update: [1, 1, 1],
      origin: .malicious, slot: nil)
    c.sign(&next, with: key)
    var impostor = next
    c.sign(&impostor, with: UpdateChannel.identityKey(seed: 42, label: "other"))
    let d = c.receive([impostor, next], round: 5, digest: digest, threads: 1)
    #expect(d.accepted == [1] && d.rejectedSignature == 1)
    #expect(d.weights == [5000])  // `server`: the count recorded at enrolment
  }

  @Test("reported_samples: the client's count, the server's record, or a cap")
  func weights() {
    for (policy, expected) in [
      (ChannelSettings.SampleCounts.client, [1_000_000.0, 200, 300]),
      (.server, [100, 200, 300]), (.cap(250), [250, 200, 250]),
    ] {
      var c = channel(.none, weights: policy)
      let d = c.receive(
        [message(0, reported: 1_000_000), message(1, reported: 200), message(2, reported: 300)],
        round: 4, digest: digest, threads: 1)
      #expect(d.weights == expected, "\(policy)")
    }
  }

  @Test("the signed bytes bind id, round, model digest, reported count and every update bit")
  func signedBytes() {
    let base = message(1)
    var variants: [ChannelMessage] = []
    var m = base
    m.sender = 2
    variants.append(m)
    m = base
    m.round = 5
    variants.append(m)
    m = base
    m.modelDigest[31] ^= 1
    variants.append(m)
    m = base
    m.reportedSamples = 101
    variants.append(m)
    m = base
    m.update[2] = m.update[2].nextUp
    variants.append(m)
    for v in variants { #expect(v.signedBytes != base.signedBytes) }
    // tag (19) + id, round (16) + digest (32) + count, dimension (16) + 3 floats (12)
    #expect(base.signedBytes.count == 19 + 16 + 32 + 16 + 12)
  }
}

/// Small synthetic federation (seconds) for behaviour tests.
let channelBase =
  #"{"name": "ch", "seed": 3, "dataset": {"name": "synthetic", "classes": 4, "features": 16, "train_size": 1200, "test_size": 400, "separation": 6}, "model": {"name": "mlp", "hidden": [24]}, "training": {"rounds": 8, "batch_size": 16, "learning_rate": 0.05}, "federation": {"clients": 10}}"#

/// The summary of a run of `channelBase` with overrides.
func channelSummary(_ overrides: [String], threads: Int = 2) throws -> MetricRecord {
  try #require(try records(channelBase, threads: threads, overrides: overrides).last)
}

@Suite("Update channel: attacks and defenses end to end", .serialized)
struct ChannelBehaviourTests {
  @Test("tamper: accepted without authentication (accuracy falls); ed25519 rejects every one")
  func tamper() throws {
    let clean = try channelSummary([])
    let attack = #"attack={"name": "tamper", "messages": 3, "transform": "scale", "factor": -4}"#
    let none = try channelSummary([attack])
    let signed = try channelSummary([attack, "channel.authentication=ed25519"])
    #expect(none.totals?.channel?.rejected == 0 && none.malicious == 3 && none.flagged == 0)
    #expect(none.accuracy < clean.accuracy - 0.3)
    #expect(signed.totals?.channel?.rejectedSignature == 24)
    #expect(signed.totals?.channel?.honestDropped == 0)
    #expect(signed.detectionRecall == 1 && signed.detectionPrecision == 1)
    #expect(abs(signed.accuracy - clean.accuracy) <= 0.02)
  }

  @Test("replay and impersonate: accepted without authentication, rejected with ed25519")
  func replayAndImpersonate() throws {
    let replay = #"attack={"name": "replay", "messages": 2, "lag": 3}"#
    let none = try channelSummary([replay])
    let signed = try channelSummary([replay, "channel.authentication=ed25519"])
    // Rounds 4-8 replay 2 messages each.
    #expect(none.totals?.maliciousTotal == 10 && none.totals?.channel?.rejected == 0)
    #expect(signed.totals?.channel?.rejectedStale == 10 && signed.totals?.flaggedTotal == 10)
    let impersonate =
      #"attack={"name": "impersonate", "clients": 2, "update": {"name": "sign-flip", "scale": 4}}"#
    let forged = try channelSummary([impersonate])
    let refused = try channelSummary([impersonate, "channel.authentication=ed25519"])
    #expect(forged.totals?.channel?.rejected == 0 && forged.accuracy < 0.5)
    #expect(refused.totals?.channel?.rejectedSignature == 16)
    #expect(refused.totals?.channel?.honestDropped == 0 && refused.accuracy > 0.9)
  }

  @Test("sybil: open enrolment takes them (signatures verify), closed rejects them all")
  func sybil() throws {
    let sybil = #"attack={"name": "sybil", "identities": 10, "update": {"name": "sign-flip"}}"#
    let open = try channelSummary([
      sybil, "channel.authentication=ed25519", "channel.enrolment=open",
    ])
    let closed = try channelSummary([sybil, "channel.authentication=ed25519"])
    #expect(
      open.channel?.messages == 20 && open.totals?.channel?.rejected == 0 && open.accuracy < 0.5)
    #expect(closed.totals?.channel?.rejectedUnknown == 80 && closed.accuracy > 0.9)
    #expect(closed.totals?.channel?.honestDropped == 0)
  }

  @Test("a liar's 1,000,000 samples wreck fedavg; server counts or a cap remove the effect")
  func liar() throws {
    let liar = #"attack={"name": "sign-flip", "clients": 1, "reported_samples": 1000000}"#
    let clean = try channelSummary([])
    let believed = try channelSummary([liar])
    let server = try channelSummary([liar, "channel.reported_samples=server"])
    let capped = try channelSummary([liar, #"channel.reported_samples={"cap": 120}"#])
    #expect(believed.accuracy < 0.3)
    #expect(abs(server.accuracy - clean.accuracy) <= 0.02)
    #expect(abs(capped.accuracy - clean.accuracy) <= 0.02)
  }

  @Test("secure aggregation: fedavg's accuracy, recovery under dropout, any thread count")
  func secureAggregation() throws {
    let clean = try channelSummary([])
    let secure = try channelSummary([#"channel.secure_aggregation={"name": "pairwise-masking"}"#])
    #expect(abs(secure.accuracy - clean.accuracy) <= 0.005)
    #expect(secure.totals?.secureAggregationFailedRounds == 0)
    #expect(secure.secureAggregation?.bytesPerClient ?? 0 > 0)
    let dropout =
      #"channel.secure_aggregation={"name": "pairwise-masking", "threshold": 5, "dropout": 0.1, "early_dropout": 0.1}"#
    func zeroed(_ threads: Int) throws -> [MetricRecord] {
      try records(channelBase, threads: threads, overrides: [dropout]).map { record in
        var r = record
        if var s = r.secureAggregation {
          s.clientSeconds = 0
          s.serverSeconds = 0
          r.secureAggregation = s
        }
        return r
      }
    }
    let one = try zeroed(1)
    #expect(try zeroed(2) == one)
    #expect(one.last?.totals?.secureAggregationFailedRounds == 0)
    #expect(one.last.map { abs($0.accuracy - clean.accuracy) <= 0.03 } == true)
    // Too high a threshold: rounds fail and leave the model unchanged.
    let failing = try records(
      channelBase, threads: 1,
      overrides: [
        #"channel.secure_aggregation={"name": "pairwise-masking", "threshold": 10, "dropout": 0.3}"#
      ])
    let failed = failing.filter { $0.kind == .round && $0.secureAggregation?.failed == true }
    #expect(!failed.isEmpty)
    #expect(failing.last?.totals?.secureAggregationFailedRounds ?? 0 >= failed.count)
  }

  @Test("secure aggregation refuses per-update defenses and channel attacks, naming both")
  func refusals() {
    let secure = #"channel.secure_aggregation={"name": "pairwise-masking"}"#
    let krum = scenarioErrors(channelBase, overrides: [secure, "defense.name=krum"])
    #expect(krum.count == 1)
    #expect(krum.first?.contains("defense.name: \"krum\" needs every client's own update") == true)
    #expect(krum.first?.contains("channel.secure_aggregation") == true)
    #expect(scenarioErrors(channelBase, overrides: [secure, "defense.name=mean"]).isEmpty)
    #expect(
      scenarioErrors(
        channelBase, overrides: [secure, #"defense=[{"name": "dp"}, {"name": "mean"}]"#]
      )
      .isEmpty)
    let tamper = scenarioErrors(channelBase, overrides: [secure, #"attack={"name": "tamper"}"#])
    #expect(tamper.first?.hasPrefix("attack.name: \"tamper\" attacks individual messages") == true)
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [#"channel.secure_aggregation={"name": "pairwise-masking", "threshold": 11}"#]
      ).first?.hasPrefix("channel.secure_aggregation.threshold: must be at most the 10") == true)
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [
          #"channel.secure_aggregation={"name": "pairwise-masking", "bits": 16, "clip": 1}"#
        ]
      ).isEmpty)
  }

  @Test(
    "review regressions: replay every round, disjoint sybil groups, no-op tamper, impersonating nobody"
  )
  func reviewRegressions() throws {
    // The attacker captures before it replaces: 10 replays in every round after the first.
    let replay = try records(
      channelBase, threads: 1,
      overrides: [
        #"attack={"name": "replay", "messages": 10, "lag": 1}"#, "channel.authentication=ed25519",
      ])
    #expect(
      replay.filter { $0.kind == .round }.map { $0.channel?.rejectedStale } == [0]
        + [Int?](repeating: 10, count: 7))
    // Two sybil groups never share an id or a key.
    let sybils = try channelSummary([
      "channel.authentication=ed25519", "channel.enrolment=open",
      #"attack=[{"name": "sybil", "identities": 3, "update": {"name": "sign-flip"}}, {"name": "sybil", "identities": 5, "update": {"name": "sign-flip"}}]"#,
    ])
    #expect(sybils.totals?.channel?.rejected == 0 && sybils.totals?.maliciousTotal == 64)
    // A rewrite that changes nothing is not an attack.
    let noop = try channelSummary([#"attack={"name": "tamper", "transform": "scale", "factor": 1}"#]
    )
    #expect(noop.totals?.maliciousTotal == 0)
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [
          #"attack={"name": "impersonate", "clients": 10, "update": {"name": "sign-flip"}}"#
        ])
        == [
          "attack.name: every one of the 10 clients is an attacker: there is no honest client to impersonate"
        ])
    #expect(
      scenarioErrors(
        channelBase, overrides: [#"attack={"name": "replay", "lag": 5, "end_round": 4}"#]
      ).first?
      .hasPrefix("attack.lag: must be less than the last attacking round (4)") == true)
    // Open enrolment: sybils count in the n robust rules are checked against.
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [
          "channel.enrolment=open",
          #"attack={"name": "sybil", "identities": 30, "update": {"name": "ipm"}}"#,
          #"defense={"name": "krum", "f": 8}"#,
        ]
      ).isEmpty)
    #expect(
      scenarioErrors(channelBase, overrides: ["federation=null", #"attack={"name": "tamper"}"#])
        .first
        == "attack.name: \"tamper\" attacks the update channel between clients and server and needs a federation block"
    )
  }

  @Test("channel blocks are checked: keys, nested updates, transforms, federated only")
  func validation() {
    #expect(
      scenarioErrors(channelBase, overrides: ["channel.authentication=rsa"]).first?.hasPrefix(
        "channel.authentication: unknown value \"rsa\"") == true)
    #expect(
      scenarioErrors(channelBase, overrides: [#"channel.reported_samples={"cap": 0}"#]).first?
        .hasPrefix("channel.reported_samples.cap: must be integer in 1...") == true)
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [#"attack={"name": "sybil", "update": {"name": "sign-flip", "clients": 2}}"#]
      ) == [
        "attack.update.clients: does not apply: sybil sets who sends and when, and takes no clients"
      ])
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [
          #"attack={"name": "sybil", "update": {"name": "label-flip", "source": 1, "target": 2}}"#
        ]
      )
      .first?.contains("is not a crafted-update attack") == true)
    #expect(
      scenarioErrors(
        channelBase,
        overrides: [#"attack={"name": "sybil", "update": {"name": "scaling", "factor": 3}}"#]
      )
      .first?.contains("sybil identities hold no data") == true)
    #expect(
      scenarioErrors(channelBase, overrides: [#"attack={"name": "tamper", "factor": 3}"#]) == [
        "attack.factor: applies to transform \"scale\" only"
      ])
    #expect(
      scenarioErrors(channelBase, overrides: [#"attack={"name": "tamper", "clients": 3}"#]).first?
        .hasPrefix("attack.clients: unknown key") == true)
    #expect(
      scenarioErrors(channelBase, overrides: ["federation=null", "channel.enrolment=open"]).first?
        .hasPrefix("channel: applies to federated runs only") == true)
  }
}
