import Foundation
import Testing

@testable import PoisonLab

/// Guarantee R7: data files are read with bounds: a compressed file never
/// expands past the size its header declares, CSV is streamed with a
/// bounded row length, and every malformed file is a named error (exit 3).
@Suite("Reliability R7: hostile data files", .serialized)
struct HostileFileTests {
  /// gzip of `bytes`, through the system's gzip (deterministic: -n).
  func gzip(_ dir: TemporaryDirectory, _ name: String, _ bytes: [UInt8]) throws -> String {
    let path = dir.write(name, bytes)
    #expect(try CLI.shell("gzip -n -f \(path)").status == 0)
    return path + ".gz"
  }

  @Test("a gzip bomb behind an IDX header stops at the declared size (named error, little memory)")
  func gzipBomb() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // The header declares 2 images of 2x2; the stream goes on with 64 MiB of zeros.
    let bomb = try gzip(
      dir, "train-images-idx3-ubyte",
      idx(type: 8, dims: [2, 2, 2], payload: [UInt8](repeating: 0, count: 64 << 20)))
    #expect(throws: DataError.self) { try IDXArray(reading: bomb) }
    do {
      _ = try IDXArray(reading: bomb)
    } catch {
      #expect(
        error.description.contains("trailing data after the 8 data bytes its header declares"))
    }
    // The bound: reading stops one chunk (1 MiB) past the header's size.
    let bytes = try FileBytes.read(bomb, expectedSize: IDXArray.expectedSize(prefix:))
    #expect(bytes.count <= (1 << 20) + 1)
    // A well-formed gzipped file still reads whole.
    let good = try gzip(dir, "good-idx", idx(type: 8, dims: [2, 2], payload: [1, 2, 3, 4]))
    #expect(try IDXArray(reading: good).values == [1, 2, 3, 4])
  }

  @Test("a CSV row longer than 8 MiB is refused after reading 8 MiB, not the whole file")
  func longCSVRow() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let path = dir.path + "/long.csv"
    #expect(
      try CLI.shell("head -c 20000000 /dev/zero | tr '\\0' '1' > \(path); echo ',0' >> \(path)")
        .status == 0)
    // A row of 20 million digits (not NUL bytes).
    let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)
    #expect(head == Data("1111".utf8))
    let scenario =
      #"{"name": "long", "dataset": {"name": "csv", "train": "long.csv"}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    dir.write("long.json", text: scenario)
    let r = try CLI.run(["run", dir.path + "/long.json", "--output", "-"])
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains("long.csv:1: row is longer than 8 MiB"), "\(r.stderr)")
  }

  @Test("aggregate: a BOM before a numeric first row is data; `1,x,3` is an error, not a header")
  func csvHeaderDetection() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let bom = dir.write("bom.csv", [0xEF, 0xBB, 0xBF] + Array("1,2\n3,4\n".utf8))
    let matrix = try MatrixFile.readWithHeader(bom)
    #expect(matrix.header == nil)
    #expect(matrix.matrix.shape == [2, 2])
    #expect(matrix.matrix.values == [1, 2, 3, 4])
    let mixed = dir.write("mixed.csv", text: "1,x,3\n4,5,6\n")
    #expect(
      throws: DataError.csv(
        file: mixed, line: 1, column: 2, reason: "expected a number, found \"x\"")
    ) {
      try MatrixFile.read(mixed)
    }
    let named = dir.write("named.csv", text: "a,b\n1,2\n")
    let withHeader = try MatrixFile.readWithHeader(named)
    #expect(withHeader.header == ["a", "b"])
    #expect(withHeader.matrix.shape == [1, 2])
    let r = try CLI.run(["aggregate", named, "--defense", "mean", "--format", "table"])
    #expect(r.stdout.contains("skipped a header row"), "\(r.stdout) \(r.stderr)")
  }

  @Test(
    "a .npy with a wrong magic is an NPY error; float64 beyond float32 is 'out of float32 range'")
  func npyMessages() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let bad = dir.write("bad.npy", Array("not numpy at all".utf8))
    #expect(throws: DataError.corrupt(file: bad, reason: "not a NumPy .npy file (bad magic)")) {
      try MatrixFile.read(bad)
    }
    var big = NPYArray(shape: [1, 1], values: [0]).serialized()
    // Rewrite as float64 holding 1e39.
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }"
    var file: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    let padded =
      header + String(repeating: " ", count: 64 - (10 + header.utf8.count + 1) % 64) + "\n"
    file += [UInt8(padded.utf8.count & 255), UInt8(padded.utf8.count >> 8)] + Array(padded.utf8)
    withUnsafeBytes(of: (1e39).bitPattern.littleEndian) { file += $0 }
    big = file
    let path = dir.write("big.npy", big)
    do {
      _ = try MatrixFile.read(path)
      Issue.record("1e39 was accepted")
    } catch {
      #expect(error.description.contains("out of float32 range"), "\(error)")
    }
    let csv = dir.write("big.csv", text: "1e39,2\n")
    do {
      _ = try MatrixFile.read(csv)
      Issue.record("1e39 was accepted")
    } catch {
      #expect(error.description.contains("out of float32 range"), "\(error)")
    }
  }

  @Test(
    "fltrust with a NaN server update is an error (exit 3); fedavg with all-zero weights moves nothing"
  )
  func degenerateAggregates() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let updates = dir.write("u.csv", text: "1,2\n3,4\n")
    let server = dir.write("s.csv", text: "nan,1\n")
    let fltrust = try CLI.run([
      "aggregate", updates, "--defense", "fltrust", "--server-update", server,
    ])
    #expect(fltrust.status == 3, "\(fltrust.stderr)")
    #expect(fltrust.stderr.contains("non-finite"), "\(fltrust.stderr)")
    let weights = dir.write("w.csv", text: "0\n0\n")
    let fedavg = try CLI.run([
      "aggregate", updates, "--defense", "fedavg", "--weights", weights, "--format", "json",
    ])
    #expect(fedavg.status == 0, "\(fedavg.stderr)")
    #expect(fedavg.stdout.contains(#""aggregate": [0, 0]"#), "\(fedavg.stdout)")
    var rule = FedAvg()
    let set = UpdateSet(values: [1, 2, 3, 4], count: 2, dimension: 2, weights: [0, 0])
    let (zero, outcome) = try rule.aggregate(set, context: DefenseContext(round: 1, threads: 1))
    #expect(zero == [0, 0] && outcome.flagged.isEmpty)
    // A weight that is not finite is still an error.
    let inf = UpdateSet(values: [1, 2, 3, 4], count: 2, dimension: 2, weights: [.infinity, 1])
    #expect(throws: DefenseError.self) {
      _ = try rule.aggregate(inf, context: DefenseContext(round: 1, threads: 1))
    }
  }
}
