import Foundation
import Testing

@testable import PoisonLab

/// An audit's input for tests: `network` with `parameters` (zeros when
/// nil) on `test`, plain SGD for fine-tuning (batch 4, rate 0.1).
func auditInput(
  _ network: Network, parameters: [Float]? = nil, test: Dataset, probe: AttackProbe? = nil,
  normalizer: Normalizer = Normalizer(offset: [0], factor: [1]), seed: UInt64 = 1,
  threads: Int = 1
) -> AuditInput {
  AuditInput(
    network: network,
    parameters: parameters ?? [Float](repeating: 0, count: network.parameterCount), test: test,
    probe: probe, normalizer: normalizer,
    training: TrainingSettings(rounds: 1, batchSize: 4, optimizer: SGD(learningRate: 0.1)),
    seeds: SeedTree(seed), threads: threads)
}

@Suite("Audits", .serialized)
struct AuditTests {
  /// A tiny image set (4 classes, 3 x 3 x 1, values 0-255 raw), seed 2.
  func images(_ count: Int) -> Dataset {
    var rng = SplitMix64(seed: 2)
    let features = (0..<(count * 9)).map { _ in Float(rng.nextInt(below: 256)) }
    return Dataset(
      features: features, labels: (0..<count).map { Int32($0 % 4) },
      shape: Shape(height: 3, width: 3, channels: 1), classes: 4, isImage: true)
  }

  @Test("STRIP: a model with zero weights predicts uniformly: entropy log2(4) = 2 for every blend")
  func stripUniform() throws {
    let network = Network(layers: [Dense(inputs: 9, outputs: 4)])
    let data = images(12)
    let input = auditInput(
      network, test: data, normalizer: Normalizer(offset: [127.5], factor: [1 / 127.5]))
    let strip = try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": 5, "clean_size": 10}}"#
      ).audit as? STRIP)
    let e = strip.entropies(of: data, pool: data, input: input, seed: "t")
    #expect(e.count == 12 && e.allSatisfy { abs($0 - 2) < 1e-9 })
    // Every entropy equals the threshold: nothing is below it, so nothing is rejected.
    let findings = try strip.audit(input)
    #expect(findings.threshold.map { abs($0 - 2) < 1e-9 } == true && findings.falseRejection == 0)
    #expect(findings.falseAcceptance == nil)
    var both = findings
    both.triggeredEntropies = [0.1, 0.2]
    let svg = STRIP.histogram(both, title: "t")
    #expect(svg.hasPrefix("<?xml") || svg.hasPrefix("<svg"))
    for name in ["clean inputs", "triggered inputs", "threshold (1% FRR)"] {
      #expect(svg.contains(name), "\(name)")
    }
  }

  @Test("STRIP's entropies do not depend on the worker threads (random weights, seed 4)")
  func stripThreads() throws {
    let network = Network(layers: [Dense(inputs: 9, outputs: 4)])
    var rng = SplitMix64(seed: 4)
    let parameters = network.initialParameters(using: &rng)
    let data = images(12)
    let strip = try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": 5, "clean_size": 10}}"#
      ).audit as? STRIP)
    func entropies(threads: Int) -> [Double] {
      let input = auditInput(
        network, parameters: parameters, test: data,
        normalizer: Normalizer(offset: [127.5], factor: [1 / 127.5]), threads: threads)
      return strip.entropies(of: data, pool: data, input: input, seed: "t")
    }
    let one = entropies(threads: 1)
    #expect(Set(one).count > 6, "entropies differ between inputs")
    #expect(entropies(threads: 2) == one && entropies(threads: 5) == one)
  }

  /// STRIP with `n` blends, `clean_size` and these further audit keys.
  func strip(_ keys: String, n: Int = 5, cleanSize: Int = 10) throws -> STRIP {
    try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": \#(n), "clean_size": \#(cleanSize)\#(keys)}}"#
      ).audit as? STRIP)
  }

  /// A model whose class-0 logit is the first pixel, normalised with
  /// offset 127.5 and factor 1 / 127.5; class 1's logit is 0.
  func firstPixelModel(_ data: Dataset, threads: Int = 1) -> AuditInput {
    let network = Network(layers: [Dense(inputs: 9, outputs: 2)])
    var parameters = [Float](repeating: 0, count: network.parameterCount)
    parameters[0] = 1
    return auditInput(
      network, parameters: parameters, test: data,
      normalizer: Normalizer(offset: [127.5], factor: [1 / 127.5]), threads: threads)
  }

  /// Images of one raw value everywhere, normalised as `firstPixelModel` expects.
  func flat(_ values: [Float]) -> Dataset {
    Dataset(
      features: values.flatMap { v in [Float](repeating: (v - 127.5) / 127.5, count: 9) },
      labels: values.map { _ in 0 }, shape: Shape(height: 3, width: 3, channels: 1), classes: 2,
      isImage: true)
  }

  @Test(
    "STRIP superimposition, hand-computed: pixel 100 on pixel 200 is 255 clipped, 300 summed, 150 averaged"
  )
  func stripSuperimpose() throws {
    // Entropy of softmax([x, 0]) with x = (raw - 127.5) / 127.5, in bits
    // (strip_reference.py).
    let expected = [
      ("", 0.8399415379831693), (#", "superimpose": "clipped-sum""#, 0.8399415379831693),
      (#", "superimpose": "sum""#, 0.7325778711767128),
      (#", "superimpose": "mean""#, 0.9944057588935584),
    ]
    let input = flat([100])
    let pool = flat([200, 200])
    for (keys, entropy) in expected {
      let e = try strip(keys).entropies(
        of: input, pool: pool, input: firstPixelModel(pool), seed: "t")
      #expect(abs(e[0] - entropy) < 1e-6, "\(keys): \(e)")
    }
    // Calibration never blends a defender's sample with itself: with the
    // pool {0, 100} summed, both blends are 100 (never 0 or 200).
    let two = flat([0, 100])
    let own = try strip(#", "superimpose": "sum""#).entropies(
      of: two, pool: two, input: firstPixelModel(two), seed: "t", inPool: true)
    let hundred = try strip(#", "superimpose": "sum""#).entropies(
      of: flat([100]), pool: flat([0]), input: firstPixelModel(two), seed: "t")
    #expect(own.allSatisfy { abs($0 - hundred[0]) < 1e-12 }, "\(own) vs \(hundred)")
  }

  @Test(
    "STRIP's threshold: the floor(frr x n)-th smallest clean entropy (hand-computed), or a fitted normal's quantile (SciPy)"
  )
  func stripThreshold() throws {
    let calibration = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 1.0]
    #expect(STRIP.threshold(calibration, frr: 0.2) == 0.3)  // floor(2.0) = 2 -> 0.3
    #expect(STRIP.threshold(calibration, frr: 0.01) == 0.1)  // floor(0.1) = 0
    #expect(STRIP.threshold(calibration, frr: 0.99) == 1.0)  // floor(9.9) = 9
    #expect(STRIP.threshold([], frr: 0.01) == nil)
    // 0.29 x 100 is 28.999999999999996 in binary: the 29th, not the 28th.
    #expect(STRIP.threshold((0..<100).map(Double.init), frr: 0.29) == 29)
    // The authors' rule: a normal fitted by SciPy's norm.fit (mu 0.55,
    // sigma 0.2872281323269014), then norm.ppf(frr); strip_reference.py.
    let low = try #require(STRIP.threshold(calibration, frr: 0.01, normal: true))
    #expect(abs(low - -0.1181925550034083) < 1e-9, "\(low)")
    let fifth = try #require(STRIP.threshold(calibration, frr: 0.2, normal: true))
    #expect(abs(fifth - 0.30826270495418906) < 1e-9, "\(fifth)")
  }

  @Test(
    "STRIP behaviour: a trigger that saturates the class-0 pixel is accepted by no threshold clean images set (seed 2)"
  )
  func stripSeparates() throws {
    var rng = SplitMix64(seed: 2)
    // Clean first pixels in [0, 100] never saturate (sums <= 200, entropy >=
    // 0.47 bits); triggered copies set the first pixel to 255.
    let cleanValues = (0..<60).map { _ in Float(rng.nextInt(below: 101)) }
    var clean = flat(cleanValues)
    for i in 0..<clean.count {
      for j in 1..<9 {
        clean.features[i * 9 + j] = (Float(rng.nextInt(below: 256)) - 127.5) / 127.5
      }
    }
    var input = firstPixelModel(clean, threads: 2)
    input.parameters[0] = 4
    var triggered = clean
    for i in 0..<triggered.count { triggered.features[i * 9] = 1 }
    input.probe = AttackProbe(
      inputs: triggered, target: 0, reportsRobustAccuracy: true, samples: Array(0..<clean.count))
    let findings = try strip("", n: 20, cleanSize: 30).audit(input)
    // Triggered blends all read 255: softmax([4, 0]) entropy 0.129979 bits each.
    #expect(findings.triggeredEntropies.count == 30, "only those made from the other 30 samples")
    #expect(findings.triggeredEntropies.allSatisfy { abs($0 - 0.129979) < 1e-5 })
    #expect(findings.falseAcceptance == 0)
    let threshold = try #require(findings.threshold)
    #expect(threshold > 0.2, "\(threshold)")
    #expect(
      findings.falseRejection
        == Double(findings.cleanEntropies.filter { $0 < threshold }.count) / 30)
  }

  @Test("fine-pruning: max_drop 1 prunes all but one neuron, 0 keeps the defender's accuracy")
  func finePruningBounds() throws {
    let text =
      #"{"name": "fp", "seed": 4, "dataset": {"name": "synthetic", "classes": 3, "features": 8, "train_size": 600, "test_size": 300, "separation": 4}, "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 3, "batch_size": 16}}"#
    func audit(_ block: String) throws -> AuditFindings {
      let out = try records(text, threads: 1, overrides: ["audit=\(block)"])
      return try #require(out.last?.totals?.audit)
    }
    let all = try audit(#"{"name": "fine-pruning", "max_drop": 1, "epochs": 0, "clean_size": 100}"#)
    #expect(all.pruned == 15)
    let none = try audit(
      #"{"name": "fine-pruning", "max_drop": 0, "epochs": 0, "clean_size": 100}"#)
    #expect((none.pruned ?? 0) < 15)
    #expect(none.accuracyBefore != nil && none.attackSuccessBefore == nil)
    // Pruning that keeps the defender's accuracy, without fine-tuning,
    // moves the other samples' accuracy by little.
    #expect(abs((none.accuracyAfter ?? 0) - (none.accuracyBefore ?? 1)) < 0.1)
  }

  /// The fine-pruning audit with these keys, for an image scenario.
  func finePruning(_ keys: String = "") throws -> FinePruning {
    try #require(
      try scenario(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn"}, "audit": {"name": "fine-pruning"\#(keys)}}"#
      ).audit as? FinePruning)
  }

  @Test(
    "fine-pruning picks the last of two convolutions (kernel 3, 2 input channels): its channels' sums and the filter and bias a pruned channel zeroes, hand-computed"
  )
  func finePruningLastConvolution() throws {
    // conv(4x4x1 -> 2, kernel 3), pool, ReLU, conv(2x2x2 -> 3, kernel 3), pool, ReLU, flatten,
    // dense 3 -> 2.
    let network = CNNModel.network(
      input: Shape(height: 4, width: 4, channels: 1), classes: 2, channels: [2, 3], kernel: 3,
      dense: [])
    // Layout: first conv 2 x 9 + 2 = 20 values, then the last conv's
    // 3 filters x (3 x 3 x 2 = 18) weights from 20, its biases at 74...76.
    #expect(network.offsets[3] == 20 && network.parameterCount == 20 + 57 + 8)
    let images = Dataset(
      features: (0..<32).map { Float($0) }, labels: [0, 1],
      shape: Shape(height: 4, width: 4, channels: 1), classes: 2, isImage: true)
    // Zero weights and biases [3, -1, 5]: every position of the 2x2 map
    // reads relu(bias); 2 images x 4 positions.
    var biasesOnly = (0..<network.parameterCount).map { Float($0 + 1) }
    for i in 20..<74 { biasesOnly[i] = 0 }
    biasesOnly[74] = 3
    biasesOnly[75] = -1
    biasesOnly[76] = 5
    let units = try #require(try finePruning().units(of: network, parameters: biasesOnly))
    #expect(units.count == 3)
    #expect(units.activation(images) == [24, 0, 40])
    // Pruning channel 1 zeroes exactly its 18 weights (38..<56) and its bias (75).
    let distinct = (0..<network.parameterCount).map { Float($0 + 1) }
    var pruned = distinct
    units.prune(&pruned, [1])
    let zeroed = pruned.indices.filter { pruned[$0] == 0 }
    #expect(zeroed == Array(38..<56) + [75], "\(zeroed)")
  }

  @Test(
    "the backdoor's probe records the test sample of every triggered input, and the audit's split keeps those the defender does not hold (seed 1)"
  )
  func probeSamples() throws {
    let s = try scenario(
      #"{"name": "p", "dataset": {"name": "synthetic", "classes": 3, "shape": [4, 4, 1], "test_size": 60}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "target": 2, "trigger": {"size": 2, "value": 9}}, "audit": {"name": "strip", "clean_size": 20}}"#
    )
    let attack = try #require(s.attacks.first?.attack as? any DataPoisoning)
    var rng = SplitMix64(seed: 1)
    let test = Dataset(
      features: (0..<(60 * 16)).map { _ in Float(rng.nextInt(below: 5)) },
      labels: (0..<60).map { Int32($0 % 3) }, shape: Shape(height: 4, width: 4, channels: 1),
      classes: 3, isImage: true)
    let probe = try #require(attack.probe(test: test))
    let samples = try #require(probe.samples)
    #expect(samples == (0..<60).filter { $0 % 3 != 2 })
    // Each input is its sample with the bottom-right 2x2 trigger stamped.
    for (k, i) in samples.enumerated() {
      #expect(probe.inputs.labels[k] == test.labels[i])
      for p in 0..<16 {
        let stamped = [10, 11, 14, 15].contains(p)
        #expect(probe.inputs.features[k * 16 + p] == (stamped ? 9 : test.features[i * 16 + p]))
      }
    }
    let strip = try #require(s.audit as? STRIP)
    let network = Network(layers: [Dense(inputs: 16, outputs: 3)])
    let input = auditInput(network, test: test, probe: probe)
    let (defender, rest, outside) = input.split(for: strip)
    let kept = try #require(outside?.samples)
    #expect(defender.count == 20 && rest.count == 40)
    #expect(kept.count == rest.labels.filter { $0 != 2 }.count && kept.count < samples.count)
    #expect(Set(kept).isSubset(of: Set(samples)))
    #expect(outside?.inputs.count == kept.count)
  }

  @Test("fine-pruning's order: least active first, ties by index")
  func finePruningOrder() {
    #expect(FinePruning.order([5, 1, 3, 1, 0]) == [4, 1, 3, 2, 0])
    #expect(FinePruning.order([]) == [])
  }

  @Test(
    "fine-pruning on a CNN ranks the last convolution's channels by mean post-ReLU activation before pooling, and zeroes a pruned channel's filter and bias, hand-computed"
  )
  func finePruningChannels() throws {
    // conv 1x1 on 2x2x1 images, 3 filters: weights 1, -1, 2 with biases 0, 0, -300;
    // pool, ReLU, flatten, dense 3 -> 4, ReLU, dense 4 -> 2.
    let network = CNNModel.network(
      input: Shape(height: 2, width: 2, channels: 1), classes: 2, channels: [3], kernel: 1,
      dense: [4])
    var parameters = [Float](repeating: 0.5, count: network.parameterCount)
    parameters[0] = 1
    parameters[1] = -1
    parameters[2] = 2
    parameters[3] = 0
    parameters[4] = 0
    parameters[5] = -300
    // Two images with pixels [100, 200, 50, 150] and [10, 20, 30, 40].
    let data = Dataset(
      features: [100, 200, 50, 150, 10, 20, 30, 40], labels: [0, 1],
      shape: Shape(height: 2, width: 2, channels: 1), classes: 2, isImage: true)
    let units = try #require(try finePruning().units(of: network, parameters: parameters))
    #expect(units.count == 3)
    // Sums of relu(conv) over both images and the 4 positions: 600, 0, and
    // relu(2x - 300) = 0 + 100 + 0 + 0 on the first image only.
    #expect(units.activation(data) == [600, 0, 100])
    #expect(FinePruning.order(units.activation(data)) == [1, 2, 0])
    var pruned = parameters
    units.prune(&pruned, [2, 1])
    #expect(Array(pruned[0..<6]) == [1, 0, 0, 0, 0, 0])
    #expect(pruned[6...] == parameters[6...], "nothing past the convolution changes")
    // layer "dense" ranks the 4 neurons of the last hidden layer instead.
    let dense = try #require(
      try finePruning(#", "layer": "dense""#).units(of: network, parameters: parameters))
    #expect(dense.count == 4)
    #expect(
      try finePruning(#", "layer": "conv""#).units(
        of: MLPModel.network(input: Shape(features: 4), classes: 2, hidden: [3]),
        parameters: [Float](repeating: 0, count: 23)) == nil)
  }

  @Test("the audit of a saved model equals the audit run after training")
  func savedModelAudit() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenarioFile = "scenarios/regression/backdoor-synthetic-cnn.json"
    let model = dir.path + "/m.safetensors"
    let block = #"{"name": "fine-pruning", "clean_size": 100, "epochs": 1}"#
    let run = try CLI.run([
      "run", scenarioFile, "--format", "jsonl", "--no-expect", "--save-model", model, "--set",
      "audit=\(block)",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try JSONParser.parse(String(run.stdout.split(separator: "\n").last ?? ""))
    let audit = try CLI.run([
      "audit", model, "--scenario", scenarioFile, "--method", block, "--format", "json",
    ])
    #expect(audit.status == 0, "\(audit.stderr)")
    let fields = try JSONParser.parse(audit.stdout)
    for key in [
      "audit_pruned", "audit_accuracy_before", "audit_accuracy_after", "audit_attack_success_after",
    ] {
      #expect(fields[key] != nil && fields[key] == summary[key], "\(key)")
    }
  }

  @Test(
    "audits that cannot work are refused: strip on tabular data, fine-pruning without a hidden layer"
  )
  func refusals() {
    let csv =
      #"{"name": "c", "dataset": {"name": "synthetic", "classes": 3, "features": 8}, "model": {"name": "mlp"}, "audit": {"name": "strip"}}"#
    #expect(scenarioErrors(csv).first?.hasPrefix("audit.name: strip blends images") == true)
    let flat =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "logistic"}, "audit": {"name": "fine-pruning"}}"#
    #expect(
      scenarioErrors(flat).first?.hasPrefix(
        "audit.name: fine-pruning prunes a convolution's channels or a hidden dense layer's neurons"
      ) == true)
    let mlp =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "fine-pruning", "layer": "conv"}}"#
    #expect(
      scenarioErrors(mlp).first?.hasPrefix(
        #"audit.layer: "conv" prunes the last convolution's channels; the model has no convolution"#
      ) == true)
    let noDense =
      #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn", "dense": []}, "audit": {"name": "fine-pruning", "layer": "dense"}}"#
    #expect(scenarioErrors(noDense).first?.hasPrefix(#"audit.layer: "dense" prunes"#) == true)
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "cnn", "dense": []}, "audit": {"name": "fine-pruning"}}"#
      ).isEmpty)
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "synthetic", "classes": 2, "shape": [6, 6, 1]}, "model": {"name": "mlp"}, "audit": {"name": "neural-cleanse"}}"#
      ) == [
        "audit.name: neural-cleanse's outlier test needs at least 3 classes; with 2 every anomaly index is 1/1.4826 = 0.67 and no class can be flagged"
      ])
    #expect(
      scenarioErrors(
        #"{"name": "c", "dataset": {"name": "fashion-mnist"}, "model": {"name": "mlp"}, "audit": {"name": "stirp"}}"#
      ).first?.contains(#"did you mean "strip"?"#) == true)
  }
}
