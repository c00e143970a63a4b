import Foundation
import Testing

@testable import PoisonLab

/// Each case the review of model files, audits and update export found
/// (2026-12-03, session 22) stays fixed.
@Suite("Reliability: model files, audits and update export (session 22)", .serialized)
struct ModelExportReviewTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-federated.json"

  @Test("--init-model's header is read as the model is: a FIFO is refused, a gzipped file resumes")
  func initModelHeader() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // A FIFO had blocked the run in open(2), waiting for a writer.
    let fifo = dir.path + "/model.safetensors"
    #expect(mkfifo(fifo, 0o644) == 0)
    do {
      _ = try Safetensors.headerBytes(ofFile: fifo)
      Issue.record("a FIFO's header was read")
    } catch {
      #expect("\(error)".contains("FIFO"), "\(error)")
    }
    let refused = try CLI.run([
      "run", smoke, "--set", "training.rounds=1", "--quiet", "--init-model", fifo,
    ])
    #expect(refused.status == 3 && refused.stderr.contains("FIFO"), "\(refused.stderr)")
    // A gzipped checkpoint: load read it, the header check had not, so the
    // earlier run's round files were replaced without --force.
    let ck = dir.path + "/ck"
    try FileManager.default.createDirectory(atPath: ck, withIntermediateDirectories: false)
    let first = try CLI.run([
      "run", smoke, "--set", "training.rounds=2", "--set", "expect=null", "--quiet",
      "--checkpoint-every", "1",
      "--checkpoint-dir", ck,
    ])
    #expect(first.status == 0, "\(first.stderr)")
    _ = try CLI.shell("gzip -c ck/round-0001.safetensors > r1.gz", in: dir.path)
    let before = try Data(contentsOf: URL(fileURLWithPath: ck + "/round-0002.safetensors"))
    let over = try CLI.run([
      "run", smoke, "--set", "training.rounds=2", "--set", "seed=9", "--quiet",
      "--checkpoint-every", "1", "--checkpoint-dir", ck, "--init-model", dir.path + "/r1.gz",
    ])
    #expect(over.status == 2 && over.stderr.contains("--force"), "\(over.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: ck + "/round-0002.safetensors")) == before)
    var experiment = Experiment(
      scenario: try scenario(
        try String(contentsOfFile: smoke, encoding: .utf8), overrides: ["training.rounds=2"]),
      threads: 1)
    experiment.modelFiles = ModelFileOptions(initial: dir.path + "/r1.gz")
    #expect(experiment.initialModelState() == .resumes(round: 1))
  }

  @Test("a larger model of another architecture is a mismatch naming the tensor, not a size error")
  func largerArchitecture() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // 17 MiB of weights against a model of 16 parameters.
    let width = 1_100_000
    let tensors = [
      Safetensors.Tensor(
        name: "layers.0.weight", shape: [width, 4], values: [Float](repeating: 0, count: width * 4)),
      Safetensors.Tensor(
        name: "layers.0.bias", shape: [width], values: [Float](repeating: 0, count: width)),
    ]
    let file = dir.write("big.safetensors", Safetensors.encode(tensors, metadata: []))
    let network = MLPModel.network(input: Shape(features: 4), classes: 3, hidden: [])
    do {
      _ = try ModelFile.load(file, network: network, input: Shape(features: 4))
      Issue.record("a model of another architecture loaded")
    } catch {
      guard case .mismatch(_, let reason) = error else {
        Issue.record("not a mismatch: \(error)")
        return
      }
      #expect(reason.contains("layers.0.weight") && reason.contains("[\(width), 4]"), "\(reason)")
      #expect(reason.contains("[3, 4]"), "\(reason)")
    }
  }

  @Test("audit --plot is locked before the audit runs")
  func auditPlotLocked() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let plot = dir.path + "/p.svg"
    let holder = try AtomicFile(path: plot)
    defer { holder.discard() }
    // The model does not exist: a lock taken only after the audit would
    // have reported the missing model instead.
    let r = try CLI.run([
      "audit", dir.path + "/missing.safetensors", "--scenario",
      CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json", "--method", "strip",
      "--plot", plot,
    ])
    #expect(r.status == 3 && r.stderr.contains("another poisonlab process"), "\(r.stderr)")
  }

  @Test("the audit's default defender set is at most half the test set; a given one leaves 10")
  func auditSplit() throws {
    let base =
      #"{"name": "a", "seed": 1, "dataset": {"name": "synthetic", "classes": 3, "features": 6, "train_size": 300, "test_size": 300, "separation": 4}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1, "batch_size": 16}}"#
    func split(_ block: String) throws -> (Int, Int) {
      let s = try scenario(base, overrides: ["audit=\(block)"])
      let audit = try #require(s.audit as? FinePruning)
      let network = MLPModel.network(input: Shape(features: 6), classes: 3, hidden: [8])
      var rng = SplitMix64(seed: 5)
      let test = Dataset(
        features: (0..<(300 * 6)).map { _ in Float(rng.nextInt(below: 100)) },
        labels: (0..<300).map { Int32($0 % 3) }, shape: Shape(features: 6), classes: 3,
        isImage: false)
      let input = auditInput(network, test: test)
      let (defender, rest, _) = input.split(for: audit)
      return (defender.count, rest.count)
    }
    // The default 1000 had left the audit one sample to measure on.
    #expect(try split(#"{"name": "fine-pruning"}"#) == (150, 150))
    #expect(try split(#"{"name": "fine-pruning", "clean_size": 290}"#) == (290, 10))
    let run = { (overrides: [String]) in
      try CLI.run(
        ["validate", CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"]
          + overrides.flatMap { ["--set", $0] })
    }
    let tooMany = try run(["audit={\"name\": \"strip\", \"clean_size\": 291}"])
    #expect(
      tooMany.status == 2 && tooMany.stderr.contains("audit.clean_size")
        && tooMany.stderr.contains("at most 290"), "\(tooMany.stderr)")
    let tiny = try run(["audit={\"name\": \"strip\"}", "dataset.test_size=19"])
    #expect(tiny.status == 2 && tiny.stderr.contains("10 more"), "\(tiny.stderr)")
  }

  @Test("a failed --save-updates write leaves no partial and no half round; bad facts are refused")
  func exportWrites() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // The round's .json cannot be written (a folder holds its name): the
    // matrices written before it are removed with it.
    let out = dir.path + "/up"
    try FileManager.default.createDirectory(
      atPath: out + "/round-0001.json", withIntermediateDirectories: true)
    let values: [Float] = [1, 2, 3, 4]
    let updates = UpdateSet(values: values, count: 2, dimension: 2, weights: [1, 1])
    #expect(throws: SinkError.self) {
      try UpdateExport.write(
        directory: out, round: 1, seed: 0, updates: updates, ids: [0, 1],
        malicious: [false, false], flagged: [false, false], server: nil, aggregate: [2, 3],
        defense: .null, defaultF: 0, quarantined: 0)
    }
    let left = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
    #expect(left == ["round-0001.json"], "\(left)")
    // Facts poisonlab wrote but that were edited into unusable values are
    // an error, not a silent replay with defaults.
    let matrix = dir.write("round-0001.npy", NPYArray(shape: [2, 2], values: values).serialized())
    for bad in [#""round": 0, "seed": 0"#, #""round": 1, "seed": -1"#, #""round": 1, "seed": 0.5"#]
    {
      _ = dir.write(
        "round-0001.json",
        text: #"{"format": "poisonlab-round", "#
          + bad + #", "clients": [0, 1], "reported_samples": [1, 1]}"#)
      #expect(throws: DataError.self) { _ = try UpdateExport.sidecar(of: matrix) }
      let r = try CLI.run(["aggregate", matrix, "--defense", "median"])
      #expect(r.status == 3 && r.stderr.contains("round-0001.json"), "\(bad): \(r.stderr)")
    }
    // Without its .json, a round file is replayed with a note.
    try FileManager.default.removeItem(atPath: dir.path + "/round-0001.json")
    let plain = try CLI.run(["aggregate", matrix, "--defense", "median"])
    #expect(plain.status == 0 && plain.stderr.contains("no --save-updates round file"))
  }

  @Test("an .npy header's fortran_order must be True or False, as numpy.load requires")
  func fortranOrder() throws {
    let good = try NPYArray(
      parsing: npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"), file: "a")
    #expect(good.shape == [1, 2])
    for value in ["1", "'True'", "true"] {
      let bytes = npyFile("{'descr': '<f4', 'fortran_order': \(value), 'shape': (1, 2), }")
      do {
        _ = try NPYArray(parsing: bytes, file: "a.npy")
        Issue.record("fortran_order \(value) was read as C order")
      } catch {
        #expect("\(error)".contains("fortran_order"), "\(error)")
      }
    }
  }
}
