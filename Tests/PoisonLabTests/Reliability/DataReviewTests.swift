import Foundation
import Testing

@testable import PoisonLab

/// Each wrong result the review of the data side and privacy found stays fixed.
///
/// The review (2026-12-02, session 20) compared NumPy, scikit-learn and
/// numerical integration; the cases here are hand-made.
@Suite("Reliability: data loaders and privacy accounting", .serialized)
struct DataReviewTests {
  /// Writes a CSV of `rows` (one string per line).
  func csv(_ dir: TemporaryDirectory, _ name: String, _ rows: [String]) -> String {
    dir.write(name, text: rows.joined(separator: "\n") + "\n")
  }

  /// The class names of a training file read alone.
  func names(_ path: String) throws -> [String] {
    try CSVData.load(trainPath: path, testPath: nil, labelColumn: nil, header: nil).train.classNames
  }

  /// Forty rows `x, y, label` cycling through `labels`, x and y by label.
  func rows(_ labels: [String]) -> [String] {
    (0..<40).map { i in
      let label = labels[i % labels.count]
      return "\(Double(i % labels.count) + 0.01 * Double(i)),\(Double(i % 7) * 0.1),\(label)"
    }
  }

  @Test("epsilon composes each round's sampling rate: quarantine raises the others' rate")
  func epsilonAfterQuarantine() {
    // Golden: Tests/PoisonLabTests/Privacy/varying_rate_reference.py
    // (numerical integration): 10 clients, 5 per round, 3 then 4 quarantined.
    let rates = [0.5, 5.0 / 7] + [Double](repeating: 5.0 / 6, count: 4)
    let varying = RDPAccountant.epsilon(rates: rates, noiseMultiplier: 1, delta: 1e-5)
    #expect(abs(varying.epsilon - 12.609_373_906_6) < 1e-6 && varying.order == 3)
    let constant = RDPAccountant.epsilon(q: 0.5, noiseMultiplier: 1, steps: 6, delta: 1e-5)
    #expect(abs(constant.epsilon - 9.909_965_413_3) < 1e-6)
    // Nothing released spends nothing.
    #expect(RDPAccountant.epsilon(q: 0.01, noiseMultiplier: 1, steps: 0, delta: 1e-5).epsilon == 0)
    #expect(RDPAccountant.epsilon(q: 0, noiseMultiplier: 1, steps: 100, delta: 1e-5).epsilon == 0)
  }

  @Test("a run resumed from a checkpoint composes the rates the checkpoint recorded")
  func epsilonResumed() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // Quarantine shuts out 3 clients after round 1 and one more after
    // round 2: rates 5/10, 5/8, 5/7 in the full run (golden:
    // Tests/PoisonLabTests/Privacy/varying_rate_reference.py).
    let scenario = dir.write(
      "q.json",
      text:
        #"{"name": "dpq", "seed": 1, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 300, "test_size": 100}, "model": {"name": "logistic"}, "training": {"rounds": 3, "batch_size": 16, "learning_rate": 0.1}, "federation": {"clients": 10, "clients_per_round": 5}, "attack": {"name": "sign-flip", "clients": 3, "scale": 20}, "defense": [{"name": "anomaly", "threshold": 1.0}, {"name": "dp", "clip": 1, "noise_multiplier": 1.1}, {"name": "mean"}], "safeguards": {"quarantine": {"after": 1, "window": 1}}}"#
    )
    let epsilon = { (r: CLI.Result) throws -> Double in
      let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
      guard case .number(let e)? = try JSONParser.parse(last)["epsilon"] else { return -1 }
      return e
    }
    let full = try CLI.run([
      "run", scenario, "--format", "jsonl", "--checkpoint-every", "1", "--checkpoint-dir", dir.path,
    ])
    #expect(full.status == 0, "\(full.stderr)")
    #expect(abs(try epsilon(full) - 7.038_130_696) < 1e-6)
    // The resumed round 3 runs without the quarantine (not saved): rate
    // 5/10 after the recorded 5/10 and 5/8.
    let resumed = try CLI.run([
      "run", scenario, "--format", "jsonl", "--init-model", dir.path + "/round-0002.safetensors",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    // Golden from varying_rate_reference.py (numerical integration).
    #expect(abs(try epsilon(resumed) - 6.639_573_983_5) < 1e-6)
  }

  @Test("CSV labels that are numbers are one class per value, ordered numerically")
  func numericLabels() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let train = csv(dir, "train.csv", rows(["0", "1"]))
    let test = csv(dir, "test.csv", rows(["0.0", "1.0"]))
    let (a, b) = try CSVData.load(trainPath: train, testPath: test, labelColumn: nil, header: nil)
    #expect(a.classes == 2 && a.classNames == ["0", "1"])
    #expect(b?.labels.prefix(4) == [0, 1, 0, 1])
    let spelled = csv(dir, "spelled.csv", rows(["+1", "1", "01", "2"]))
    #expect(
      try names(spelled) == ["1", "2"])
    let floats = csv(dir, "floats.csv", rows(["10.0", "2.0", "1.0"]))
    #expect(
      try names(floats) == ["1", "2", "10"])
    // Text labels stay strings, in byte order.
    let text = csv(dir, "text.csv", rows(["b", "a", "10"]))
    #expect(
      try names(text) == ["10", "a", "b"])
  }

  @Test("a header whose feature names are numbers (0,1,label) is a header, not a class")
  func numericHeader() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = csv(dir, "h.csv", ["0,1,label"] + rows(["0", "1"]))
    let data = try CSVData.load(trainPath: file, testPath: nil, labelColumn: nil, header: nil).train
    #expect(data.count == 40 && data.classes == 2)
    // A typo in the first data row's features is still an error, not a header.
    let typo = csv(dir, "t.csv", ["1,abc,0"] + rows(["0", "1"]))
    #expect(throws: DataError.self) {
      try CSVData.load(trainPath: typo, testPath: nil, labelColumn: nil, header: nil)
    }
  }

  @Test(
    "a first row with a text label is data when other rows share that label; nan labels are strings"
  )
  func firstRowAndOddLabels() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    // 150 numeric rows, then "other" again: the first row is data.
    let lines =
      ["0.5,0.5,other"] + (0..<150).map { "\(Double($0 % 2)),0.1,\($0 % 2)" } + ["1,1,other"]
    let file = csv(dir, "o.csv", lines)
    let data = try CSVData.load(trainPath: file, testPath: nil, labelColumn: nil, header: nil).train
    #expect(data.count == 152 && data.classNames == ["0", "1", "other"])
    // A nan label is not a number: byte order, the same every run.
    let nan = csv(dir, "n.csv", rows(["nan", "1", "2"]))
    #expect(
      try names(nan) == ["1", "2", "nan"])
    // pandas' default column names over text labels: a header.
    let pandas = csv(dir, "p.csv", ["0,1,label"] + rows(["setosa", "virginica"]))
    #expect(
      try names(pandas) == ["setosa", "virginica"])
    // Integers of any length are exact; one value in two spellings is one class.
    let long = csv(dir, "l.csv", rows(["99999999999999999999", "100000000000000000000"]))
    #expect(
      try names(long) == ["99999999999999999999", "100000000000000000000"])
    let spellings = csv(dir, "s.csv", rows(["9007199254740992.0", "9007199254740992", "7"]))
    #expect(
      try names(spellings) == ["7", "9007199254740992"])
    // Integers beyond 2^53 stay distinct.
    let big = csv(dir, "b.csv", rows(["9007199254740992", "9007199254740993", "9007199254740994"]))
    #expect(
      try names(big) == ["9007199254740992", "9007199254740993", "9007199254740994"])
  }

  @Test("labels that are not UTF-8 are a named error, not one merged class")
  func latin1() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    var bytes: [UInt8] = []
    let labels: [[UInt8]] = [
      [0x63, 0x61, 0x66, 0xE9], [0x63, 0x61, 0x66, 0xE8], [0x74, 0x65, 0x61],
    ]
    for (i, label)
      in labels
      .enumerated()
    {
      for _ in 0..<5 { bytes += Array("\(i).5,1,".utf8) + label + [0x0A] }
    }
    let file = dir.write("l.csv", bytes)
    do {
      _ = try CSVData.load(trainPath: file, testPath: nil, labelColumn: nil, header: nil)
      Issue.record("loaded")
    } catch {
      #expect(error.description.contains("not UTF-8"), "\(error)")
    }
  }

  @Test("header: true with a test file that has no header is an error, not a lost row")
  func headerTrueTestFile() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let train = csv(dir, "train.csv", ["a,b,label"] + rows(["0", "1"]))
    let test = csv(dir, "test.csv", rows(["0", "1"]))
    #expect(throws: DataError.self) {
      try CSVData.load(trainPath: train, testPath: test, labelColumn: nil, header: true)
    }
    let both = csv(dir, "test2.csv", ["a,b,label"] + rows(["0", "1"]))
    let (_, loaded) = try CSVData.load(
      trainPath: train, testPath: both, labelColumn: nil, header: true)
    #expect(loaded?.count == 40)
  }

  @Test("a numeric header found in the training file is the header of a test file that repeats it")
  func numericHeaderInTestFile() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let train = csv(dir, "train.csv", ["0,1,label"] + rows(["cat", "dog"]))
    // Alone, neither test file tells: a header-only file had made "label"
    // a class without training samples; two text labels occurring once each
    // had kept the header as a sample of class "label".
    let headerOnly = csv(dir, "empty.csv", ["0,1,label"])
    #expect(throws: DataError.corrupt(file: headerOnly, reason: "no data rows after the header")) {
      try CSVData.load(trainPath: train, testPath: headerOnly, labelColumn: nil, header: nil)
    }
    let short = csv(dir, "short.csv", ["0,1,label", "0.5,0.1,cat", "1.5,0.2,dog"])
    let (a, b) = try CSVData.load(trainPath: train, testPath: short, labelColumn: nil, header: nil)
    #expect(a.classNames == ["cat", "dog"])
    #expect(b?.count == 2)
    #expect(b?.labels == [0, 1])
  }

  @Test("minmax on a column spanning -3e38..3e38 gives finite values in [0, 1]")
  func minmaxRange() {
    var data = Dataset(
      features: [-3e38, 1, 0, 2, 3e38, 3], labels: [0, 1, 0], shape: Shape(features: 2),
      classes: 2, isImage: false)
    let normalizer = Normalizer(.minmax, fittedTo: data)
    normalizer.apply(to: &data)
    #expect(data.features.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "\(data.features)")
    #expect(abs(data.features[2] - 0.5) < 1e-6 && abs(data.features[4] - 1) < 1e-6)
  }

  @Test("a test class without training samples: exit 3 from files, exit 2 from train_size")
  func absentClass() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let train = csv(dir, "train.csv", rows(["0", "1"]))
    let test = csv(dir, "test.csv", rows(["0", "1", "2"]))
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "absent", "seed": 0, "dataset": {"name": "csv", "train": "\#(train)", "test": "\#(test)"}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    )
    let files = try CLI.run(["run", scenario, "--format", "jsonl"])
    #expect(files.status == 3, "\(files.stderr)")
    #expect(files.stderr.contains("class 2 (label \"2\") has 13 test sample(s) and no training"))
    let small = dir.write(
      "small.json",
      text:
        #"{"name": "small", "seed": 0, "dataset": {"name": "sklearn-iris", "train_size": 2}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    )
    let sized = try CLI.run(["run", small, "--format", "jsonl"])
    #expect(sized.status == 2, "\(sized.stderr)")
    #expect(sized.stderr.contains("dataset.train_size"))
  }

  @Test("class_accuracy is null for a class without test samples")
  func classAccuracyNull() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let scenario = dir.write(
      "s.json",
      text:
        #"{"name": "few", "seed": 0, "dataset": {"name": "synthetic", "classes": 3, "features": 4, "test_size": 2}, "model": {"name": "logistic"}, "training": {"rounds": 1}}"#
    )
    let r = try CLI.run(["run", scenario, "--format", "jsonl"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
    let fields = try JSONParser.parse(summary)
    guard case .array(let perClass)? = fields["class_accuracy"] else {
      Issue.record("no class_accuracy in \(summary)")
      return
    }
    #expect(perClass.count == 3 && perClass[2] == .null, "\(perClass)")
  }

  @Test("trigger margin is refused beside a [row, column] or center position (exit 2)")
  func marginRefused() {
    for position in [#"[0, 0]"#, #""center""#] {
      let text =
        #"{"name": "m", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "fraction": 0.1, "target": 0, "trigger": {"position": \#(position), "margin": 2}}}"#
      #expect(throws: ScenarioErrors.self) { try ScenarioLoader.decode(text, source: "m.json") }
    }
    let corner =
      #"{"name": "m", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "fraction": 0.1, "target": 0, "trigger": {"position": "top-left", "margin": 2}}}"#
    #expect(throws: Never.self) { try ScenarioLoader.decode(corner, source: "m.json") }
    // validate writes margin 0 out: its output loads again.
    let written =
      #"{"name": "m", "dataset": {"name": "synthetic", "shape": [8, 8, 1]}, "model": {"name": "mlp"}, "attack": {"name": "backdoor", "fraction": 0.1, "target": 0, "trigger": {"position": "center", "margin": 0}}}"#
    #expect(throws: Never.self) { try ScenarioLoader.decode(written, source: "m.json") }
  }
}
