import Foundation
import PoisonLab
import Testing

@Suite("--set PATH=null and --no-expect")
struct NullOverrideTests {
  let smoke = "scenarios/regression/smoke-synthetic.json"

  @Test("null removes an optional block; an array element cannot be nulled")
  func removesBlocks() throws {
    let text = try String(contentsOfFile: CLI.root.path + "/" + smoke, encoding: .utf8)
    let plain = try ScenarioLoader.decode(
      text, source: "s", overrides: ["attack=null", "expect=null"])
    #expect(plain.attacks.isEmpty)
    #expect(plain.expectations.isEmpty)
    #expect(plain.resolved["attack"] == nil)
    #expect(throws: ScenarioErrors.self) {
      try ScenarioLoader.decode(text, source: "s", overrides: ["attack[0]=null"])
    }
    // A required key removed is reported as missing, with its path.
    do {
      _ = try ScenarioLoader.decode(text, source: "s", overrides: ["model=null"])
      Issue.record("model=null was accepted")
    } catch {
      #expect(error.description.contains("model: missing required key"), "\(error)")
    }
    var document = try JSONParser.parse(#"{"a": {"b": 1, "c": 2}}"#)
    #expect(Override.remove(&document, path: [.key("a"), .key("b")]) == nil)
    #expect(document == (try JSONParser.parse(#"{"a": {"c": 2}}"#)))
  }

  @Test("--no-expect ignores the expect block; a missed threshold otherwise exits 1")
  func noExpect() throws {
    let strict = ["--set", #"expect={"accuracy": {"min": 0.999}}"#, "--output", "-"]
    #expect(try CLI.run(["run", smoke] + strict).status == 1)
    let relaxed = try CLI.run(["run", smoke, "--no-expect"] + strict)
    #expect(relaxed.status == 0, "\(relaxed.stderr)")
    #expect(!relaxed.stdout.contains("expect_passed\": false"))
  }

  @Test("report --by refuses an axis no run records, with a did-you-mean (exit 2)")
  func unknownAxis() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let output = dir.path + "/r.jsonl"
    #expect(try CLI.run(["sweep", smoke, "--seeds", "0-1", "--output", output]).status == 0)
    let typo = try CLI.run(["report", output, "--by", "sed"])
    #expect(typo.status == 2)
    #expect(typo.stderr.contains("did you mean \"seed\"?"), "\(typo.stderr)")
    #expect(try CLI.run(["report", output, "--by", "seed"]).status == 0)
    // A whole block asked for when one of its keys was swept, and the reverse.
    let grid = dir.path + "/g.jsonl"
    #expect(
      try CLI.run([
        "sweep", smoke, "--grid", "training.learning_rate=0.05,0.1", "--output", grid, "--quiet",
      ]).status == 0)
    let block = try CLI.run(["report", grid, "--by", "training"])
    #expect(
      block.status == 2 && block.stderr.contains("did you mean \"training.learning_rate\"?"),
      "\(block.stderr)")
  }
}
