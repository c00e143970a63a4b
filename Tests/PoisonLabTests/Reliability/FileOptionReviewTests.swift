import Foundation
import Testing

@testable import PoisonLab

/// Each case the second adversarial review of the file options found
/// (2026-12-02, session 18) stays fixed.
@Suite("Reliability: model, checkpoint and export files", .serialized)
struct FileOptionReviewTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-federated.json"

  @Test("the library refuses round files before work: named twice, not regular, an earlier run's")
  func roundFileCheck() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let text = try String(contentsOfFile: smoke, encoding: .utf8)
    var experiment = Experiment(scenario: try scenario(text), threads: 1)
    experiment.modelFiles = ModelFileOptions(checkpointEvery: 2, checkpointDirectory: dir.path)
    #expect(experiment.plannedRoundFiles().map(\.path).count == 2)
    // Nothing there yet: fine.
    try experiment.checkRoundFiles(besides: [("--output", dir.path + "/rows.jsonl")], force: false)
    // --plot naming round 2's checkpoint through another spelling of the folder.
    let twice = dir.path + "/./round-0002.safetensors"
    #expect(
      throws: RoundFileProblem.namedTwice(
        option: "--plot", path: twice, folderOption: "--checkpoint-dir")
    ) {
      try experiment.checkRoundFiles(besides: [("--plot", twice)], force: true)
    }
    // An earlier run's file: exit 2 without force, fine with it.
    _ = dir.write("round-0004.safetensors", text: "x")
    do {
      try experiment.checkRoundFiles(besides: [], force: false)
      Issue.record("an earlier run's round file was not refused")
    } catch {
      #expect(error.exitCode == 2)
      #expect(error.description.contains("round-0004.safetensors of an earlier run"))
    }
    try experiment.checkRoundFiles(besides: [], force: true)
    // A folder at a round file's partial name: exit 3 even with force.
    try FileManager.default.createDirectory(
      atPath: dir.path + "/round-0002.safetensors.partial", withIntermediateDirectories: false)
    do {
      try experiment.checkRoundFiles(besides: [], force: true)
      Issue.record("a folder in place of a round file's partial was not refused")
    } catch {
      #expect(error.exitCode == 3 && error.description.hasPrefix("--checkpoint-dir: "))
    }
  }

  @Test("a partial output counts as an unfinished run's rows only when it holds a row")
  func unfinishedRows() {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let cases: [(String, Bool)] = [
      ("", false), ("[\n", false), ("round,accuracy\n", false),
      ("round,accuracy\n1,0.5\n", true), ("{\"kind\":\"round\"}\n", true),
    ]
    for (index, (text, rows)) in cases.enumerated() {
      let path = dir.write("out\(index).jsonl.partial", text: text)
      #expect(OutputPath.holdsUnfinishedRows(path) == rows, "\(text.debugDescription)")
    }
    #expect(!OutputPath.holdsUnfinishedRows(dir.path + "/missing.partial"))
    #expect(!OutputPath.holdsUnfinishedRows(dir.path))
  }

  @Test("a model file's normalization must fit the model: wrong length, 0, inf are named (no trap)")
  func normalizationChecked() throws {
    let good = try ModelFile.normalization(
      #"{"offset": [0.5], "factor": [2]}"#, features: 16, file: "m")
    #expect(good.offset == [0.5] && good.factor == [2])
    let cases = [
      #"{"offset": [0, 0], "factor": [1, 1]}"#: "2 offsets and 2 factors",
      #"{"offset": [0], "factor": [0]}"#: "a factor of 0",
      #"{"offset": [0], "factor": [1e39]}"#: "not a finite 32-bit number",
      #"{"offset": [0], "factor": ["a"]}"#: "not a finite 32-bit number",
      #"[1, 2]"#: "is not",
    ]
    for (text, phrase) in cases {
      #expect(throws: ModelFile.LoadError.self) {
        try ModelFile.normalization(text, features: 16, file: "m.safetensors")
      }
      do {
        _ = try ModelFile.normalization(text, features: 16, file: "m.safetensors")
      } catch {
        #expect("\(error)".contains(phrase) && "\(error)".contains("m.safetensors"), "\(error)")
      }
    }
  }

  @Test("a finite normalization that overflows the scenario's inputs is refused by audit (exit 3)")
  func overflowingNormalization() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"
    let model = dir.path + "/m.safetensors"
    #expect(
      try CLI.run(["run", file, "--no-expect", "--format", "jsonl", "--save-model", model]).status
        == 0)
    let shape = Shape(height: 12, width: 12, channels: 1)
    let network = try ScenarioLoader.load(file: file).model.build(input: shape, classes: 3)
    let loaded = try ModelFile.load(model, network: network, input: shape)
    let bad = dir.path + "/bad.safetensors"
    try ModelFile.save(
      loaded.parameters, network: network, input: shape,
      metadata: ModelFile.Metadata(
        architecture: "{}", scenario: "x", seed: 3, round: 4,
        normalizer: Normalizer(offset: [-3e38], factor: [3e38])),
      to: bad)
    let r = try CLI.run(["audit", bad, "--scenario", file, "--method", "strip"])
    #expect(r.status == 3 && r.stderr.contains("normalization turns"), "\(r.stderr)")
  }

  @Test("audit --plot and aggregate --output may not name one of their inputs (exit 2, untouched)")
  func inputsNotOverwritten() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let model = dir.path + "/m.safetensors"
    let backdoor = CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"
    #expect(
      try CLI.run(["run", backdoor, "--no-expect", "--format", "jsonl", "--save-model", model])
        .status == 0)
    let saved = try Data(contentsOf: URL(fileURLWithPath: model))
    let audit = try CLI.run([
      "audit", model, "--scenario", backdoor, "--method", "strip", "--plot", model,
    ])
    #expect(audit.status == 2 && audit.stderr.contains("name the same file"), "\(audit.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == saved)
    // --plot with a method that draws none is refused before the audit runs.
    let wrong = try CLI.run([
      "audit", model, "--scenario", backdoor, "--method", "fine-pruning", "--plot",
      dir.path + "/x.svg",
    ])
    #expect(wrong.status == 2 && wrong.stderr.contains("has none"), "\(wrong.stderr)")
    let matrix = dir.write("u.csv", text: "1,2\n3,4\n5,6\n")
    let aggregate = try CLI.run(["aggregate", matrix, "--defense", "median", "--output", matrix])
    #expect(aggregate.status == 2, "\(aggregate.stderr)")
    #expect(try String(contentsOfFile: matrix, encoding: .utf8) == "1,2\n3,4\n5,6\n")
    #expect(try CLI.run(["aggregate", matrix, "--defense", "median", "--round", "0"]).status == 2)
  }

  @Test("--save-model and the round folders are locked from the start: a second writer exits 3")
  func lockedFromStart() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let model = dir.path + "/m.safetensors"
    let held = try ReservedFile(path: model)
    let second = try CLI.run(["run", smoke, "--format", "jsonl", "--save-model", model])
    #expect(second.status == 3 && second.stderr.contains("another poisonlab process"))
    held.cancel()
    #expect(!FileManager.default.fileExists(atPath: model + ".partial"))
    _ = try CLI.shell("mkdir ck", in: dir.path)
    let folder = try SystemFile.lockFolder(dir.path + "/ck", shown: "ck")
    let locked = try CLI.run([
      "run", smoke, "--format", "jsonl", "--checkpoint-every", "1", "--checkpoint-dir",
      dir.path + "/ck",
    ])
    #expect(locked.status == 3 && locked.stderr.contains("another poisonlab process"))
    folder.close()
    // A file the run writes each round may not be another option's.
    let clash = try CLI.run([
      "run", smoke, "--format", "jsonl", "--checkpoint-every", "1", "--checkpoint-dir",
      dir.path + "/ck", "--save-model", dir.path + "/ck/round-0002.safetensors",
    ])
    #expect(clash.status == 2 && clash.stderr.contains("is a round file"), "\(clash.stderr)")
    let export = try CLI.run([
      "run", smoke, "--format", "jsonl", "--save-updates", dir.path + "/ck", "--plot",
      dir.path + "/ck/round-0001.json",
    ])
    #expect(
      export.status == 2 && export.stderr.contains("is a round file that --save-updates writes"),
      "\(export.stderr)")
    // A round the run never reaches is not its file (4 rounds here).
    let beyond = try CLI.run([
      "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
      "--checkpoint-dir", dir.path + "/ck", "--save-model", dir.path + "/ck/round-9999.safetensors",
    ])
    #expect(beyond.status == 0, "\(beyond.stderr)")
  }

  @Test("an unfinished run's rows are kept: refused without --force; no row, no partial file")
  func partialRowsKept() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let out = dir.path + "/o.jsonl"
    let rows = dir.write("o.jsonl.partial", text: #"{"type": "round"}"# + "\n")
    let refused = try CLI.run(["run", smoke, "--output", out, "--quiet"])
    #expect(refused.status == 2 && refused.stderr.contains("unfinished run"), "\(refused.stderr)")
    #expect(try String(contentsOfFile: rows, encoding: .utf8).hasPrefix(#"{"type""#))
    #expect(try CLI.run(["run", smoke, "--output", out, "--quiet", "--force"]).status == 0)
    // A run that fails before its first row leaves no partial file and claims no rows.
    let junk = dir.write("junk.safetensors", [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let failed = try CLI.run([
      "run", smoke, "--init-model", junk, "--output", dir.path + "/p.jsonl",
    ])
    #expect(failed.status == 3)
    #expect(!failed.stderr.contains("rows completed"), "\(failed.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/p.jsonl.partial"))
  }

  @Test(
    "an earlier run's round files are replaced only with --force; a folder in their place exits 3")
  func roundFilesKept() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    _ = try CLI.shell("mkdir ck up", in: dir.path)
    let ck = dir.path + "/ck"
    let up = dir.path + "/up"
    let files = ["--checkpoint-every", "2", "--checkpoint-dir", ck, "--save-updates", up]
    #expect(try CLI.run(["run", smoke, "--format", "jsonl"] + files).status == 0)
    let checkpoint = try Data(contentsOf: URL(fileURLWithPath: ck + "/round-0002.safetensors"))
    let again = try CLI.run(["run", smoke, "--format", "jsonl", "--set", "seed=5"] + files)
    #expect(again.status == 2 && again.stderr.contains("add --force"), "\(again.stderr)")
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: ck + "/round-0002.safetensors")) == checkpoint)
    // Resuming from a checkpoint writes only the later rounds: no refusal.
    _ = try CLI.shell("rm ck/round-0004.safetensors", in: dir.path)
    let resume = try CLI.run([
      "run", smoke, "--format", "jsonl", "--checkpoint-every", "2", "--checkpoint-dir", ck,
      "--init-model", ck + "/round-0002.safetensors",
    ])
    #expect(resume.status == 0, "\(resume.stderr)")
    _ = try CLI.shell("rm ck/round-0004.safetensors; mkdir ck/round-0004.safetensors", in: dir.path)
    let folder = try CLI.run([
      "run", smoke, "--format", "jsonl", "--checkpoint-every", "2", "--checkpoint-dir", ck,
      "--force",
    ])
    #expect(folder.status == 3 && folder.stderr.contains("round-0004"), "\(folder.stderr)")
    let forced = try CLI.run(
      ["run", smoke, "--format", "jsonl", "--save-updates", up, "--set", "seed=5", "--force"])
    #expect(forced.status == 0, "\(forced.stderr)")
  }

  @Test("--audit-dir: a link or folder in a picture's place is refused before training (exit 3)")
  func auditFolderChecked() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    _ = try CLI.shell("mkdir ad && ln -s /etc/hostname ad/strip-entropy.svg", in: dir.path)
    let backdoor = CLI.root.path + "/scenarios/regression/backdoor-synthetic-cnn.json"
    let r = try CLI.run([
      "run", backdoor, "--format", "jsonl", "--set", #"audit={"name": "strip"}"#, "--audit-dir",
      dir.path + "/ad", "--output", dir.path + "/o.jsonl",
    ])
    #expect(r.status == 3 && r.stderr.contains("symbolic link"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/o.jsonl.partial"))
  }

  @Test("a key named twice: .npy headers and safetensors tensors are named errors")
  func duplicateKeys() throws {
    let npy = npyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'shape': (2, 1), }")
    #expect(throws: DataError.self) { try NPYArray(parsing: npy, file: "d.npy") }
    // The same key in double quotes counts too (NumPy would read the last one).
    let both = npyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), \"shape\": (2, 1), }")
    #expect(throws: DataError.self) { try NPYArray(parsing: both, file: "d.npy") }
    do {
      _ = try NPYArray(parsing: npy, file: "d.npy")
    } catch {
      #expect("\(error)".contains("names 'shape' 2 times"), "\(error)")
    }
    let json =
      #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#
    let length = UInt64(json.utf8.count)
    let st =
      (0..<8).map { UInt8((length >> (8 * UInt64($0))) & 0xff) } + Array(json.utf8) + [0, 0, 0, 0]
    do {
      _ = try Safetensors.decode(st, file: "d.safetensors")
      Issue.record("a duplicate tensor name was accepted")
    } catch {
      #expect("\(error)".contains(#"duplicate key "a""#), "\(error)")
    }
  }

  @Test(
    "third review: links to inputs, the export's server file, header-only partials, late folder errors"
  )
  func thirdReview() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // An input named through a symbolic link is still the input.
    let matrix = dir.write("u.csv", text: "1,2\n3,4\n5,6\n")
    _ = try CLI.shell("ln -s u.csv link.csv", in: dir.path)
    let linked = try CLI.run([
      "aggregate", dir.path + "/link.csv", "--defense", "median", "--output", matrix,
    ])
    #expect(linked.status == 2, "\(linked.stderr)")
    #expect(try String(contentsOfFile: matrix, encoding: .utf8) == "1,2\n3,4\n5,6\n")
    // The server update an export's facts name is an input too.
    _ = try CLI.shell("mkdir up", in: dir.path)
    #expect(
      try CLI.run([
        "run", smoke, "--no-expect", "--format", "jsonl", "--save-updates", dir.path + "/up",
        "--set", #"defense={"name": "fltrust"}"#, "--set", "training.rounds=1",
      ]).status == 0)
    let server = dir.path + "/up/round-0001.server.npy"
    let before = try Data(contentsOf: URL(fileURLWithPath: server))
    let overwrite = try CLI.run([
      "aggregate", dir.path + "/up/round-0001.npy", "--defense", "fltrust", "--output", server,
    ])
    #expect(overwrite.status == 2, "\(overwrite.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: server)) == before)
    // A header without rows is not an unfinished run's rows.
    _ = dir.write("o.csv.partial", text: "type,scenario,round\n")
    #expect(try CLI.run(["run", smoke, "--output", dir.path + "/o.csv", "--quiet"]).status == 0)
    // A missing --init-model is its own error (exit 3), not a round-file refusal.
    _ = try CLI.shell("mkdir ck", in: dir.path)
    let ck = dir.path + "/ck"
    #expect(
      try CLI.run([
        "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
        "--checkpoint-dir", ck,
      ]).status == 0)
    let missing = try CLI.run([
      "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
      "--checkpoint-dir", ck, "--init-model", ck + "/round-0009.safetensors",
    ])
    #expect(missing.status == 3 && missing.stderr.contains("round-0009"), "\(missing.stderr)")
    // A folder at a round file's partial name is refused before training.
    _ = try CLI.shell("mkdir ck2 ck2/round-0003.safetensors.partial", in: dir.path)
    let partial = try CLI.run([
      "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
      "--checkpoint-dir", dir.path + "/ck2",
    ])
    #expect(partial.status == 3 && !partial.stdout.contains("round"), "\(partial.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/ck2/round-0001.safetensors"))
    // A FIFO at a round file's name: refused, without advice to use `-`,
    // which the folder options do not take.
    _ = try CLI.shell("mkdir ck3 && mkfifo ck3/round-0001.safetensors", in: dir.path)
    let fifo = try CLI.run([
      "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
      "--checkpoint-dir", dir.path + "/ck3",
    ])
    #expect(fifo.status == 3 && !fifo.stderr.contains("redirect"), "\(fifo.stderr)")
    // A folder files cannot be created in is reported before training.
    let proc = try CLI.run([
      "run", smoke, "--no-expect", "--format", "jsonl", "--checkpoint-every", "1",
      "--checkpoint-dir", "/proc",
    ])
    #expect(proc.status == 3 && !proc.stdout.contains("round"), "\(proc.stderr)")
    // The SVG takes standard output only when nothing else does.
    #expect(try CLI.run(["run", smoke, "--plot", "-"]).status == 2)
    #expect(
      try CLI.run(["run", smoke, "--output", dir.path + "/p.jsonl", "--plot", "-"]).status == 2)
    #expect(try CLI.run(["run", smoke, "--output", "", "--quiet"]).status == 2)
    #expect(
      try CLI.run([
        "audit", "m.safetensors", "--scenario", smoke, "--method", "strip", "--plot", "-",
      ])
      .status == 2)
  }

  @Test("usage: two outputs on standard output, - or an empty path as a model file (exit 2)")
  func usage() throws {
    for (arguments, message) in [
      (["--output", "-", "--plot", "-"], "--plot - would share standard output"),
      (["--save-model", "-"], "--save-model takes a .safetensors file path, got -"),
      (["--save-model", ""], "--save-model takes a .safetensors file path, got an empty one"),
    ] {
      let r = try CLI.run(["run", smoke] + arguments)
      #expect(r.status == 2 && r.stderr.contains(message), "\(arguments): \(r.stderr)")
    }
  }

  @Test("the median of finite values near Float.greatestFiniteMagnitude stays finite")
  func medianOverflow() throws {
    let big: Float = 3.4e38
    let set = UpdateSet(values: [Float](repeating: big, count: 4 * 20), count: 4, dimension: 20)
    #expect(ColumnSort.median(set, threads: 1).allSatisfy { $0 == big })
    var values: [Float] = [big, big, -1, big]
    let median = values.withUnsafeMutableBufferPointer { Selection.median($0) }
    #expect(median == big)
    #expect(Selection.midpoint(1, 2) == 1.5)
    #expect(Selection.midpoint(.infinity, 1) == .infinity)
  }

  @Test("an exported round's server_update names a file beside it, nothing elsewhere")
  func serverUpdatePath() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    for name in ["/etc/passwd", "../x.npy", ""] {
      let facts =
        #"{"format": "poisonlab-round", "round": 1, "seed": 0, "clients": [0], "reported_samples": [1], "server_update": ""#
        + name + #""}"#
      _ = dir.write("round-0001.json", text: facts)
      #expect(throws: DataError.self, "\(name)") {
        _ = try UpdateExport.sidecar(of: dir.path + "/round-0001.npy")
      }
    }
  }
}
