import Foundation
import PoisonLab
import Testing

@Suite("CLI sweep", .serialized)
struct SweepTests {
  let scenario =
    #"{"name": "sw", "seed": 0, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 300, "test_size": 100, "separation": 5}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 2, "batch_size": 16}, "federation": {"clients": 6}, "attack": {"name": "alie", "clients": 1}, "defense": {"name": "median"}, "sweep": {"attack.name": ["alie", "ipm", "sign-flip"]}}"#
  let grid = ["--grid", "defense.name=median,trimmed-mean,krum", "--seeds", "0-1"]

  /// Rows of a sweep output without timings, sorted by run then record.
  static func rows(_ path: String, sorted: Bool = false) throws -> [JSONValue] {
    var out = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
      line -> JSONValue in
      guard case .object(let members) = try JSONParser.parse(String(line)) else { return .null }
      return .object(
        members.filter { !["seconds", "total_seconds", "mean_seconds_per_round"].contains($0.key) })
    }
    if sorted {
      out.sort { a, b in
        guard case .number(let x)? = a["run_index"], case .number(let y)? = b["run_index"] else {
          return false
        }
        if x != y { return x < y }
        let ra =
          a["type"] == .string("summary")
          ? 1.0 : { if case .number(let r)? = a["round"] { r } else { 0 } }() / 1000
        let rb =
          b["type"] == .string("summary")
          ? 1.0 : { if case .number(let r)? = b["round"] { r } else { 0 } }() / 1000
        return ra < rb
      }
    }
    return out
  }

  @Test(
    "a 3 x 3 x 2-seed sweep: --jobs 2 equals --jobs 1, 4 shards merge to the same rows, resume adds nothing twice"
  )
  func sweep() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("sw.json", text: scenario)
    let one = try CLI.run(
      ["sweep", file] + grid + ["--output", dir.path + "/one.jsonl", "--quiet"])
    #expect(one.status == 0, "\(one.stderr)")
    let reference = try Self.rows(dir.path + "/one.jsonl")
    #expect(reference.count == 18 * 3)
    #expect(
      reference.first?["axes"]
        == .object([
          JSONMember("attack.name", .string("alie")), JSONMember("defense.name", .string("median")),
          JSONMember("seed", .number(0)),
        ]))
    let two = try CLI.run(
      ["sweep", file] + grid + ["--output", dir.path + "/two.jsonl", "--jobs", "2", "--quiet"])
    #expect(two.status == 0)
    #expect(try Self.rows(dir.path + "/two.jsonl") == reference)

    var merged = ""
    for k in 1...4 {
      let shard = dir.path + "/shard\(k).jsonl"
      #expect(
        try CLI.run(["sweep", file] + grid + ["--shard", "\(k)/4", "--output", shard, "--quiet"])
          .status == 0)
      merged += try String(contentsOfFile: shard, encoding: .utf8)
    }
    _ = dir.write("merged.jsonl", text: merged)
    #expect(
      try Self.rows(dir.path + "/merged.jsonl", sorted: true)
        == Self.rows(dir.path + "/one.jsonl", sorted: true))

    // A killed sweep: the first 7 lines (2 complete runs and a partial third) and a torn line.
    let lines = try String(contentsOfFile: dir.path + "/one.jsonl", encoding: .utf8).split(
      separator: "\n")
    _ = dir.write(
      "killed.jsonl", text: lines.prefix(7).joined(separator: "\n") + "\n" + lines[7].prefix(40))
    let resumed = try CLI.run(
      ["sweep", file] + grid + ["--output", dir.path + "/killed.jsonl", "--quiet"])
    #expect(resumed.status == 0)
    #expect(resumed.stderr.contains("removed 2 line(s) of unfinished runs"))
    #expect(try Self.rows(dir.path + "/killed.jsonl") == reference)
    let again = try CLI.run(
      ["sweep", file] + grid + ["--output", dir.path + "/killed.jsonl", "--quiet"])
    #expect(again.stderr.contains("0 run(s) to do, 18 already in"))
    #expect(try Self.rows(dir.path + "/killed.jsonl") == reference)
  }

  @Test("--set sweep=... replaces the file's sweep block before it expands")
  func setSweep() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("sw.json", text: scenario)
    let out = dir.path + "/one.jsonl"
    let result = try CLI.run(
      ["sweep", file, "--set", #"sweep={"attack.name": ["ipm"]}"#, "--output", out, "--quiet"])
    #expect(result.status == 0, "\(result.stderr)")
    let rows = try Self.rows(out)
    #expect(rows.count == 3)  // 2 rounds and the summary of one run
    #expect(rows.allSatisfy { $0["axes"] == .object([JSONMember("attack.name", .string("ipm"))]) })
    let bad = try CLI.run(["sweep", file, "--set", "sweep.x", "--quiet"])
    #expect(bad.status == 2)
  }

  @Test("invalid combinations stop the sweep (exit 2) unless --skip-invalid records them")
  func invalid() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("sw.json", text: scenario)
    let bad = try CLI.run(["sweep", file, "--grid", "defense.name=median,bulyan", "--quiet"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("3 of 6 combinations are invalid (nothing was run)"))
    #expect(bad.stderr.contains("bulyan needs n >= 4f + 3"))
    let skipped = try CLI.run([
      "sweep", file, "--grid", "defense.name=median,bulyan", "--skip-invalid", "--quiet",
    ])
    #expect(skipped.status == 0)
    #expect(skipped.stdout.components(separatedBy: #""type": "skipped""#).count == 4)
    #expect(try CLI.run(["sweep", file, "--grid", "defense.name"]).status == 2)
    #expect(try CLI.run(["sweep", file, "--shard", "5/4"]).status == 2)
    let run = try CLI.run(["run", file])
    #expect(run.status == 2)
    #expect(run.stderr.contains("run it with `poisonlab sweep"))
  }
}
