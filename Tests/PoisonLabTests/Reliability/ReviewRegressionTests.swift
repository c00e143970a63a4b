import Foundation
import Testing

@testable import PoisonLab

/// Each case an adversarial review found (2026-12-02) stays fixed.
@Suite("Reliability: regressions from the adversarial review", .serialized)
struct ReviewRegressionTests {
  let smoke = CLI.root.path + "/scenarios/regression/smoke-synthetic.json"

  @Test("report: a round of 1e19 or 1e18 is a named error (exit 3), not a trap or a runaway")
  func hugeRound() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    for round in ["1e19", "-1e19", "1e18", "2.5"] {
      let path = dir.write(
        "r.jsonl",
        text:
          #"{"type":"round","run_id":"a","run_index":0,"axes":{"x":1},"scenario":"s","round":"#
          + round + #","accuracy":0.5}"# + "\n")
      let r = try CLI.run(["report", path])
      #expect(r.status == 3, "\(round): \(r.stderr)")
      #expect(r.stderr.contains("must be a whole number from 0 to 1000000"), "\(r.stderr)")
    }
    #expect(Int(saturating: 1e300) == .max)
    #expect(Int(saturating: -.infinity) == .min)
    #expect(Int(saturating: .nan) == 0)
    #expect(Int(saturating: 3.9) == 3)
  }

  @Test("spectral-signatures with multiplier 1e20 runs (removal count saturates), no trap")
  func spectralMultiplier() throws {
    let text =
      #"{"name": "ss", "seed": 1, "dataset": {"name": "synthetic", "classes": 3, "shape": [6, 6, 1], "train_size": 300, "test_size": 90}, "model": {"name": "mlp", "hidden": [8]}, "training": {"rounds": 1}, "attack": {"name": "backdoor", "fraction": 0.1, "target": 0, "trigger": {"size": 2}}, "defense": {"name": "spectral-signatures", "multiplier": 1e20}}"#
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r = try CLI.run(["run", dir.write("ss.json", text: text), "--output", "-"])
    #expect(r.status == 0, "\(r.status): \(r.stderr)")
    #expect(r.stdout.contains(#""type": "summary""#))
  }

  @Test("a sweep refuses an output whose partial file a run is writing; the run's rows survive")
  func sweepVersusRun() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let output = dir.path + "/x.jsonl"
    let run = try CLI.start(
      ["run", smoke, "--set", "training.rounds=100000", "--output", output, "--quiet"],
      in: dir.path)
    defer {
      kill(run.processIdentifier, SIGKILL)
      run.waitUntilExit()
    }
    #expect(waitForFile(output + ".partial"))
    usleep(300_000)
    let sweep = try CLI.run(["sweep", smoke, "--seeds", "0", "--output", output, "--quiet"])
    #expect(sweep.status == 3, "\(sweep.stderr)")
    #expect(sweep.stderr.contains("another poisonlab process is writing it"), "\(sweep.stderr)")
    #expect(FileManager.default.fileExists(atPath: output + ".partial"))
  }

  @Test("a hard link planted at FILE.partial is replaced, never written through")
  func hardLinkedPartial() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let important = dir.write("important.txt", text: "IMPORTANT\n")
    #expect(link(important, dir.path + "/x.jsonl.partial") == 0)
    // It holds no row (no JSON object), so it is not an unfinished run's rows.
    let r = try CLI.run(["run", smoke, "--output", dir.path + "/x.jsonl", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try String(contentsOfFile: important, encoding: .utf8) == "IMPORTANT\n")
    #expect(try String(contentsOfFile: dir.path + "/x.jsonl", encoding: .utf8).contains("summary"))
  }

  @Test("resume redoes failed runs (error rows) and exits 3 while they still fail")
  func errorRowsAreRedone() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let data = dir.path + "/data.csv"
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "csv", "dataset": {"name": "csv", "train": "data.csv"}, "model": {"name": "logistic"}, "training": {"rounds": 2}}"#
    )
    let output = dir.path + "/out.jsonl"
    let failed = try CLI.run(["sweep", scenario, "--seeds", "0-1", "--output", output, "--quiet"])
    #expect(failed.status == 3, "\(failed.stderr)")
    try (0..<40).map { "\($0 % 7),\($0 % 5),\($0 % 2)" }.joined(separator: "\n")
      .write(toFile: data, atomically: true, encoding: .utf8)
    let fixed = try CLI.run(["sweep", scenario, "--seeds", "0-1", "--output", output])
    #expect(fixed.status == 0, "\(fixed.stderr)")
    #expect(fixed.stderr.contains("removed 2 line(s) of unfinished runs"), "\(fixed.stderr)")
    let text = try String(contentsOfFile: output, encoding: .utf8)
    #expect(!text.contains(#""type": "error""#))
    #expect(text.split(separator: "\n").count == 6)
  }

  @Test("a repeated axis replaces the earlier one; identical combinations run once")
  func axesAndDuplicates() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let output = dir.path + "/out.jsonl"
    let r = try CLI.run([
      "sweep", smoke, "--grid", "training.learning_rate=0.1", "--grid",
      "training.learning_rate=0.2", "--seeds", "1,1", "--output", output,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("1 combination(s) resolve to a scenario already in the sweep"))
    let text = try String(contentsOfFile: output, encoding: .utf8)
    #expect(text.split(separator: "\n").count == 5)
    #expect(text.contains(#""axes": {"training.learning_rate": 0.2, "seed": 1}"#), "\(text)")
    let report = try CLI.run(["report", output])
    #expect(report.status == 0, "\(report.stderr)")
    let again = try CLI.run([
      "sweep", smoke, "--grid", "training.learning_rate=0.2", "--seeds", "1,1", "--output", output,
    ])
    #expect(again.stderr.contains("0 run(s) to do"), "\(again.stderr)")
  }

  @Test("--output and --plot naming one file is a usage error (exit 2)")
  func sameOutputTwice() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r = try CLI.run([
      "run", smoke, "--output", dir.path + "/x.jsonl", "--plot", dir.path + "/./x.jsonl",
    ])
    #expect(r.status == 2)
    #expect(r.stderr.contains("--output and --plot name the same file"), "\(r.stderr)")
    // A file and another output's partial file collide too; so does the input.
    let partial = try CLI.run([
      "run", smoke, "--output", dir.path + "/r.jsonl.partial", "--plot", dir.path + "/r.jsonl",
    ])
    #expect(partial.status == 2, "\(partial.stderr)")
    let copy = dir.path + "/s.json"
    try FileManager.default.copyItem(atPath: smoke, toPath: copy)
    #expect(try CLI.run(["run", copy, "--output", copy]).status == 2)
    #expect(try CLI.run(["sweep", copy, "--seeds", "0", "--output", copy]).status == 2)
    #expect(try CLI.run(["check", copy, "--junit", copy]).status == 2)
    #expect(try String(contentsOfFile: copy, encoding: .utf8).contains("smoke-synthetic"))
  }

  @Test(
    "with standard output closed (>&-) the records file gets no table text; records meant for it fail"
  )
  func closedStdout() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let r = try CLI.shell("\"$POISONLAB\" run \(smoke) --output \(dir.path)/c.jsonl >&-")
    #expect(r.status == 0, "\(r.stderr)")
    let text = try String(contentsOfFile: dir.path + "/c.jsonl", encoding: .utf8)
    #expect(text.hasPrefix("{"), "\(text.prefix(80))")
    #expect(text.split(separator: "\n").count == 5)
    // Records meant for the closed standard output are a write error.
    let lost = try CLI.shell("\"$POISONLAB\" run \(smoke) --format jsonl >&-")
    #expect(lost.status == 3, "\(lost.stderr)")
    #expect(
      lost.stderr.contains("standard output: cannot write: it was closed when poisonlab started"))
    let listed = try CLI.shell("\"$POISONLAB\" list >&-")
    #expect(listed.status == 3 && listed.stderr.contains("it was closed"), "\(listed.stderr)")
  }

  @Test(
    "validate refuses fltrust's oversized root set and a train_size beyond the dataset, as run does"
  )
  func validateMatchesRun() throws {
    for (file, assignment, message) in [
      (
        "scenarios/regression/smoke-federated.json",
        #"defense={"name": "fltrust", "root_size": 1200}"#,
        "defense.root_size: 1200 leaves too few of the 1200 training samples for 12 clients; at most 1187"
      ),
      (
        "scenarios/fashion-mnist-clean.json", "dataset.train_size=60001",
        "dataset.train_size: asks for 60001 samples but the data has 60000"
      ),
    ] {
      let r = try CLI.run(["validate", file, "--set", assignment])
      #expect(r.status == 2, "\(assignment): \(r.stderr)")
      #expect(r.stderr.contains(message), "\(assignment): \(r.stderr)")
      let run = try CLI.run(["run", file, "--set", assignment, "--output", "-"])
      #expect(run.status == 2 && run.stderr.contains(message), "\(assignment): \(run.stderr)")
      #expect(run.stdout.isEmpty)
    }
  }

  @Test("a FIFO or a device in place of a data file is refused at once (exit 3)")
  func fifoInput() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    #expect(mkfifo(dir.path + "/train-images-idx3-ubyte", 0o644) == 0)
    dir.write("train-labels-idx1-ubyte", idx(type: 8, dims: [1], payload: [0]))
    dir.write("t10k-images-idx3-ubyte", idx(type: 8, dims: [1, 2, 2], payload: [1, 2, 3, 4]))
    dir.write("t10k-labels-idx1-ubyte", idx(type: 8, dims: [1], payload: [0]))
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "fifo", "dataset": {"name": "mnist", "path": "."}, "model": {"name": "logistic"}}"#
    )
    let r = try CLI.shell("timeout 30 \"$POISONLAB\" run \(scenario) --output -")
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains("is a FIFO (named pipe); data files must be regular files"))
    let csv = dir.write(
      "c.json",
      text:
        #"{"name": "dev", "dataset": {"name": "csv", "train": "/dev/zero"}, "model": {"name": "logistic"}}"#
    )
    let device = try CLI.shell("timeout 30 \"$POISONLAB\" run \(csv) --output -")
    #expect(device.status == 3, "\(device.stderr)")
  }

  @Test("bench and aggregate refuse --threads 0 (exit 2) and cap huge values")
  func threadOptions() throws {
    #expect(try CLI.run(["bench", "--threads", "0"]).status == 2)
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let updates = dir.write("u.csv", text: "1,2\n3,4\n")
    #expect(try CLI.run(["aggregate", updates, "--defense", "mean", "--threads", "0"]).status == 2)
    let capped = try CLI.run([
      "aggregate", updates, "--defense", "mean", "--threads", "99999999", "--format", "json",
    ])
    #expect(capped.status == 0)
    #expect(capped.stderr.contains("capped at"))
  }

  @Test(
    "XML text drops characters XML 1.0 forbids; JUnit of a file name with control characters parses"
  )
  func xmlControlCharacters() throws {
    #expect(
      XMLText.escape("a<b>&\"'\u{0}\u{1}\u{1B}\tz")
        == "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}\u{FFFD}\u{FFFD}\tz")
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // Scenario names are kebab-case; a file name may hold anything but / and NUL.
    let text = try String(contentsOfFile: smoke, encoding: .utf8)
    let scenario = dir.write("a<b>&\"'\u{1}\u{1B}.json", text: text)
    let r = try CLI.run(["check", scenario, "--junit", dir.path + "/j.xml"])
    #expect(r.status == 0, "\(r.stderr)")
    let parsed = try CLI.shell(
      "/usr/bin/python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \(dir.path)/j.xml"
    )
    #expect(parsed.status == 0, "\(parsed.stderr)")
  }

  @Test("CSV: 1e309 is out of float32 range like 1e39; only inf and infinity mean infinity")
  func csvInfinity() {
    #expect(CSVReader.parse("1e309") == .outOfRange)
    #expect(CSVReader.parse("1e39") == .outOfRange)
    #expect(CSVReader.parse("-inf") == .value(-.infinity))
    #expect(CSVReader.parse("Infinity") == .value(.infinity))
    #expect(CSVReader.parse("x") == .notANumber)
    // Decimal only, as NumPy reads it: hexadecimal is not a number here.
    #expect(CSVReader.parse("0x10") == .notANumber)
    #expect(CSVReader.parse("-0X1p4") == .notANumber)
    #expect(CSVReader.parse(" 16 ") == .value(16))
  }

  @Test("dnc on updates whose centring overflows float32 is a named error, not a hang")
  func dncOverflow() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let huge = dir.write("m.csv", text: "3e38,-3e38,1\n3e38,3e38,-1\n-3e38,3e38,0\n")
    let r = try CLI.shell("timeout 60 \"$POISONLAB\" aggregate \(huge) --defense dnc")
    #expect(r.status == 3, "\(r.stderr)")
    #expect(r.stderr.contains("overflow float32"), "\(r.stderr)")
    let large = dir.write("l.csv", text: "1e30,-1e30,1\n2e30,1e30,-1\n-1e30,3e30,0\n")
    #expect(try CLI.shell("timeout 60 \"$POISONLAB\" aggregate \(large) --defense dnc").status == 0)
  }

  @Test("an IDX training file of 0 images is a named error")
  func emptyIDX() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    dir.write("train-images-idx3-ubyte", idx(type: 8, dims: [0, 2, 2], payload: []))
    dir.write("train-labels-idx1-ubyte", idx(type: 8, dims: [0], payload: []))
    dir.write("t10k-images-idx3-ubyte", idx(type: 8, dims: [1, 2, 2], payload: [1, 2, 3, 4]))
    dir.write("t10k-labels-idx1-ubyte", idx(type: 8, dims: [1], payload: [0]))
    #expect {
      try IDXImages.load(directory: dir.path, classes: 10, hint: "")
    } throws: { error in
      "\(error)".contains("holds no images")
    }
  }
}
