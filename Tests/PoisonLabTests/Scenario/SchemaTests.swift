import Foundation
import PoisonLab
import Testing

@Suite("JSON Schema", .serialized)
struct SchemaTests {
  /// Runs scripts/validate-with-schema.py on `files`; returns (status, output).
  func validate(_ files: [String]) throws -> (Int32, String) {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let schema = dir.write("schema.json", text: ScenarioSchema.document().serialized(indent: 2))
    let process = Process()
    // Debian's own interpreter with python3-jsonschema from apt (make deps),
    // not whatever python3 comes first on PATH.
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments =
      [CLI.root.appendingPathComponent("scripts/validate-with-schema.py").path, schema] + files
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test("every scenario in scenarios/ validates against the schema (Python jsonschema)")
  func scenarios() throws {
    let directory = CLI.root.appendingPathComponent("scenarios")
    let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter {
      $0.hasSuffix(".json")
    }
    .sorted().map { directory.appendingPathComponent($0).path }
    let (status, output) = try validate(files)
    #expect(status == 0, "\(output)")
    #expect(
      output.components(separatedBy: "\nOK ").count + (output.hasPrefix("OK ") ? 0 : 1)
        >= files.count)
  }

  @Test("the schema and poisonlab validate both reject known-bad scenarios")
  func rejects() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let bad = [
      #"{"name": "a", "dataset": {"name": "synthetic", "clases": 3}, "model": {"name": "mlp"}}"#,
      #"{"name": "b", "dataset": {"name": "synthetic"}, "model": {"name": "mlp", "hidden": [0]}}"#,
      #"{"name": "c", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "training": {"learning_rate": "fast"}}"#,
      #"{"name": "d", "dataset": {"name": "synthetic"}, "model": {"name": "rnn"}}"#,
      #"{"name": "e", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "trainig": {}}"#,
      #"{"name": "f", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "expect": {"acuracy": {"min": 1}}}"#,
      #"{"name": "g", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}, "federation": {"clients": 4}, "defense": {"name": "krum", "f": -1}}"#,
      #"{"name": "h", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "mlp"}, "audit": {"name": "strp"}}"#,
      #"{"name": "i", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "mlp"}, "audit": {"name": "strip", "n": 1}}"#,
      #"{"name": "Smoke_Fed", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}}"#,
      #"{"name": "", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"}}"#,
      #"{"name": "k", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "cnn", "kernel": 4}}"#,
    ]
    for (i, text) in bad.enumerated() {
      let file = dir.write("bad\(i).json", text: text)
      let (status, output) = try validate([file])
      #expect(status == 1, "schema accepted \(text): \(output)")
      #expect(throws: ScenarioErrors.self) { try ScenarioLoader.load(file: file) }
    }
  }

  @Test("null on an optional key passes the schema and poisonlab alike; on a required one neither")
  func nulls() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let good = dir.write(
      "null.json",
      text:
        #"{"name": "n", "dataset": {"name": "synthetic", "train_size": null}, "model": {"name": "mlp", "hidden": null}, "training": {"rounds": null}, "attack": null, "expect": null}"#
    )
    let (status, output) = try validate([good])
    #expect(status == 0, "\(output)")
    #expect(try ScenarioLoader.load(file: good).attacks.isEmpty)
    let bad = dir.write(
      "required.json", text: #"{"name": "n", "dataset": {"name": "synthetic"}, "model": null}"#)
    #expect(try validate([bad]).0 == 1)
    #expect(throws: ScenarioErrors.self) { try ScenarioLoader.load(file: bad) }
  }

  @Test("the schema covers every plug-in and key of the registry")
  func coverage() throws {
    let text = ScenarioSchema.document().serialized()
    for family in [PluginFamily.datasets, .models, .partitions, .attacks, .defenses, .audits] {
      for d in Registry.descriptors(family) {
        #expect(text.contains(#"{"const": "\#(d.name)"}"#), "\(d.name)")
        for spec in d.parameters {
          #expect(text.contains(#""\#(spec.key)": {"#), "\(d.name).\(spec.key)")
        }
      }
    }
  }
}
