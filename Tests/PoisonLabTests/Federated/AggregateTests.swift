import Foundation
import PoisonLab
import Testing

/// Fixtures written by NumPy (`Fixtures/make_npy.py`).
func fixture(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

@Suite("NPY files and poisonlab aggregate", .serialized)
struct AggregateTests {
  // From make_npy.py: the first row and the coordinate-wise median of the fixture.
  let row0: [Float] = [0.125_730_22, -0.132_104_86, 0.640_422_64, 0.104_900_11, -0.535_669_4]
  let median: [Float] = [-0.017_261_18, -0.338_181_94, -0.490_747_42, 0.228_205_1, 0.561_832_67]

  @Test("float32, float64 and big-endian files written by NumPy read the same values")
  func read() throws {
    let f32 = try MatrixFile.read(fixture("updates_f32.npy"))
    #expect(f32.shape == [8, 5])
    #expect(allClose(Array(f32.values.prefix(5)), row0))
    #expect(try MatrixFile.read(fixture("updates_f64.npy")) == f32)
    #expect(try MatrixFile.read(fixture("updates_f32_be.npy")) == f32)
    #expect(try MatrixFile.read(fixture("weights.npy")).values == [1, 2, 3, 4, 5, 6, 7, 8])
    let written = try NPYArray(parsing: f32.serialized(), file: "round trip")
    #expect(written == f32)
    #expect(f32.serialized().count % 16 == 0)
  }

  @Test("malformed .npy files are named errors")
  func malformed() throws {
    do {
      _ = try MatrixFile.read(fixture("updates_fortran.npy"))
      Issue.record("accepted Fortran order")
    } catch {
      #expect(
        error.description.hasSuffix(
          "the array is in Fortran order; save np.ascontiguousarray(a) instead"))
    }
    let bytes = try #require(FileManager.default.contents(atPath: fixture("updates_f32.npy"))).map {
      $0
    }
    let cases: [([UInt8], String)] = [
      (Array(bytes.prefix(200)), "needs 160 data bytes, the file has 72"),
      (bytes + [0], "needs 160 data bytes, the file has 161"),
      (
        [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x5A] + bytes.dropFirst(6),
        "not a NumPy .npy file (bad magic)"
      ),
      (Array(bytes.prefix(30)), "truncated .npy header"),
    ]
    for (data, message) in cases {
      do {
        _ = try NPYArray(parsing: data, file: "x.npy")
        Issue.record("accepted: \(message)")
      } catch {
        #expect(error.description.contains(message), "\(error)")
      }
    }
    var int8 = bytes
    let descr: [UInt8] = Array("<f4".utf8)
    if let offset = (0..<(bytes.count - 3)).first(where: { Array(bytes[$0..<($0 + 3)]) == descr }) {
      int8[offset + 1] = UInt8(ascii: "i")
      int8[offset + 2] = UInt8(ascii: "1")
    }
    do {
      _ = try NPYArray(parsing: int8, file: "x.npy")
      Issue.record("accepted int8")
    } catch {
      #expect(error.description.contains("element type '<i1' is not supported"))
    }
  }

  @Test("aggregate on a NumPy file equals the simulator's defense on the same rows")
  func sameAsSimulator() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = try MatrixFile.read(fixture("updates_f32.npy"))
    let set = UpdateSet(values: rows.values, count: 8, dimension: 5)
    for (json, rule) in [
      (#"{"name": "median"}"#, "median"), (#"{"name": "multi-krum", "f": 2}"#, "multi-krum"),
      (#"[{"name": "norm-clip", "max_norm": 1}, {"name": "trimmed-mean", "f": 2}]"#, "chain"),
    ] {
      let out = dir.path + "/\(rule).npy"
      let r = try CLI.run([
        "aggregate", fixture("updates_f32.npy"), "--defense", json, "--output", out, "--format",
        "json",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      let written = try MatrixFile.read(out)
      var (chain, _) = try ScenarioLoader.defenseChain(
        try JSONParser.parse(json), source: "test", updates: 8)
      let expected = try chain.run(
        set, round: 1, threads: 1, previousAggregate: nil, seeds: SeedTree(0))
      #expect(written.values == expected.aggregate, "\(rule)")
      if rule == "median" { #expect(allClose(written.values, median)) }
      let flagged = (0..<8).filter { expected.flagged[$0] }.map { JSONValue.number(Double($0)) }
      #expect(try JSONParser.parse(r.stdout)["flagged"] == .array(flagged), "\(rule)")
      if rule == "multi-krum" { #expect(expected.flagged[6]) }
    }
  }

  @Test("aggregate: exit 2 for a bad --defense, 3 for bad files; fedavg uses --weights")
  func errors() throws {
    let bad = try CLI.run([
      "aggregate", fixture("updates_f32.npy"), "--defense", #"{"name": "krun"}"#,
    ])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains(#"--defense: invalid defense"#))
    #expect(bad.stderr.contains(#"did you mean "krum"?"#))
    #expect(try CLI.run(["aggregate", fixture("updates_f32.npy"), "--defense", "{"]).status == 2)
    #expect(
      try CLI.run(["aggregate", fixture("updates_fortran.npy"), "--defense", #"{"name": "mean"}"#])
        .status == 3)
    #expect(
      try CLI.run(["aggregate", "/nonexistent.npy", "--defense", #"{"name": "mean"}"#]).status == 3)
    let weighted = try CLI.run([
      "aggregate", fixture("updates_f32.npy"), "--defense", #"{"name": "fedavg"}"#, "--weights",
      fixture("weights.npy"),
      "--format", "json",
    ])
    #expect(weighted.status == 0)
    let reported = try JSONParser.parse(weighted.stdout)
    guard case .array(let values)? = reported["aggregate"] else {
      Issue.record("no aggregate")
      return
    }
    let rows = try MatrixFile.read(fixture("updates_f32.npy")).values
    let expected = (0..<5).map { j in
      (0..<8).reduce(Float(0)) { $0 + Float($1 + 1) * rows[$1 * 5 + j] } / 36
    }
    #expect(
      allClose(
        values.compactMap { if case .number(let x) = $0 { Float(x) } else { nil } }, expected,
        rtol: 1e-5))
  }
}

@Suite("UpdateReplay (aggregate's library side)")
struct UpdateReplayTests {
  @Test("a round's facts give the weights, the excluded clients and the seed; their rows decide")
  func facts() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows: [Float] = [1, 2, 3, 4, 100, 100]
    let matrix = dir.write("round-0003.npy", NPYArray(shape: [3, 2], values: rows).serialized())
    _ = dir.write(
      "round-0003.json",
      text:
        #"{"format": "poisonlab-round", "round": 3, "seed": 7, "clients": [4, 5, 6], "reported_samples": [1, 3, 0], "quarantined": 2, "rejected_by_channel": 1}"#
    )
    let replay = try UpdateReplay.load(updates: matrix)
    #expect(replay.exported?.round == 3 && replay.exported?.seed == 7)
    #expect(replay.set.weights == [1, 3, 0] && replay.excluded == 3 && replay.notes.isEmpty)
    var fedavg = DefenseChain([FedAvg()])
    let result = try replay.run(&fedavg, round: nil, seed: nil, threads: 1)
    // (1 x [1, 2] + 3 x [3, 4] + 0 x [100, 100]) / 4
    #expect(result.aggregate == [2.5, 3.5])
    #expect(replay.nonFiniteProblem(result.aggregate, chain: ["fedavg"]) == nil)
    // Facts that describe other rows are ignored, with a note.
    _ = dir.write(
      "round-0003.json",
      text:
        #"{"format": "poisonlab-round", "round": 3, "seed": 7, "clients": [4, 5], "reported_samples": [1, 3]}"#
    )
    let other = try UpdateReplay.load(updates: matrix)
    #expect(other.exported == nil && other.set.weights == [1, 1, 1])
    #expect(
      other.notes.first?.contains(
        "lists 2 clients and 2 reported_samples, the matrix has 3 rows; ignoring the .json") == true
    )
    // Ignored facts do not fail the replay; used facts with a negative weight do.
    _ = dir.write(
      "round-0003.json",
      text:
        #"{"format": "poisonlab-round", "round": 3, "seed": 7, "clients": [4, 5], "reported_samples": [1, -3]}"#
    )
    #expect(try UpdateReplay.load(updates: matrix).notes.count == 1)
    _ = dir.write(
      "round-0003.json",
      text:
        #"{"format": "poisonlab-round", "round": 3, "seed": 7, "clients": [4, 5, 6], "reported_samples": [1, -3, 0]}"#
    )
    #expect(throws: DataError.self) { _ = try UpdateReplay.load(updates: matrix) }
    // A NaN row under fedavg is named.
    let nan = dir.write("nan.npy", NPYArray(shape: [2, 2], values: [1, .nan, 3, 4]).serialized())
    let broken = try UpdateReplay.load(updates: nan)
    var mean = DefenseChain([FedAvg()])
    let aggregate = try broken.run(&mean, round: nil, seed: nil, threads: 1).aggregate
    #expect(
      broken.nonFiniteProblem(aggregate, chain: ["fedavg"])?.hasPrefix(
        "the aggregate holds 1 of 2 values that are not finite (row(s) 0 hold NaN") == true)
  }
}
