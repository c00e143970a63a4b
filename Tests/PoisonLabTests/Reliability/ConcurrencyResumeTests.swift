import Foundation
import PoisonLab
import Testing

/// Guarantee R3: an output is locked (flock) by its writer; a second writer
/// exits 3 at once naming the locked file.
@Suite("Reliability R3: concurrent writers are refused", .serialized)
struct ConcurrentWriterTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"

  @Test("a second run or sweep on the same output exits 3 at once and names the lock holder's file")
  func secondWriter() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    for command in ["run", "sweep"] {
      let output = dir.path + "/\(command).jsonl"
      var first = [command, smoke, "--output", output, "--quiet"]
      first += command == "run" ? ["--set", "training.rounds=100000"] : ["--seeds", "0-400"]
      let holder = try CLI.start(first, in: dir.path)
      defer {
        // SIGKILL: the test runner's blocked-signal mask is inherited.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
      }
      let locked = command == "run" ? output + ".partial" : output
      #expect(waitForFile(locked), "the first writer never created \(locked)")
      usleep(200_000)
      let second =
        command == "run"
        ? try CLI.run(["run", smoke, "--output", output, "--quiet"])
        : try CLI.run(["sweep", smoke, "--seeds", "0-3", "--output", output, "--quiet"])
      #expect(second.status == 3, "\(command): \(second.stderr)")
      #expect(second.stderr.contains("another poisonlab process is writing it"))
      #expect(second.stderr.contains("exclusive lock on \(locked)"), "\(second.stderr)")
    }
  }

  @Test("the library refuses a second AtomicFile on the same path while the first is open")
  func libraryLock() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let path = dir.path + "/out.jsonl"
    let first = try AtomicFile(path: path)
    #expect(throws: SinkError.self) { _ = try AtomicFile(path: path) }
    try first.write("done\n")
    try first.commit()
    let second = try AtomicFile(path: path)  // free again
    second.discard()
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "done\n")
  }
}

/// Guarantee R4: a sweep resumes exactly: a run counts as done only when all
/// its rows are present and parse; kill -9 at any point loses nothing.
@Suite("Reliability R4: resume after loss or kill -9 is exact", .serialized)
struct ResumeTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"

  @Test("a finished run missing one round row is redone; its old rows are dropped")
  func missingRoundRow() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let output = dir.path + "/sweep.jsonl"
    let full = try CLI.run(["sweep", smoke, "--seeds", "0-2", "--output", output, "--quiet"])
    #expect(full.status == 0, "\(full.stderr)")
    let reference = try String(contentsOfFile: output, encoding: .utf8)
    var lines = reference.split(separator: "\n").map(String.init)
    lines.remove(at: 1)  // a round row of the first run
    try (lines.joined(separator: "\n") + "\n").write(
      toFile: output, atomically: true, encoding: .utf8)
    let again = try CLI.run(["sweep", smoke, "--seeds", "0-2", "--output", output])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stderr.contains("removed 4 line(s) of unfinished runs"), "\(again.stderr)")
    #expect(again.stderr.contains("1 run(s) to do, 2 already in"), "\(again.stderr)")
    let resumed = try String(contentsOfFile: output, encoding: .utf8)
    #expect(comparableLines(resumed) == comparableLines(reference))
  }

  @Test("sift: complete runs are kept; partial, duplicated and torn lines go; a note is refused")
  func sift() throws {
    let expected: [String: Set<Int>?] = [
      "a": [1, 2], "b": [1, 2], "c": [1, 2], "s": Set<Int>?.none,
    ]
    let text = """
      {"type": "round", "run_id": "a", "round": 1}
      {"type": "round", "run_id": "a", "round": 2}
      {"type": "summary", "run_id": "a", "round": 2}
      {"type": "round", "run_id": "b", "round": 1}
      {"type": "summary", "run_id": "b", "round": 2}
      {"type": "round", "run_id": "c", "round": 1}
      {"type": "round", "run_id": "c", "round": 1}
      {"type": "round", "run_id": "c", "round": 2}
      {"type": "summary", "run_id": "c", "round": 2}
      {"type": "skipped", "run_id": "s"}
      {"type": "round", "run_id": "a"
      """
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let path = dir.write("s.jsonl", text: text)
    let output = try SweepOutput(path: path, expectedRows: expected)
    output.close()
    #expect(output.completed == ["a", "s"])
    #expect(output.removedLines == 7)
    // A complete line that is not a sweep's row (a note) is never removed:
    // the file is refused as it is.
    let noted = dir.write(
      "n.jsonl",
      text: text.replacingOccurrences(
        of: "\n{\"type\": \"skipped", with: "\nnot json\n{\"type\": \"skipped"))
    #expect(throws: SinkError.self) { try SweepOutput(path: noted, expectedRows: expected) }
  }

  @Test("kill -9 at random points (seed 11), then resume: identical to an uninterrupted sweep")
  func killAndResume() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let output = dir.path + "/sweep.jsonl"
    let arguments = [
      // About 1.3 s of runs: the kills below land in the middle of the sweep.
      "sweep", smoke, "--grid", "training.rounds=30,50", "--seeds", "0-5", "--output", output,
      "--quiet",
    ]
    var rng = SplitMix64(seed: 11)
    var killed = 0
    for _ in 0..<4 {
      let process = try CLI.start(arguments, in: dir.path)
      usleep(UInt32(50_000 + rng.nextInt(below: 400_000)))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      if process.terminationReason == .uncaughtSignal { killed += 1 }
    }
    // At least one kill cut a sweep short (else the resume is not tested).
    #expect(killed > 0)
    let finish = try CLI.run(arguments)
    #expect(finish.status == 0, "\(finish.stderr)")
    let reference = try CLI.run(Array(arguments.prefix(6)) + ["--quiet"])
    #expect(reference.status == 0)
    #expect(
      comparableLines(try String(contentsOfFile: output, encoding: .utf8))
        == comparableLines(reference.stdout))
    #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
  }
}
