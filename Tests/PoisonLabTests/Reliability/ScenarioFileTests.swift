import Foundation
import Testing

@testable import PoisonLab

/// A scenario file that cannot be read is a file error (exit 3, the file and
/// the system's reason), as a data file is; a file that can be read but is
/// not a valid scenario stays exit 2.
@Suite("Reliability: unreadable scenario files", .serialized)
struct ScenarioFileTests {
  @Test("a missing or unreadable scenario exits 3 in every command; an invalid one exits 2")
  func unreadableScenarioIsAFileError() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let missing = dir.path + "/missing.json"
    let folder = dir.path + "/folder.json"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    let invalid = dir.write("invalid.json", text: #"{"name": "x", "model": "#)
    let commands: [[String]] = [
      ["run"], ["validate"], ["sweep"], ["check"],
      ["audit", dir.path + "/m.safetensors", "--method", "strip", "--scenario"],
    ]
    for command in commands {
      for (file, reason) in [(missing, "no such file"), (folder, "is a directory")] {
        let r = try CLI.run(command + [file])
        #expect(r.status == 3, "\(command) \(file): \(r.stderr)")
        // The scenario is named (audit's model is missing too, and must not be the cause).
        let said = r.stderr + r.stdout
        #expect(said.contains(file) && said.contains(reason), "\(command): \(said)")
        #expect(!said.contains("m.safetensors"), "\(command): \(said)")
      }
      let bad = try CLI.run(command + [invalid])
      #expect(bad.status == 2, "\(command) invalid: \(bad.stderr)")
    }
    let message = try CLI.run(["run", missing]).stderr
    #expect(message.contains("\(missing): cannot read the scenario file: no such file"))
    // One invalid among unreadable ones: the invalid scenario decides (2).
    #expect(try CLI.run(["validate", missing, invalid]).status == 2)
    #expect(try CLI.run(["check", missing, invalid]).status == 2)
  }
}
