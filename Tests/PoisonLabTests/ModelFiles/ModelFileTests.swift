import Foundation
import Testing

@testable import PoisonLab

@Suite("Model files: safetensors")
struct SafetensorsTests {
  @Test("hand-built file: header length, JSON header padded to 8 bytes, little-endian floats")
  func golden() throws {
    let bytes = Safetensors.encode(
      [Safetensors.Tensor(name: "a", shape: [2], values: [1, -2])], metadata: [("k", "v")])
    let header =
      #"{"__metadata__": {"k": "v"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#
    var padded = Array(header.utf8)
    while padded.count % 8 != 0 { padded.append(0x20) }
    #expect(Array(bytes[0..<8]) == [UInt8(padded.count), 0, 0, 0, 0, 0, 0, 0])
    #expect(Array(bytes[8..<(8 + padded.count)]) == padded)
    // 1.0 = 0x3F800000, -2.0 = 0xC0000000, little-endian.
    #expect(Array(bytes[(8 + padded.count)...]) == [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0])
    let decoded = try Safetensors.decode(bytes, file: "x")
    #expect(decoded.tensors == [Safetensors.Tensor(name: "a", shape: [2], values: [1, -2])])
    #expect(decoded.metadata == ["k": "v"])
    // The header alone gives the metadata, also when the tensor data is cut off.
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    #expect(Safetensors.metadata(ofFile: dir.write("m.safetensors", bytes)) == ["k": "v"])
    let cut = dir.write("cut.safetensors", Array(bytes[0..<(8 + padded.count)]))
    #expect(Safetensors.metadata(ofFile: cut) == ["k": "v"])
    #expect(Safetensors.metadata(ofFile: dir.write("short", [1, 2, 3])) == nil)
  }

  @Test("corrupt files are named errors: truncated, bad length, dtype, holes, shape mismatch")
  func corrupt() throws {
    let good = Safetensors.encode(
      [
        Safetensors.Tensor(name: "a", shape: [2], values: [1, 2]),
        Safetensors.Tensor(name: "b", shape: [1], values: [3]),
      ], metadata: [])
    func reason(_ bytes: [UInt8]) -> String? {
      do {
        _ = try Safetensors.decode(bytes, file: "m.safetensors")
        return nil
      } catch {
        return "\(error)"
      }
    }
    #expect(reason(good) == nil)
    #expect(
      reason(Array(good.dropLast())).map {
        $0.contains("is truncated: its header describes 12 bytes of tensor data, the file holds 11")
      } == true)
    // Cut inside the first tensor's data, and padded: both named, with both sizes.
    let headerEnd = 8 + Int(good[0])
    #expect(
      reason(Array(good.prefix(headerEnd + 4))).map { $0.contains("the file holds 4") } == true)
    #expect(
      reason(good + [0]).map { $0.contains("holds 13 bytes") && $0.contains("(padded)") } == true)
    #expect(reason([1, 2, 3]).map { $0.contains("8-byte header length") } == true)
    var long = good
    long[0] = 0xFF
    long[1] = 0xFF
    #expect(reason(long).map { $0.contains("truncated, or not safetensors") } == true)
    // Edits of the header that keep its length.
    func edited(_ from: String, _ to: String) -> [UInt8] {
      let n = Int(good[0])
      let header = String(decoding: good[8..<(8 + n)], as: UTF8.self)
        .replacingOccurrences(of: from, with: to)
      return Array(good[0..<8]) + Array(header.utf8) + Array(good[(8 + n)...])
    }
    #expect(reason(edited("F32", "F16")).map { $0.contains("F32 tensors only") } == true)
    #expect(reason(edited("[8, 12]", "[9, 13]")).map { $0.contains("holes or overlaps") } == true)
    #expect(
      reason(edited("\"shape\": [1]", "\"shape\": [2]")).map {
        $0.contains("data_offsets span 4 bytes")
      } == true)
  }

  @Test("hostile headers: sizes that overflow and rounds out of range are corrupt, not crashes")
  func hostile() throws {
    func bytes(_ header: String, data: [UInt8]) -> [UInt8] {
      var h = Array(header.utf8)
      while h.count % 8 != 0 { h.append(0x20) }
      return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + data
    }
    for header in [
      #"{"a": {"dtype": "F32", "shape": [1099511627776, 4194304], "data_offsets": [0, 4]}}"#,
      #"{"a": {"dtype": "F32", "shape": [256, 441650591, 20394401], "data_offsets": [0, 9223372036854774784]}}"#,
    ] {
      #expect(throws: DataError.self) {
        _ = try Safetensors.decode(bytes(header, data: [0, 0, 0, 0]), file: "h")
      }
    }
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let network = MLPModel.network(input: Shape(features: 3), classes: 2, hidden: [])
    let tensors = [
      Safetensors.Tensor(name: "layers.0.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
      Safetensors.Tensor(name: "layers.0.bias", shape: [2], values: [7, 8]),
    ]
    for round in ["9223372036854775807", "-5"] {
      let file = dir.write(
        "r.safetensors", Safetensors.encode(tensors, metadata: [("round", round)]))
      #expect(throws: ModelFile.LoadError.self) {
        _ = try ModelFile.load(file, network: network, input: Shape(features: 3))
      }
    }
    let ok = dir.write("ok.safetensors", Safetensors.encode(tensors, metadata: [("round", "2")]))
    #expect(try ModelFile.load(ok, network: network, input: Shape(features: 3)).round == 2)
  }

  @Test(
    "PyTorch layouts: Conv2d out x in x kh x kw, Linear after a multi-channel flatten in C,H,W order"
  )
  func layouts() throws {
    let input = Shape(height: 3, width: 3, channels: 2)
    let conv = Conv2D(shape: input, filters: 2, kernel: 3, padding: 1)
    let flatten = Flatten(shape: conv.outputShape)
    let dense = Dense(inputs: flatten.outputShape.count, outputs: 2)
    let network = Network(layers: [conv, ReLU(shape: conv.outputShape), flatten, dense])
    let values = (0..<network.parameterCount).map { Float($0) }
    let tensors = ModelFile.layouts(network, input: input)
    #expect(
      tensors.map(\.name) == [
        "layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias",
      ])
    #expect(tensors[0].shape == [2, 2, 3, 3] && tensors[2].shape == [2, 18])
    // Conv weight [o, i, ky, kx] is stored at ((o k + ky) k + kx) cin + i.
    let w = tensors[0].indices.map { values[$0] }
    #expect(w[((1 * 2 + 0) * 3 + 2) * 3 + 1] == Float(((1 * 3 + 2) * 3 + 1) * 2 + 0))
    // Linear column j (C,H,W) = c 9 + p reads the stored column p 2 + c.
    let denseBase = network.offsets[3]
    let lw = tensors[2].indices.map { values[$0] }
    #expect(lw[1 * 18 + 9 + 4] == Float(denseBase + 1 * 18 + 4 * 2 + 1))
    // Every parameter is written exactly once.
    #expect(Set(tensors.flatMap(\.indices)) == Set(0..<network.parameterCount))
  }

  @Test("save then load is bit-exact (seed 4), and a mismatched model names tensor and shapes")
  func roundTrip() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let input = Shape(height: 6, width: 6, channels: 1)
    let network = CNNModel.network(input: input, classes: 3, channels: [3], kernel: 3, dense: [8])
    var rng = SplitMix64(seed: 4)
    var parameters = network.initialParameters(using: &rng)
    parameters[0] = .leastNonzeroMagnitude
    parameters[1] = -0.0
    let file = dir.path + "/m.safetensors"
    let metadata = ModelFile.Metadata(
      architecture: "{}", scenario: "s", seed: 4, round: 7, normalizer: nil, fingerprint: "abc")
    try ModelFile.save(parameters, network: network, input: input, metadata: metadata, to: file)
    let loaded = try ModelFile.load(file, network: network, input: input)
    #expect(loaded.parameters.map(\.bitPattern) == parameters.map(\.bitPattern))
    #expect(loaded.round == 7 && loaded.fingerprint == "abc" && loaded.seed == 4)
    let other = CNNModel.network(input: input, classes: 3, channels: [4], kernel: 3, dense: [8])
    #expect(throws: ModelFile.LoadError.self) {
      _ = try ModelFile.load(file, network: other, input: input)
    }
    do {
      _ = try ModelFile.load(file, network: other, input: input)
    } catch {
      #expect(
        "\(error)".contains(
          "tensor layers.0.weight has shape [3, 1, 3, 3] but the scenario's model needs [4, 1, 3, 3]"
        ))
    }
  }
}

@Suite("Model files end to end", .serialized)
struct ModelFileCLITests {
  @Test(
    "a checkpoint resumes the run: rows from that round on are identical to the uninterrupted run's"
  )
  func resume() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let text = try String(
      contentsOfFile: CLI.root.path + "/scenarios/regression/smoke-federated.json", encoding: .utf8)
    func rows(_ files: ModelFileOptions) throws -> [MetricRecord] {
      var experiment = Experiment(scenario: try scenario(text), threads: 2)
      experiment.modelFiles = files
      var out: [MetricRecord] = []
      try experiment.run { record in
        var r = record
        r.seconds = 0
        if r.kind == .round { out.append(r) }
      }
      return out
    }
    let full = try rows(ModelFileOptions(checkpointEvery: 2, checkpointDirectory: dir.path))
    let resumed = try rows(ModelFileOptions(initial: dir.path + "/round-0002.safetensors"))
    #expect(full.count == 4 && resumed.map(\.round) == [3, 4])
    #expect(Array(full.suffix(2)) == resumed)
  }

  @Test(
    "resuming a run whose state is more than its weights warns on stderr and names that state; a stateless resume does not warn"
  )
  func resumeWarning() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let stateful = "scenarios/regression/safeguards-rollback.json"
    let first = try CLI.run([
      "run", stateful, "--format", "jsonl", "--no-expect", "--checkpoint-every", "4",
      "--checkpoint-dir", dir.path, "--save-model", dir.path + "/final.safetensors",
    ])
    #expect(first.status == 0, "\(first.stderr)")
    #expect(!first.stderr.contains("warning: resuming"))
    // A file that already holds the last round is refused, without the warning.
    let done = try CLI.run([
      "run", stateful, "--format", "jsonl", "--no-expect", "--init-model",
      dir.path + "/final.safetensors",
    ])
    #expect(done.status == 2 && done.stderr.contains("already holds round 10"), "\(done.stderr)")
    #expect(!done.stderr.contains("warning"), "\(done.stderr)")
    // So is --init-model on a pipeline, whose state (momentum) a file would not hold either.
    let pipeline = "scenarios/regression/pipeline-provenance.json"
    let saved = try CLI.run([
      "run", pipeline, "--format", "jsonl", "--no-expect", "--set", "training.momentum=0.9",
      "--save-model", dir.path + "/pipeline.safetensors",
    ])
    #expect(saved.status == 0, "\(saved.stderr)")
    let again = try CLI.run([
      "run", pipeline, "--format", "jsonl", "--no-expect", "--set", "training.momentum=0.9",
      "--init-model", dir.path + "/pipeline.safetensors",
    ])
    #expect(again.status == 2 && again.stderr.contains("pipeline"), "\(again.stderr)")
    #expect(!again.stderr.contains("warning"), "\(again.stderr)")
    let resumed = try CLI.run([
      "run", stateful, "--format", "jsonl", "--no-expect", "--init-model",
      dir.path + "/round-0004.safetensors",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("warning: resuming after round 4 of"))
    #expect(resumed.stderr.contains("the safeguards' state"))
    #expect(resumed.stderr.contains("the backdoor's") == false)
    #expect(resumed.stderr.contains("The rows from round 5 on can differ"))
    // The same scenario without safeguards resumes exactly: no warning.
    try FileManager.default.createDirectory(
      atPath: dir.path + "/plain", withIntermediateDirectories: false)
    let plain = try CLI.run([
      "run", stateful, "--format", "jsonl", "--no-expect", "--set", "safeguards=null",
      "--checkpoint-every", "4", "--checkpoint-dir", dir.path + "/plain",
    ])
    #expect(plain.status == 0, "\(plain.stderr)")
    let quiet = try CLI.run([
      "run", stateful, "--format", "jsonl", "--no-expect", "--set", "safeguards=null",
      "--init-model", dir.path + "/plain/round-0004.safetensors",
    ])
    #expect(quiet.status == 0, "\(quiet.stderr)")
    #expect(!quiet.stderr.contains("warning"), "\(quiet.stderr)")
  }

  @Test("stateAcrossRounds names the stateful defenses and attacks, and the centralized momentum")
  func statefulParts() throws {
    let base =
      #"{"name": "x", "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 600, "test_size": 150}, "model": {"name": "mlp", "hidden": [6]}, "training": {"rounds": 3}, "federation": {"clients": 12}}"#
    func state(_ overrides: [String]) throws -> [String] {
      Experiment(scenario: try scenario(base, overrides: overrides), threads: 1)
        .stateNotInModelFiles
    }
    #expect(try state([]).isEmpty)
    #expect(
      try state([#"defense={"name": "foolsgold"}"#]) == [
        "foolsgold's history of each client's updates"
      ])
    #expect(
      try state([#"defense={"name": "centered-clipping"}"#]) == [
        "centered-clipping's starting point (the last aggregate)"
      ])
    #expect(try state([#"attack={"name": "ipm", "clients": 2}"#]).isEmpty)
    #expect(try state([#"attack={"name": "replay"}"#]) == ["replay's captured messages"])
    #expect(
      try state([#"attack={"name": "sybil", "identities": 2, "update": {"name": "sign-flip"}}"#])
        == ["the sybils' next free identity and enrolled keys"])
    #expect(
      try state(["federation=null", "training.momentum=0.9"]) == ["the optimiser's momentum"])
    #expect(try state(["federation=null"]).isEmpty)
    // A backdoor (and DBA, which finishes its updates the same way) is stateful only with a mask.
    let images = ["dataset.shape=[8, 8, 1]", "dataset.features=null"]
    let mask = "the backdoor's mask_fraction reference (the last global update)"
    #expect(try state(images + [#"attack={"name": "backdoor", "clients": 1}"#]).isEmpty)
    #expect(
      try state(images + [#"attack={"name": "backdoor", "clients": 1, "mask_fraction": 0.5}"#])
        == [mask])
    #expect(
      try state(images + [#"attack={"name": "dba", "clients": 2, "mask_fraction": 0.5}"#])
        == [mask])
    // Several at once, each named.
    let both = try state([
      #"defense={"name": "foolsgold"}"#,
      #"safeguards={"monitor": {"signals": ["update_norm"], "window": 3}}"#, "training.rounds=5",
    ])
    #expect(both.count == 2 && both[0].hasPrefix("the safeguards' state"), "\(both)")
  }

  @Test("NumPy alone reads the saved MLP and reproduces poisonlab's test accuracy exactly")
  func numpyForward() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let model = dir.path + "/mlp.safetensors"
    let r = try CLI.run([
      "run", "scenarios/fashion-mnist-clean.json", "--format", "jsonl", "--save-model", model,
      "--set", "dataset.train_size=3000", "--set", "training.rounds=1", "--set",
      "model.hidden=[32]",
      "--no-expect",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    guard
      case .object(let summary)? = try? JSONParser.parse(
        String(r.stdout.split(separator: "\n").last ?? ""))
    else {
      Issue.record("no summary")
      return
    }
    let accuracy = summary.first { $0.key == "accuracy" }?.value
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    let data = "/usr/share/datasets/fashion-mnist"
    process.arguments = [
      CLI.root.path + "/Tests/PoisonLabTests/Fixtures/safetensors_forward.py", model,
      data + "/t10k-images-idx3-ubyte.gz", data + "/t10k-labels-idx1-ubyte.gz",
    ]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let parts = text.split(separator: " ").compactMap {
      Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    try #require(parts.count == 2, "the script printed \(text)")
    guard case .number(let a)? = accuracy else {
      Issue.record("the summary has no accuracy")
      return
    }
    #expect(parts[0] / parts[1] == a, "NumPy \(parts[0]) / \(parts[1]) against poisonlab \(a)")
  }

  @Test(
    "--init-model: a corrupt file exits 3 naming it; a model of another shape exits 2; --save-model needs --force to replace"
  )
  func initModelErrors() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let smoke = "scenarios/regression/smoke-federated.json"
    let junk = dir.write("junk.safetensors", [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let corrupt = try CLI.run(["run", smoke, "--init-model", junk, "--format", "jsonl"])
    #expect(corrupt.status == 3 && corrupt.stderr.contains(junk))
    let model = dir.path + "/m.safetensors"
    #expect(try CLI.run(["run", smoke, "--save-model", model, "--format", "jsonl"]).status == 0)
    // A saved model is never replaced without --force (exit 2, the file untouched).
    let saved = try Data(contentsOf: URL(fileURLWithPath: model))
    let again = try CLI.run([
      "run", smoke, "--save-model", model, "--format", "jsonl", "--set", "seed=9",
    ])
    #expect(again.status == 2 && again.stderr.contains("exists; add --force"), "\(again.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == saved)
    let forced = try CLI.run([
      "run", smoke, "--save-model", model, "--format", "jsonl", "--set", "seed=9", "--force",
      "--no-expect",
    ])
    #expect(forced.status == 0)
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) != saved)
    let other = try CLI.run([
      "run", smoke, "--init-model", model, "--set", "model.hidden=[25]", "--format", "jsonl",
    ])
    #expect(other.status == 2)
    #expect(
      other.stderr.contains(
        "tensor layers.0.weight has shape [24, 16] but the scenario's model needs [25, 16]"))
    let usage = try CLI.run(["run", smoke, "--checkpoint-every", "2"])
    #expect(usage.status == 2 && usage.stderr.contains("go together"))
  }
}

@Suite("Update export", .serialized)
struct UpdateExportTests {
  @Test(
    "--save-updates then aggregate reproduces every stateless rule's aggregate bit for bit, from the resolved chain and from the scenario's block as written (f unset: the run's default_f)"
  )
  func reproduce() throws {
    let base =
      #"{"name": "x", "seed": 8, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 600, "test_size": 150, "separation": 5}, "model": {"name": "mlp", "hidden": [6]}, "training": {"rounds": 3, "batch_size": 16}, "federation": {"clients": 12}, "attack": {"name": "ipm", "clients": 2}}"#
    // Rules that carry state from round to round cannot be replayed from one round's file.
    var stateful: Set<String> = []
    var checked = 0
    let updateRules = Registry.descriptors(.defenses).filter {
      !["sanitizer", "source filter"].contains(Registry.role(.defenses, $0.name))
    }
    for d in updateRules {
      let block = #"{"name": "\#(d.name)"}"#
      let chain =
        Registry.role(.defenses, d.name) == "aggregator"
        ? block : #"[\#(block), {"name": "\#(d.name == "dp" ? "mean" : "median")"}]"#
      let dir = TemporaryDirectory()
      defer { dir.cleanup() }
      var experiment = Experiment(
        scenario: try scenario(base, overrides: ["defense=\(chain)"]), threads: 2)
      if experiment.scenario.defenses.contains(where: { $0.defense.stateAcrossRounds != nil }) {
        stateful.insert(d.name)
      }
      experiment.updateExport = dir.path
      try experiment.run { _ in }
      for round in 1...3 where round == 1 || !stateful.contains(d.name) {
        let stem = UpdateExport.stem(dir.path, round: round)
        let matrix = try MatrixFile.read(stem + ".npy")
        let expected = try MatrixFile.read(stem + ".aggregate.npy").values
        let facts = try #require(try UpdateExport.sidecar(of: stem + ".npy"))
        let (c, _) = try ScenarioLoader.defenseChain(
          try JSONParser.parse(resolvedChain(stem)), source: "t", updates: matrix.shape[0])
        try compare(c, matrix, facts, expected, d.name, round)
        #expect(facts.defaultF == 2)
        let (written, _) = try ScenarioLoader.defenseChain(
          try JSONParser.parse(chain), source: "t", updates: matrix.shape[0],
          defaultF: try #require(facts.defaultF))
        try compare(written, matrix, facts, expected, d.name + " as written", round)
      }
      checked += 1
    }
    #expect(checked == updateRules.count && checked == Registry.descriptors(.defenses).count - 5)
    #expect(stateful == ["foolsgold", "centered-clipping"])
  }

  @Test(
    "the aggregate command replays an exported dnc round from the scenario's block as written: f comes from the round's default_f, not 0"
  )
  func commandUsesTheRunsF() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let run = try CLI.run([
      "run", "scenarios/regression/smoke-federated.json", "--format", "jsonl", "--no-expect",
      "--set", #"defense={"name": "dnc"}"#, "--set", "training.rounds=1", "--save-updates",
      dir.path,
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let stem = UpdateExport.stem(dir.path, round: 1)
    let facts = try #require(try UpdateExport.sidecar(of: stem + ".npy"))
    #expect((facts.defaultF ?? 0) > 0)
    let expected = try MatrixFile.read(stem + ".aggregate.npy").values
    func replay(_ defense: String, _ output: String) throws -> [Float] {
      let r = try CLI.run([
        "aggregate", stem + ".npy", "--defense", defense, "--output", output, "--format", "json",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      return try MatrixFile.read(output).values
    }
    let asWritten = try replay(#"{"name": "dnc"}"#, dir.path + "/written.npy")
    #expect(asWritten.map(\.bitPattern) == expected.map(\.bitPattern))
    // f = 0 named explicitly is another rule: it removes fewer rows.
    let zero = try replay(#"{"name": "dnc", "f": 0}"#, dir.path + "/zero.npy")
    #expect(zero.map(\.bitPattern) != expected.map(\.bitPattern))
    // An export written before default_f: f = 0, and a note says so.
    let text = try String(contentsOfFile: stem + ".json", encoding: .utf8)
    guard case .object(let members) = try JSONParser.parse(text) else {
      Issue.record("not an object")
      return
    }
    func write(_ members: [JSONMember]) throws {
      try JSONValue.object(members).serialized().write(
        toFile: stem + ".json", atomically: true, encoding: .utf8)
    }
    try write(members.filter { $0.key != "default_f" })
    let old = try CLI.run([
      "aggregate", stem + ".npy", "--defense", #"{"name": "dnc"}"#, "--format", "json",
    ])
    #expect(old.status == 0 && old.stderr.contains("has no default_f"), "\(old.stderr)")
    // One beyond what f may be is a corrupt file, named.
    try write(
      members.map { $0.key == "default_f" ? JSONMember("default_f", .number(1_000_000)) : $0 })
    let huge = try CLI.run(["aggregate", stem + ".npy", "--defense", "dnc"])
    #expect(huge.status == 3 && huge.stderr.contains("from 0 to 100000"), "\(huge.stderr)")
  }

  /// The resolved chain recorded in the round's JSON.
  func resolvedChain(_ stem: String) throws -> String {
    let text = try String(contentsOfFile: stem + ".json", encoding: .utf8)
    return try #require(try JSONParser.parse(text)["defense"]).serialized()
  }

  func compare(
    _ chain: DefenseChain, _ matrix: NPYArray, _ facts: UpdateExport.Round, _ expected: [Float],
    _ name: String, _ round: Int
  ) throws {
    var chain = chain
    let set = UpdateSet(
      values: matrix.values, count: matrix.shape[0], dimension: matrix.shape[1],
      weights: facts.weights)
    let server = try facts.serverUpdate.map { try MatrixFile.read($0).values }
    let result = try chain.run(
      set, round: facts.round, threads: 1, previousAggregate: nil, seeds: SeedTree(facts.seed),
      clients: facts.clients, serverUpdate: server, quarantined: facts.quarantined)
    #expect(
      result.aggregate.map(\.bitPattern) == expected.map(\.bitPattern), "\(name) round \(round)")
  }
}

@Suite("Records: flagged clients, class accuracy, confusion matrix")
struct RecordDetailTests {
  @Test(
    "confusion rows sum to each class's test samples; its diagonal gives class and overall accuracy"
  )
  func confusion() throws {
    let out = try records(
      channelBase, threads: 2,
      overrides: [#"defense={"name": "krum", "f": 2}"#, #"attack={"name": "ipm", "clients": 2}"#])
    let summary = try #require(out.last)
    let matrix = try #require(summary.confusion)
    let perClass = try #require(summary.classAccuracy)
    #expect(matrix.count == 4 && matrix.allSatisfy { $0.count == 4 })
    #expect(matrix.map { $0.reduce(0, +) }.reduce(0, +) == 400)
    for c in 0..<4 {
      let total = matrix[c].reduce(0, +)
      #expect(perClass[c] == Double(matrix[c][c]) / Double(total))
    }
    let correct = (0..<4).reduce(0) { $0 + matrix[$1][$1] }
    #expect(Double(correct) / 400 == summary.accuracy)
    for r in out where r.kind == .round {
      #expect(r.flaggedClients?.count == r.flagged, "round \(r.round)")
    }
    let fields = summary.fields.map(\.key)
    #expect(fields.contains("class_accuracy") && fields.contains("confusion_matrix"))
    #expect(!(out.first?.fields.map(\.key).contains("confusion_matrix") ?? true))
  }
}
