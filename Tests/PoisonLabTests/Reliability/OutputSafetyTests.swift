import Foundation
import PoisonLab
import Testing

/// Guarantee R1: only a regular file (or a missing path) is replaced, through
/// `FILE.partial` and a rename; anything else is refused with exit 3 before work.
@Suite("Reliability R1: outputs replace only regular files", .serialized)
struct OutputSafetyTests {
  let smoke = "scenarios/regression/smoke-synthetic.json"

  @Test("AtomicFile refuses device nodes, FIFOs, symbolic links, folders and a missing folder")
  func refusesNonRegular() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    #expect(mkfifo(dir.path + "/fifo", 0o644) == 0)
    try FileManager.default.createSymbolicLink(
      atPath: dir.path + "/link", withDestinationPath: dir.write("target", text: "keep me"))
    try FileManager.default.createDirectory(
      atPath: dir.path + "/folder", withIntermediateDirectories: false)
    let refused: [(String, String)] = [
      ("/dev/null", "a character device"), (dir.path + "/fifo", "a FIFO"),
      (dir.path + "/link", "a symbolic link"), (dir.path + "/folder", "a directory"),
      (dir.path + "/missing/out.jsonl", "does not exist"),
    ]
    for (path, words) in refused {
      #expect {
        try AtomicFile.write("x", to: path)
      } throws: { error in
        (error as? SinkError)?.reason.contains(words) == true
      }
    }
    // The symbolic link still points at the untouched file; nothing was left behind.
    #expect(try String(contentsOfFile: dir.path + "/target", encoding: .utf8) == "keep me")
    #expect(try SystemFile.kind(of: dir.path + "/link") == .symbolicLink)
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/link.partial"))
  }

  @Test("a symbolic link planted at FILE.partial is refused, and its target is untouched")
  func plantedPartial() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let victim = dir.write("victim", text: "secret")
    try FileManager.default.createSymbolicLink(
      atPath: dir.path + "/out.jsonl.partial", withDestinationPath: victim)
    #expect(throws: SinkError.self) { try AtomicFile.write("x", to: dir.path + "/out.jsonl") }
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "secret")
  }

  @Test("AtomicFile replaces a regular file whole, and - is standard output")
  func replacesRegular() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let path = dir.write("out.txt", text: "old contents that are longer")
    try AtomicFile.write("new", to: path)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
    #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    #expect(OutputPath.isStandardOutput("-"))
  }

  @Test("run, --plot and aggregate --output refuse a device node (exit 3 before any work)")
  func cliRefusesDevices() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    #expect(mkfifo(dir.path + "/fifo", 0o644) == 0)
    for arguments in [
      ["run", smoke, "--output", "/dev/null"], ["run", smoke, "--output", dir.path + "/fifo"],
      ["run", smoke, "--output", "-", "--plot", "/dev/null"],
    ] {
      let r = try CLI.run(arguments)
      #expect(r.status == 3, "\(arguments): \(r.stderr)")
      #expect(r.stderr.contains("poisonlab replaces only regular files"))
      #expect(r.stdout.isEmpty, "no work may start: \(r.stdout)")
    }
    let updates = dir.write("u.csv", text: "1,2\n3,4\n")
    #expect(mkfifo(dir.path + "/fifo.npy", 0o644) == 0)
    let r = try CLI.run([
      "aggregate", updates, "--defense", #"{"name": "mean"}"#, "--output", dir.path + "/fifo.npy",
    ])
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains("poisonlab replaces only regular files"), "\(r.stderr)")
    #expect(try SystemFile.kind(of: dir.path + "/fifo.npy") == .fifo)
  }

  @Test(
    "as root, a character device made with mknod stays a device after run --output",
    .enabled(if: geteuid() == 0, "mknod needs root (CI runs as root)"))
  func mknodDevice() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r0 = try CLI.shell("mknod \(dir.path)/fn c 1 3")
    try #require(r0.status == 0, "mknod failed: \(r0.stderr)")
    let r = try CLI.run(["run", smoke, "--output", dir.path + "/fn", "--quiet"])
    #expect(r.status == 3)
    #expect(try SystemFile.kind(of: dir.path + "/fn") == .characterDevice)
  }

  @Test("run --output - writes the records to standard output")
  func dashIsStdout() throws {
    let r = try CLI.run(["run", smoke, "--output", "-", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.split(separator: "\n").count == 5)
  }
}

/// Guarantee R2: every write failure exits 3 naming the path and the
/// operating system's reason; a closed standard output ends quietly.
@Suite("Reliability R2: write failures are reported, never ignored", .serialized)
struct WriteFailureTests {
  let smoke = "scenarios/regression/smoke-synthetic.json"

  /// A folder whose writes fail with ENOSPC (a 16 KiB tmpfs, as root), or
  /// else the shell prefix that makes them fail with EFBIG (`ulimit -f`).
  func fullDisk(_ dir: TemporaryDirectory) throws -> (folder: String, prefix: String, words: String)
  {
    let folder = dir.path + "/full"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    if geteuid() == 0, try CLI.shell("mount -t tmpfs -o size=16k tmpfs \(folder)").status == 0 {
      return (folder, "", "No space left on device (ENOSPC)")
    }
    return (folder, "ulimit -f 16; ", "File too large (EFBIG)")
  }

  func unmount(_ folder: String) {
    _ = try? CLI.shell("umount \(folder) 2>/dev/null")
  }

  @Test("a sweep onto a full disk exits 3 with the path and reason; resuming completes it exactly")
  func sweepFullDisk() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let (folder, prefix, words) = try fullDisk(dir)
    defer { unmount(folder) }
    let full = try CLI.shell(
      "\(prefix)\"$POISONLAB\" sweep \(smoke) --seeds 0-35 --output \(folder)/sweep.jsonl --quiet")
    #expect(full.status == 3, "\(full.stderr)")
    #expect(full.stderr.contains("\(folder)/sweep.jsonl: cannot write: \(words)"), "\(full.stderr)")
    #expect(!full.stderr.contains("NSCocoaError"))
    // Free the space (copy the torn file elsewhere) and resume.
    let resumed = dir.path + "/sweep.jsonl"
    try FileManager.default.copyItem(atPath: folder + "/sweep.jsonl", toPath: resumed)
    let again = try CLI.run(["sweep", smoke, "--seeds", "0-35", "--output", resumed, "--quiet"])
    #expect(again.status == 0, "\(again.stderr)")
    let reference = try CLI.run(["sweep", smoke, "--seeds", "0-35", "--quiet"])
    #expect(
      comparableLines(try String(contentsOfFile: resumed, encoding: .utf8))
        == comparableLines(reference.stdout))
  }

  @Test("run onto a full disk exits 3 and names the partial file; --plot failures exit 3")
  func runFullDisk() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let (folder, prefix, words) = try fullDisk(dir)
    defer { unmount(folder) }
    let r = try CLI.shell(
      "\(prefix)\"$POISONLAB\" run \(smoke) --set training.rounds=400 --output \(folder)/r.jsonl --quiet"
    )
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains(words), "\(r.stderr)")
    #expect(r.stderr.contains("rows completed so far are in \(folder)/r.jsonl.partial"))
    let plot = try CLI.shell(
      "\(prefix)\"$POISONLAB\" run \(smoke) --set training.rounds=400 --output - --quiet --plot \(folder)/p.svg > /dev/null"
    )
    #expect(plot.status == 3, "\(plot.stderr)")
    #expect(plot.stderr.contains("p.svg"))
  }

  @Test("a full standard output exits 3 for every command; a closed pipe ends quietly with 0")
  func standardOutput() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let results = dir.path + "/results.jsonl"
    #expect(try CLI.run(["sweep", smoke, "--seeds", "0-1", "--output", results]).status == 0)
    let smoke = CLI.root.path + "/" + self.smoke
    for command in [
      "validate \(smoke)", "list", "schema", "run \(smoke) --output -",
      "sweep \(smoke) --seeds 0-1", "check \(smoke)", "report \(results)",
      "privacy --noise-multiplier 1 --sample-rate 0.01 --steps 10 --delta 1e-5",
    ] {
      let full = try CLI.shell("\"$POISONLAB\" \(command) > /dev/full")
      #expect(full.status == 3, "\(command): \(full.stderr)")
      #expect(full.stderr.contains("No space left on device"), "\(command): \(full.stderr)")
      // A reader that takes one byte and leaves: the command ends quietly with 0.
      let closed = try CLI.shell(
        #"mkfifo p; ("$POISONLAB" "# + command
          + #" > p 2> err; echo $? > rc) & head -c 1 p > /dev/null; wait; cat rc; cat err >&2"#,
        in: dir.path)
      #expect(
        closed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0",
        "\(command): \(closed.stdout) \(closed.stderr)")
      #expect(
        !closed.stderr.contains("cannot write") && !closed.stderr.contains("crashed"),
        "\(command): \(closed.stderr)")
      _ = try CLI.shell("rm -f p rc err", in: dir.path)
    }
    // check's exit code is its verdict: a reader that leaves early does not
    // turn a missed threshold into 0, and the JUnit file is still written.
    let failing = #"check \#(smoke) --set 'expect={"accuracy": {"min": 0.999}}' --junit j.xml"#
    let verdict = try CLI.shell(
      #"mkfifo p; ("$POISONLAB" "# + failing
        + #" > p 2> err; echo $? > rc) & head -c 1 p > /dev/null; wait; cat rc"#, in: dir.path)
    #expect(
      verdict.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(verdict.stderr)")
    #expect(FileManager.default.fileExists(atPath: dir.path + "/j.xml"))
    // A run that writes files finishes them when the table's reader leaves,
    // and keeps its exit code: the model and every checkpoint are written.
    _ = try CLI.shell("mkdir ck", in: dir.path)
    let files = try CLI.shell(
      #"mkfifo p; ("$POISONLAB" run "# + smoke
        + #" --format jsonl --save-model m.safetensors --checkpoint-every 1 --checkpoint-dir ck"#
        + #" > p 2> err; echo $? > rc) & head -c 1 p > /dev/null; wait; cat rc; ls ck | wc -l"#,
      in: dir.path)
    let lines = files.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "0", "\(files.stdout) \(files.stderr)")
    #expect(lines.last == "4", "\(files.stdout)")
    #expect(FileManager.default.fileExists(atPath: dir.path + "/m.safetensors"))
  }
}

@Suite("Ctrl-C on run", .serialized)
struct InterruptTests {
  @Test("SIGINT: exit 130 and the message names the partial file holding the finished rows")
  func interrupt() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenario = CLI.root.path + "/scenarios/regression/smoke-federated.json"
    let process = try CLI.start(
      [
        "run", scenario, "--output", dir.path + "/out.jsonl", "--quiet", "--no-expect", "--set",
        "training.rounds=1000000",
      ], in: dir.path)
    let partial = dir.path + "/out.jsonl.partial"
    var waited = 0
    while waited < 600 {
      if let text = try? String(contentsOfFile: partial, encoding: .utf8), text.contains("\n") {
        break
      }
      usleep(50_000)
      waited += 1
    }
    process.interrupt()
    var polls = 0
    while process.isRunning && polls < 200 {
      usleep(50_000)
      polls += 1
    }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    let err = (try? String(contentsOfFile: dir.path + "/bg.err", encoding: .utf8)) ?? ""
    #expect(process.terminationStatus == 130)
    #expect(err.contains("poisonlab: interrupted; rows completed so far are in \(partial)"))
    let rows = (try? String(contentsOfFile: partial, encoding: .utf8)) ?? ""
    #expect(rows.split(separator: "\n").count >= 1)
  }
}

@Suite("Sweep outputs that are not a sweep's")
struct ForeignSweepOutputTests {
  @Test("sweep --output refuses a file it did not write (notes, a run's rows) and leaves it intact")
  func foreign() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let smoke = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"
    let notes = dir.write("notes.txt", text: "my notes\n")
    let r = try CLI.run(["sweep", smoke, "--seeds", "0", "--output", notes, "--quiet"])
    #expect(r.status == 3 && r.stderr.contains("not a sweep's rows"), "\(r.stderr)")
    #expect(try String(contentsOfFile: notes, encoding: .utf8) == "my notes\n")
    #expect(!FileManager.default.fileExists(atPath: notes + ".partial"))
    let rows = dir.path + "/run.jsonl"
    #expect(try CLI.run(["run", smoke, "--output", rows, "--quiet"]).status == 0)
    let before = try String(contentsOfFile: rows, encoding: .utf8)
    let again = try CLI.run(["sweep", smoke, "--seeds", "0", "--output", rows, "--quiet"])
    #expect(again.status == 3 && again.stderr.contains("not a sweep's rows"), "\(again.stderr)")
    #expect(try String(contentsOfFile: rows, encoding: .utf8) == before)
    // A torn first line (a kill during the first append) is still resumed.
    let torn = dir.write("torn.jsonl", text: #"{"type": "rou"#)
    #expect(try CLI.run(["sweep", smoke, "--seeds", "0", "--output", torn, "--quiet"]).status == 0)
  }
}

@Suite("Outputs locked from the start")
struct EarlyLockTests {
  @Test(
    "run --plot is locked before training: a second writer of the same plot exits 3 at once; Ctrl-C leaves no plot.partial"
  )
  func plotLock() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let smoke = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"
    let plot = dir.path + "/curves.svg"
    let holder = try CLI.start(
      [
        "run", smoke, "--output", "-", "--quiet", "--set", "training.rounds=100000", "--plot", plot,
      ],
      in: dir.path)
    #expect(waitForFile(plot + ".partial"), "the first run never locked its plot")
    usleep(200_000)
    let second = try CLI.run(["run", smoke, "--output", "-", "--quiet", "--plot", plot])
    #expect(
      second.status == 3 && second.stderr.contains("another poisonlab process"), "\(second.stderr)")
    kill(holder.processIdentifier, SIGINT)
    holder.waitUntilExit()
    #expect(holder.terminationStatus == 130)
    #expect(!FileManager.default.fileExists(atPath: plot + ".partial"))
    #expect(try CLI.run(["run", smoke, "--output", "-", "--quiet", "--plot", plot]).status == 0)
    #expect(FileManager.default.fileExists(atPath: plot))
  }
}
