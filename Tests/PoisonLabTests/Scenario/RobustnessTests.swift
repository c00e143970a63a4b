import Foundation
import PoisonLab
import Testing

/// Seeded mutation fuzzing of scenario text, scenario values and data files.
///
/// Hostile input must produce a typed error or a valid result, never a trap (a trap
/// would kill the test process). Seeds are the test arguments.
@Suite("Robustness against hostile input")
struct RobustnessTests {
  static let weird: [JSONValue] = [
    .number(-1), .number(0), .number(1e300), .number(-1e300), .number(0.5),
    .number(18_014_398_509_481_984),
    .number(4_294_967_296), .string(""), .string("x"), .string("label-flip"), .bool(true), .null,
    .array([]),
    .array([.number(0)]), .array([.number(1e9), .number(-3)]), .object([]),
    .object([JSONMember("name", .string("backdoor"))]),
  ]

  /// Replaces a random node of `value` with a weird value.
  static func mutate(_ value: JSONValue, rng: inout SplitMix64) -> JSONValue {
    switch value {
    case .object(var members) where !members.isEmpty && rng.nextInt(below: 4) != 0:
      let i = rng.nextInt(below: members.count)
      if rng.nextInt(below: 8) == 0 {
        members.remove(at: i)
      } else {
        members[i].value = mutate(members[i].value, rng: &rng)
      }
      return .object(members)
    case .array(var items) where !items.isEmpty && rng.nextInt(below: 4) != 0:
      let i = rng.nextInt(below: items.count)
      items[i] = mutate(items[i], rng: &rng)
      return .array(items)
    default:
      return weird[rng.nextInt(below: weird.count)]
    }
  }

  static let bases: [String] = [
    smoke,
    #"{"name": "a", "dataset": {"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 60, "test_size": 30}, "model": {"name": "mlp", "hidden": [4]}, "training": {"rounds": 1}, "attack": {"name": "label-flip", "source": 0, "target": 1, "fraction": 0.5}, "expect": {"accuracy": {"min": 0}}}"#,
    #"{"name": "b", "dataset": {"name": "csv", "train": "t.csv", "test_fraction": 0.3, "label_column": "y"}, "model": {"name": "logistic"}, "attack": {"name": "label-flip", "mapping": "random"}}"#,
  ]

  @Test("mutated scenario values validate or fail with errors (seeds 0-39)", arguments: 0..<40)
  func scenarioValues(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    for base in Self.bases {
      let document = try JSONParser.parse(base)
      for _ in 0..<25 {
        var mutated = document
        for _ in 0...rng.nextInt(below: 3) { mutated = Self.mutate(mutated, rng: &rng) }
        do {
          let s = try ScenarioLoader.decode(mutated.serialized(), source: "fuzz")
          // Valid small synthetic scenarios also go through data preparation.
          if case .string("synthetic")? = s.resolved["dataset"]?["name"],
            case .number(let n)? = s.resolved["dataset"]?["train_size"], n <= 2000
          {
            do { _ = try Experiment(scenario: s, threads: 1).prepareData() } catch {}
          }
        } catch {
          #expect(!error.errors.isEmpty)
        }
      }
    }
  }

  @Test("mutated scenario bytes fail with JSON or scenario errors (seeds 0-19)", arguments: 0..<20)
  func scenarioBytes(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let pieces = [
      "{", "}", "[", "]", ",", ":", "\"", "\\", "1e999", "-", "0", "nul", "\u{0}", "é", "\\u12",
      "\n",
    ]
    for base in Self.bases {
      for _ in 0..<50 {
        var text = Array(base.unicodeScalars)
        for _ in 0...rng.nextInt(below: 4) {
          let at = rng.nextInt(below: text.count)
          switch rng.nextInt(below: 3) {
          case 0: text.remove(at: at)
          case 1:
            text.insert(contentsOf: pieces[rng.nextInt(below: pieces.count)].unicodeScalars, at: at)
          default: text = Array(text.prefix(at))
          }
          if text.isEmpty { text = Array("{".unicodeScalars) }
        }
        var string = ""
        string.unicodeScalars.append(contentsOf: text)
        do { _ = try ScenarioLoader.decode(string, source: "fuzz") } catch {
          #expect(!error.errors.isEmpty)
        }
      }
    }
  }

  @Test("mutated IDX bytes parse or throw DataError (seeds 0-9)", arguments: 0..<10)
  func idxBytes(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let valid = idx(type: 0x0D, dims: [2, 3], payload: [UInt8](repeating: 0x3F, count: 24))
    for _ in 0..<300 {
      var bytes = valid
      for _ in 0...rng.nextInt(below: 3) {
        let at = rng.nextInt(below: bytes.count)
        switch rng.nextInt(below: 3) {
        case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
        case 1: bytes = Array(bytes.prefix(at))
        default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
        }
        if bytes.isEmpty { bytes = [0] }
      }
      do { _ = try IDXArray(parsing: bytes, file: "fuzz") } catch {
        #expect(error.description.hasPrefix("fuzz"))
      }
    }
  }

  @Test("mutated CSV and gzip files load or throw DataError (seed 3)")
  func csvAndGzip() throws {
    var rng = SplitMix64(seed: 3)
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let base = Array("a,b,y\n1,2,cat\n3,\"4\",dog\n5,6,cat\n7,8,dog\n".utf8)
    for round in 0..<150 {
      var bytes = base
      for _ in 0...rng.nextInt(below: 3) {
        let at = rng.nextInt(below: bytes.count)
        let pool: [UInt8] = Array(",\"\n\r x9.-".utf8)
        if rng.nextInt(below: 2) == 0 {
          bytes.remove(at: at)
        } else {
          bytes.insert(pool[rng.nextInt(below: pool.count)], at: at)
        }
        if bytes.isEmpty { bytes = [10] }
      }
      let file = dir.write("f\(round).csv", bytes)
      let s = try scenario(
        #"{"name": "c", "dataset": {"name": "csv", "train": "\#(file)", "test": "\#(file)"}, "model": {"name": "mlp"}}"#
      )
      do { _ = try s.dataset.load(seeds: SeedTree(0)) } catch {
        #expect(!error.description.isEmpty)
      }
    }
    for round in 0..<100 {
      var gz = gzippedImages
      let at = 10 + rng.nextInt(below: gz.count - 10)
      gz[at] ^= UInt8(1 + rng.nextInt(below: 255))
      let mnist = TemporaryDirectory()
      defer { mnist.cleanup() }
      mnist.write("train-images-idx3-ubyte.gz", gz)
      mnist.write("train-labels-idx1-ubyte", idx(type: 8, dims: [3], payload: [0, 1, 2]))
      mnist.write("t10k-images-idx3-ubyte.gz", gzippedImages)
      mnist.write("t10k-labels-idx1-ubyte", idx(type: 8, dims: [3], payload: [0, 1, 2]))
      let s = try scenario(
        #"{"name": "g\#(round)", "dataset": {"name": "mnist", "path": "\#(mnist.path)"}, "model": {"name": "mlp"}}"#
      )
      do { _ = try s.dataset.load(seeds: SeedTree(0)) } catch {
        #expect(!error.description.isEmpty)
      }
    }
  }
}
