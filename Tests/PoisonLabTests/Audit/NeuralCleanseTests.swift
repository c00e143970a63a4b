// swift-format-ignore-file: NeverForceUnwrap

// (non-empty buffers; a nil base address is impossible here)
import Foundation
import Testing

@testable import PoisonLab

@Suite("Neural Cleanse and its engine")
struct NeuralCleanseTests {
  @Test(
    "input gradient, hand-computed: W = [[1, 2], [3, 4]], x = [1, 0], label 0 gives W^T (softmax - onehot)"
  )
  func inputGradientGolden() {
    // logits z = W x = [1, 3]; softmax = [1, e^2] / (1 + e^2) = [0.119203, 0.880797];
    // g = softmax - onehot(0) = [-0.880797, 0.880797]; dL/dx = W^T g = [1.761594, 1.761594].
    let network = Network(layers: [Dense(inputs: 2, outputs: 2)])
    let parameters: [Float] = [1, 2, 3, 4, 0, 0]
    let engine = InputGradient(network: network, capacity: 1)
    engine.input[0] = 1
    engine.input[1] = 0
    engine.labels[0] = 0
    var gradient: [Float] = [0, 0]
    let loss = parameters.withUnsafeBufferPointer { p in
      gradient.withUnsafeMutableBufferPointer { g in
        engine.compute(batch: 1, parameters: p.baseAddress!, gradient: g.baseAddress!)
      }
    }
    #expect(abs(loss - 2.126928) < 1e-5)  // log(1 + e^2)
    #expect(abs(gradient[0] - 1.761594) < 1e-5 && abs(gradient[1] - 1.761594) < 1e-5)
  }

  @Test("input gradient of whole networks (MLP and CNN) matches central differences (seed 11)")
  func inputGradientFiniteDifferences() throws {
    func model(_ json: String) throws -> any ModelArchitecture {
      try scenario(
        #"{"name": "g", "dataset": {"name": "fashion-mnist"}, "model": "# + json + "}"
      ).model
    }
    let cnn = try model(#"{"name": "cnn", "channels": [2], "kernel": 3, "dense": [5]}"#).build(
      input: Shape(height: 6, width: 6, channels: 1), classes: 3)
    let mlp = try model(#"{"name": "mlp", "hidden": [6]}"#).build(
      input: Shape(features: 7), classes: 3)
    for network in [mlp, cnn] {
      var rng = SplitMix64(seed: 11)
      let parameters = network.initialParameters(using: &rng)
      let d = network.inputShape.count
      let batch = 3
      let x = (0..<(batch * d)).map { _ in rng.nextUnitFloat() * 2 - 1 }
      let labels: [Int32] = [0, 2, 1]
      let engine = InputGradient(network: network, capacity: batch)
      func loss(_ x: [Float]) -> Double {
        for i in 0..<(batch * d) { engine.input[i] = x[i] }
        for b in 0..<batch { engine.labels[b] = labels[b] }
        var scratch = [Float](repeating: 0, count: batch * d)
        return parameters.withUnsafeBufferPointer { p in
          scratch.withUnsafeMutableBufferPointer { g in
            engine.compute(batch: batch, parameters: p.baseAddress!, gradient: g.baseAddress!)
          }
        } / Double(batch)
      }
      var analytic = [Float](repeating: 0, count: batch * d)
      for i in 0..<(batch * d) { engine.input[i] = x[i] }
      for b in 0..<batch { engine.labels[b] = labels[b] }
      parameters.withUnsafeBufferPointer { p in
        analytic.withUnsafeMutableBufferPointer { g in
          _ = engine.compute(batch: batch, parameters: p.baseAddress!, gradient: g.baseAddress!)
        }
      }
      let eps: Float = 1e-2
      for i in stride(from: 0, to: batch * d, by: 3) {
        var up = x
        up[i] += eps
        var down = x
        down[i] -= eps
        let numeric = (loss(up) - loss(down)) / Double(2 * eps)
        #expect(
          isClose(Double(analytic[i]), numeric, rtol: 3e-2, atol: 2e-3),
          "\(network.layers.count) layers, input \(i): \(analytic[i]) vs \(numeric)")
      }
    }
  }

  @Test("MAD outlier test, hand-computed: norms [8, 10, 12, 9, 11, 1]")
  func outlierGolden() {
    // median 9.5; |deviations| [1.5, 0.5, 2.5, 0.5, 1.5, 8.5], median 1.5,
    // MAD 1.4826 * 1.5 = 2.2239; class 5: 8.5 / 2.2239 = 3.822114 > 2 and below
    // the median: flagged; class 2: 2.5 / 2.2239 = 1.124151.
    let (indices, minimum, flagged) = NeuralCleanse.outliers([8, 10, 12, 9, 11, 1])
    #expect(flagged == [5])
    #expect(abs(minimum - 3.822114) < 1e-6 && abs(indices[2] - 1.124151) < 1e-6)
    // Far above the median is never flagged; no spread flags nothing.
    #expect(NeuralCleanse.outliers([8, 10, 12, 9, 11, 40]).flagged.isEmpty)
    #expect(NeuralCleanse.outliers([5, 5, 5, 5]).flagged.isEmpty)
    #expect(NeuralCleanse.outliers([5, 5, 5, 5]).indices == [0, 0, 0, 0])
    // MAD 0 with a norm off the median: NumPy's 4 / 0 = inf, flagged (below the median).
    let spike = NeuralCleanse.outliers([5, 5, 5, 1])
    #expect(spike.flagged == [3] && spike.indices == [0, 0, 0, .infinity])
    #expect(spike.minimumIndex == .infinity)
    #expect(NeuralCleanse.outliers([5, 5, 5, 9]).flagged.isEmpty)
    #expect(RobustStatistics.median([3, 1, 2, 10]) == 2.5)
  }

  @Test(
    "Adam, hand-computed first step: x = 0, g = 2, rate 0.1, β 0.5/0.9 gives -0.1 · 0.632456 / (0.632456 + 1e-7)"
  )
  func adamGolden() {
    var adam = Adam(count: 1, rate: 0.1)
    var x = [0.0]
    adam.step(&x, gradient: [2])
    // m = 1, v = 0.4; rate_t = 0.1 * sqrt(0.1) / 0.5; step = rate_t * 1 / (sqrt(0.4) + 1e-7).
    let expected = -0.1 * 0.1.squareRoot() / 0.5 / (0.4.squareRoot() + 1e-7)
    #expect(abs(x[0] - expected) < 1e-12 && abs(x[0] + 0.1) < 1e-6)
  }

  /// A hand-built linear model on 4 x 4 images: classes 0-4 each read their
  /// own three pixels; class 4 also reads the bottom-right pixel with weight
  /// 30, a backdoor no clean image (pixels in [0, 100]) sets.
  func backdooredLinear(backdoor: Bool) -> AuditInput {
    let classes = 5
    let network = Network(layers: [Dense(inputs: 16, outputs: classes)])
    var parameters = [Float](repeating: 0, count: network.parameterCount)
    for k in 0..<classes {
      for p in (3 * k)..<(3 * k + 3) { parameters[k * 16 + p] = 1 }
    }
    if backdoor { parameters[4 * 16 + 15] = 30 }
    var rng = SplitMix64(seed: 9)
    let count = 300
    let raw = (0..<(count * 16)).map { _ in Float(rng.nextInt(below: 101)) }
    let normalizer = Normalizer(offset: [0], factor: [1 / 255])
    var data = Dataset(
      features: raw, labels: (0..<count).map { Int32($0 % classes) },
      shape: Shape(height: 4, width: 4, channels: 1), classes: classes, isImage: true)
    normalizer.apply(to: &data)
    let probe =
      backdoor
      ? AttackProbe(inputs: data.subset([0, 1]), target: 4, reportsRobustAccuracy: true) : nil
    return AuditInput(
      network: network, parameters: parameters, test: data, probe: probe, normalizer: normalizer,
      training: TrainingSettings(rounds: 1, batchSize: 8, optimizer: SGD(learningRate: 0.1)),
      seeds: SeedTree(3), threads: 2)
  }

  @Test(
    "a hand-built backdoor is flagged and its reversed mask sits on the trigger pixel; the clean model flags nothing (seed 3)"
  )
  func behaviour() throws {
    let audit = NeuralCleanse(epochs: 200, cleanSize: 200)
    let found = try audit.audit(backdooredLinear(backdoor: true))
    #expect(found.flaggedClasses == [4] && found.detected == true && found.falsePositive == nil)
    let trigger = try #require(found.triggers.last)
    #expect(trigger.target == 4 && trigger.reachedThreshold)
    #expect(Double(trigger.mask[15]) > 0.5 * trigger.norm, "\(trigger.mask)")
    let norms = try #require(found.maskNorms)
    #expect(norms[4] < 0.5 * (norms[0..<4].min() ?? 0), "\(norms)")
    let clean = try audit.audit(backdooredLinear(backdoor: false))
    #expect(clean.flaggedClasses == [] && clean.falsePositive == false && clean.detected == nil)
    #expect(found.unreversedClasses == [])
    // One epoch at a success threshold of 1 reverses only the backdoor's
    // target (its pixel has weight 30): the clean classes are listed.
    let failing = try NeuralCleanse(epochs: 1, successThreshold: 1, cleanSize: 200).audit(
      backdooredLinear(backdoor: true))
    #expect(failing.unreversedClasses == [0, 1, 2, 3])
    // Deterministic for any thread count: one seed stream per class.
    var one = backdooredLinear(backdoor: true)
    one.threads = 1
    #expect(try audit.audit(one).maskNorms == norms)
  }

  @Test("PNG: signature, IHDR, chunk CRCs, and pixels that zlib (Python) decodes back")
  func png() throws {
    let image = RasterImage(width: 3, height: 2, channels: 1, values: [0, 128, 255, 10, 20, 300])
    let bytes = image.png()
    #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    // IHDR: length 13, width 3, height 2, depth 8, grey.
    #expect(Array(bytes[8..<16]) == [0, 0, 0, 13] + Array("IHDR".utf8))
    #expect(Array(bytes[16..<29]) == [0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0])
    // IEND's CRC is the constant AE 42 60 82.
    #expect(Array(bytes.suffix(8)) == Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
    #expect(
      image.enlarged(2).pixels == [
        0, 0, 128, 128, 255, 255, 0, 0, 128, 128, 255, 255,
        10, 10, 20, 20, 255, 255, 10, 10, 20, 20, 255, 255,
      ])
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.path + "/i.png"
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [
      "-c",
      """
      import sys, struct, zlib
      b = open(sys.argv[1], 'rb').read()
      pos, data = 8, b''
      while pos < len(b):
          n = struct.unpack('>I', b[pos:pos+4])[0]
          kind, body = b[pos+4:pos+8], b[pos+8:pos+8+n]
          assert struct.unpack('>I', b[pos+8+n:pos+12+n])[0] == zlib.crc32(kind + body)
          if kind == b'IDAT': data += body
          pos += 12 + n
      print(list(zlib.decompress(data)))
      """, file,
    ]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(
      text.trimmingCharacters(in: .whitespacesAndNewlines) == "[0, 0, 128, 255, 0, 10, 20, 255]")
  }
}

@Suite("Audit pictures", .serialized)
struct AuditPictureTests {
  @Test(
    "--audit-dir: neural-cleanse leaves an overview and every class's mask, pattern and fusion; strip its histograms; no audit block exits 2"
  )
  func auditDirectory() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenarioFile = "scenarios/regression/backdoor-synthetic-cnn.json"
    let nc = #"audit={"name": "neural-cleanse", "epochs": 3, "clean_size": 30}"#
    let run = try CLI.run([
      "run", scenarioFile, "--format", "jsonl", "--no-expect", "--set", nc, "--audit-dir", dir.path,
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let files = Set((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
    #expect(files.contains("neural-cleanse.svg"))
    for k in 0..<3 {
      for part in ["mask", "pattern", "fusion"] {
        for ext in ["png", "svg"] {
          #expect(
            files.contains("neural-cleanse-class-\(k)-\(part).\(ext)"), "class \(k) \(part).\(ext)")
        }
      }
    }
    let png = try Data(
      contentsOf: URL(fileURLWithPath: dir.path + "/neural-cleanse-class-2-mask.png"))
    #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
    let strip = try CLI.run([
      "run", scenarioFile, "--format", "jsonl", "--no-expect", "--set",
      #"audit={"name": "strip", "n": 5, "clean_size": 30, "inputs": 20}"#, "--audit-dir", dir.path,
    ])
    #expect(strip.status == 0, "\(strip.stderr)")
    let svg = try String(contentsOfFile: dir.path + "/strip-entropy.svg", encoding: .utf8)
    #expect(svg.contains("triggered inputs"))
    let none = try CLI.run(["run", scenarioFile, "--no-expect", "--audit-dir", dir.path])
    #expect(none.status == 2 && none.stderr.contains("no audit block"), "\(none.stderr)")
  }

  @Test("an output named like an audit picture inside --audit-dir is refused before any work")
  func pictureNames() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenarioFile = "scenarios/regression/backdoor-synthetic-cnn.json"
    let strip = #"audit={"name": "strip", "n": 5, "clean_size": 30, "inputs": 20}"#
    let clash = try CLI.run([
      "run", scenarioFile, "--no-expect", "--set", strip, "--audit-dir", dir.path, "--plot",
      dir.path + "/strip-entropy.svg",
    ])
    #expect(clash.status == 2 && clash.stderr.contains("audit picture"), "\(clash.stderr)")
    let model = try CLI.run([
      "run", scenarioFile, "--no-expect", "--set", strip, "--audit-dir", dir.path + "/.",
      "--save-model", dir.path + "/neural-cleanse-class-0-mask.png",
    ])
    #expect(model.status == 2 && model.stderr.contains("audit picture"), "\(model.stderr)")
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).isEmpty)
    #expect(AuditFindings.isPictureName("strip-entropy.svg.partial"))
    #expect(!AuditFindings.isPictureName("curves.svg"))
  }
}
