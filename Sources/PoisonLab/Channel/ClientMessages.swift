/// The federated simulation's side of the update channel: what each
/// selected client puts on it (the id it claims, the key that signs, the
/// sample count it reports).
extension FederatedSimulation {
  /// What each selected client sends: the id it claims (impersonators take
  /// an honest victim's, stream `("attack", group, round, "victims")`), the
  /// key that signs, and the sample count it reports (an active attacker's
  /// group may lie with `reported_samples`).
  func outgoing(round: Int, selected: [Int], malicious: [Bool], setup: Setup)
    -> [ChannelStage.Outgoing]
  {
    var out = selected.enumerated().map { position, client in
      ChannelStage.Outgoing(
        claimed: client, signer: client, reported: setup.clean[client].count,
        malicious: malicious[position])
    }
    var impersonators: [Int: [Int]] = [:]  // group -> positions
    for (position, client) in selected.enumerated() where malicious[position] {
      let g: Int
      switch setup.roles[client] {
      case .dataAttacker(let group), .updateAttacker(let group): g = group
      case .honest: continue
      }
      if let lie = setup.groups[g].reportedSamples { out[position].reported = lie }
      if scenario.attacks[g].attack is Impersonate {
        impersonators[g, default: []].append(position)
      }
    }
    let chosen = Set(selected)
    let honest = (0..<setup.roles.count).filter {
      if case .honest = setup.roles[$0] { true } else { false }
    }
    for g in impersonators.keys.sorted() {
      guard let attack = scenario.attacks[g].attack as? Impersonate,
        let positions = impersonators[g]
      else { continue }
      var rng = SeedTree(scenario.seed).generator("attack", g, round, "victims")
      let victims = attack.victims(
        count: positions.count, absent: honest.filter { !chosen.contains($0) },
        present: honest.filter { chosen.contains($0) }, rng: &rng)
      for (k, position) in positions.enumerated() where k < victims.count {
        out[position].claimed = victims[k]
      }
    }
    return out
  }
}
