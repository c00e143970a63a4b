import PoisonLab
import Testing

/// Builds an attack from a scenario attack block on synthetic data.
func attack(
  _ block: String, dataset: String = #"{"name": "synthetic", "classes": 4, "shape": [5, 6, 2]}"#
) throws -> any DataPoisoning {
  let s = try scenario(
    #"{"name": "a", "dataset": \#(dataset), "model": {"name": "mlp"}, "attack": \#(block)}"#)
  return try #require(s.attacks.first?.attack as? any DataPoisoning)
}

/// A tiny dataset: `perClass` samples of each of `classes` classes, images of 5x6x2 filled with the
/// sample index.
func tinyImages(classes: Int = 4, perClass: Int = 10) -> Dataset {
  let n = classes * perClass
  let shape = Shape(height: 5, width: 6, channels: 2)
  var features = [Float](repeating: 0, count: n * shape.count)
  for i in 0..<n { for j in 0..<shape.count { features[i * shape.count + j] = Float(i) } }
  return Dataset(
    features: features, labels: (0..<n).map { Int32($0 % classes) }, shape: shape, classes: classes,
    isImage: true)
}

@Suite("label-flip")
struct LabelFlipTests {
  @Test(
    "targeted: exactly floor(fraction * n_source) source samples become target (seeds 0-9)",
    arguments: 0..<10)
  func targeted(seed: UInt64) throws {
    let flip = try attack(#"{"name": "label-flip", "source": 1, "target": 3, "fraction": 0.55}"#)
    var data = tinyImages()
    let before = data.labels
    var rng = SplitMix64(seed: seed)
    let poisoned = flip.poison(&data, rng: &rng)
    #expect(poisoned.count == 5)  // floor(0.55 * 10)
    #expect(poisoned.allSatisfy { before[$0] == 1 && data.labels[$0] == 3 })
    let changed = data.labels.indices.filter { data.labels[$0] != before[$0] }
    #expect(changed == poisoned)
    #expect(data.features == tinyImages().features)
  }

  @Test("reverse maps y to C-1-y; random always changes the label")
  func untargeted() throws {
    var data = tinyImages()
    let before = data.labels
    var rng = SplitMix64(seed: 1)
    let reverse = try attack(#"{"name": "label-flip", "mapping": "reverse", "fraction": 0.5}"#)
    let flipped = reverse.poison(&data, rng: &rng)
    #expect(flipped.count == 20)
    #expect(flipped.allSatisfy { data.labels[$0] == 3 - before[$0] })
    var other = tinyImages()
    let random = try attack(#"{"name": "label-flip", "mapping": "random", "fraction": 1}"#)
    let all = random.poison(&other, rng: &rng)
    #expect(all.count == 40)
    #expect(all.allSatisfy { other.labels[$0] != before[$0] && other.labels[$0] < 4 })
    #expect(random.probe(test: tinyImages()) == nil)
  }

  @Test("probe: source-class test samples, success = predicted as target")
  func probe() throws {
    let flip = try attack(#"{"name": "label-flip", "source": 2, "target": 0}"#)
    let probe = try #require(flip.probe(test: tinyImages()))
    #expect(probe.inputs.count == 10)
    #expect(probe.inputs.labels.allSatisfy { $0 == 2 })
    #expect(probe.target == 0)
    #expect(!probe.reportsRobustAccuracy)
  }
}

@Suite("backdoor")
struct BackdoorTests {
  /// Trigger pixels (row, col) written into a zero image of 5x6x1.
  func stamped(_ trigger: String) throws -> [[Int]] {
    let backdoor = try attack(
      #"{"name": "backdoor", "fraction": 1, "target": 0, "trigger": \#(trigger)}"#)
    var data = Dataset(
      features: [Float](repeating: 0, count: 30), labels: [1],
      shape: Shape(height: 5, width: 6, channels: 1),
      classes: 4, isImage: true)
    var rng = SplitMix64(seed: 0)
    _ = backdoor.poison(&data, rng: &rng)
    return (0..<5).map { r in (0..<6).map { c in Int(data.features[r * 6 + c]) } }
  }

  @Test("square, cross, corners, margin and explicit pixels land where documented")
  func patterns() throws {
    #expect(
      try stamped(#"{"size": 2, "value": 9}"#) == [
        [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 9, 9],
        [0, 0, 0, 0, 9, 9],
      ])
    #expect(
      try stamped(
        #"{"pattern": "cross", "size": 3, "position": "top-left", "margin": 1, "value": 1}"#) == [
          [0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0], [0, 1, 0, 1, 0, 0],
          [0, 0, 0, 0, 0, 0],
        ])
    #expect(
      try stamped(#"{"pattern": "pixels", "pixels": [[0, 5], [4, 0]], "value": 7}"#) == [
        [0, 0, 0, 0, 0, 7], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
        [7, 0, 0, 0, 0, 0],
      ])
    #expect(
      try stamped(#"{"size": 1, "position": [2, 3], "value": 5}"#)[2] == [0, 0, 0, 5, 0, 0])
  }

  @Test(
    "poisons round(fraction * n) samples drawn from the whole set, stamps every channel, relabels")
  func poison() throws {
    let backdoor = try attack(
      #"{"name": "backdoor", "fraction": 0.25, "target": 2, "trigger": {"size": 1, "value": -1}}"#)
    var data = tinyImages()
    var rng = SplitMix64(seed: 4)
    let poisoned = backdoor.poison(&data, rng: &rng)
    #expect(poisoned.count == 10)
    let original = tinyImages()
    // The target class is not avoided (seed 4 draws some of its samples).
    #expect(poisoned.contains { original.labels[$0] == 2 })
    for i in poisoned {
      #expect(data.labels[i] == 2)
      let last = (i + 1) * 60
      // Both channels of pixel (4, 5).
      #expect(data.features[last - 1] == -1 && data.features[last - 2] == -1)
      #expect(data.features[last - 3] == Float(i))
    }
  }

  @Test("probe: triggered test samples whose label is not the target")
  func probe() throws {
    let backdoor = try attack(#"{"name": "backdoor", "target": 1}"#)
    let probe = try #require(backdoor.probe(test: tinyImages()))
    #expect(probe.inputs.count == 30)
    #expect(!probe.inputs.labels.contains(1))
    #expect(probe.reportsRobustAccuracy)
    #expect(probe.inputs.features[59] == 255)
  }

  @Test("behaviour: a backdoor on synthetic images is learned; a clean model ignores the trigger")
  func behaviour() throws {
    let base =
      #"{"name": "b", "seed": 5, "dataset": {"name": "synthetic", "classes": 3, "shape": [8, 8, 1], "train_size": 600, "test_size": 300, "separation": 20}, "model": {"name": "mlp", "hidden": [32]}, "training": {"rounds": 4, "learning_rate": 0.05}"#
    let attacked = try scenario(
      base
        + #", "attack": {"name": "backdoor", "fraction": 0.15, "target": 0, "trigger": {"size": 2, "value": 8}}}"#
    )
    var last: MetricRecord?
    try Experiment(scenario: attacked, threads: 1).run { last = $0 }
    let poisoned = try #require(last)
    #expect(try #require(poisoned.attackSuccess) > 0.9)
    #expect(poisoned.accuracy > 0.9)
    #expect(poisoned.malicious == 90)
    // The same model without poisoning: the trigger does not send inputs to the target.
    let clean = try scenario(
      base
        + #", "attack": {"name": "backdoor", "fraction": 0.0001, "target": 0, "trigger": {"size": 2, "value": 8}}}"#
    )
    try Experiment(scenario: clean, threads: 1).run { last = $0 }
    #expect(try #require(last?.attackSuccess) < 0.2)
  }
}

@Suite("backdoor in federated runs")
struct FederatedBackdoorTests {
  func backdoor(_ extra: String) throws -> any DataPoisoning {
    let base =
      #"{"name": "f", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 10}"#
    let s = try scenario(base + #", "attack": {"name": "backdoor", "clients": 1\#(extra)}}"#)
    return try #require(s.attacks.first?.attack as? any DataPoisoning)
  }

  @Test("Neurotoxin mask, then scale, then the norm-bound projection (hand-computed)")
  func finish() throws {
    var update: [Float] = [1, 2, 3, 4]
    // The top 50% of |last global update| = coordinates 1 and 3; masked, then x2: [2, 0, 6, 0],
    // norm 6.32 -> bound 3.
    try backdoor(#", "scale": 2, "mask_fraction": 0.5, "norm_bound": 3"#).finish(
      &update, previousAggregate: [0.1, -5, 0.2, 4])
    let norm = (4.0 + 36.0).squareRoot()
    #expect(allClose(update, [Float(2 * 3 / norm), 0, Float(6 * 3 / norm), 0], rtol: 1e-6))
    var first: [Float] = [1, 2, 3, 4]
    try backdoor(#", "mask_fraction": 0.5"#).finish(&first, previousAggregate: nil)
    #expect(first == [1, 2, 3, 4])  // round 1: nothing to mask by
    var plain: [Float] = [1, -1]
    try backdoor(#", "scale": 3"#).finish(&plain, previousAggregate: [1, 1])
    #expect(plain == [3, -3])
  }

  @Test("the stealth options are federated-only keys")
  func centralizedRejects() {
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "norm_bound": 1}}"#
      ) == [
        "attack.norm_bound: applies to federated runs only (this scenario has no federation block)"
      ])
  }
}

@Suite("dba")
struct DBATests {
  func dba(_ extra: String = "") throws -> any DataPoisoning {
    let base =
      #"{"name": "f", "dataset": {"name": "synthetic", "classes": 4, "shape": [5, 6, 2]}, "model": {"name": "mlp"}, "federation": {"clients": 10}"#
    let s = try scenario(
      base
        + #", "attack": {"name": "dba", "clients": 4, "target": 0, "poison_fraction": 1, "trigger": {"size": 4, "value": 9}\#(extra)}}"#
    )
    return try #require(s.attacks.first?.attack as? any DataPoisoning)
  }

  @Test("split: a 4x4 square in 4 parts gives its rows; 9 pixels in 4 parts give 2, 2, 2, 3")
  func split() {
    let square = Trigger(pixels: (0..<4).flatMap { r in (0..<4).map { c in (r, c) } }, value: 1)
    let rows = square.split(into: 4)
    #expect(rows.map { $0.pixels.map { $0.0 } } == (0..<4).map { [Int](repeating: $0, count: 4) })
    let whole = Trigger(pixels: (0..<9).map { ($0 / 3, $0 % 3) }, value: 1)
    let nine = whole.split(into: 4)
    #expect(nine.map { $0.pixels.count } == [2, 2, 2, 3])
    #expect(nine.flatMap { $0.pixels }.elementsEqual(whole.pixels) { $0 == $1 })
  }

  @Test("the k-th attacker stamps only local trigger k mod parts; the probe uses the whole trigger")
  func localTriggers() throws {
    let attack = try dba()
    // 4x4 square at the bottom-right of 5x6 images: rows 1-4, columns 2-5.
    for attacker in [1, 5] {
      var data = tinyImages()
      var rng = SplitMix64(seed: 4)
      let poisoned = attack.poison(&data, rng: &rng, attacker: attacker)
      #expect(poisoned == Array(0..<40))
      let shape = data.shape
      let nines = (0..<shape.count).filter { data.features[3 * shape.count + $0] == 9 }
      // Row 2 of the image (the square's second row), columns 2-5, both channels:
      // offsets (2 * 6 + c) * 2 + channel = 28...35.
      #expect(nines == Array(28...35))
      #expect(data.labels.allSatisfy { $0 == 0 })
    }
    let probe = try #require(attack.probe(test: tinyImages()))
    let shape = probe.inputs.shape
    #expect((0..<shape.count).filter { probe.inputs.features[$0] == 9 }.count == 16 * 2)
  }

  @Test("dba needs a federation block and at most one part per trigger pixel")
  func errors() {
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "attack": {"name": "dba"}}"#
      ) == [
        #"attack.name: "dba" splits a trigger among malicious clients and needs a federation block (centralized runs take backdoor)"#
      ])
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "federation": {"clients": 10}, "attack": {"name": "dba", "clients": 4, "parts": 10, "trigger": {"size": 3}}}"#
      ) == ["attack.parts: must be at most the trigger's 9 pixels, got 10"])
  }

  @Test("behaviour: four attackers with one bar each implant the combined trigger")
  func behaviour() throws {
    let out = try federated([
      #"dataset={"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 1200, "test_size": 300, "separation": 12}"#,
      #"attack={"name": "dba", "clients": 4, "target": 0, "poison_fraction": 0.8, "scale": 2, "trigger": {"size": 4, "value": 6}}"#,
    ])
    let last = try #require(out.last)
    #expect(try #require(last.attackSuccess) > 0.5)
    #expect(last.malicious == 4)
  }
}
