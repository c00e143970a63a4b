import Foundation
import PoisonLab
import Testing

// The gzip fixture in Support/Files.swift was generated with:
//   python3 -c "import gzip,struct; open('x','wb').write(gzip.compress(bytes([0,0,8,3])
//     + struct.pack('>III',3,2,2) + bytes(range(12)), mtime=0))"

@Suite("IDX reader")
struct IDXTests {
  @Test("parses unsigned bytes and big-endian floats")
  func parses() throws {
    let bytes = try IDXArray(
      parsing: idx(type: 0x08, dims: [2, 3], payload: [1, 2, 3, 4, 5, 255]), file: "a")
    #expect(bytes.dimensions == [2, 3])
    #expect(bytes.values == [1, 2, 3, 4, 5, 255])
    let f = try IDXArray(
      parsing: idx(type: 0x0D, dims: [1], payload: [0x3F, 0xC0, 0, 0]), file: "b")
    #expect(f.values == [1.5])
  }

  @Test(
    "rejects malformed files with a message naming the file",
    arguments: [
      (
        [1, 0, 8, 1, 0, 0, 0, 1, 0] as [UInt8],
        "bad IDX magic: first two bytes are 01 00, expected 00 00"
      ),
      ([0, 0, 7, 1, 0, 0, 0, 1, 0], "unknown IDX element type 07"),
      ([0, 0, 8, 3, 0, 0, 0, 1], "truncated IDX header: 3 dimensions need 16 bytes, file has 8"),
      ([0, 0, 8, 1, 0, 0, 0, 4, 1, 2], "truncated: dimensions [4] need 4 data bytes, file has 2"),
      ([0, 0, 8, 1, 0, 0, 0, 1, 1, 2], "unexpected trailing data after the 1 data bytes"),
      ([0, 0], "too short for an IDX header (2 bytes)"),
      ([0, 0, 8, 0], "IDX file declares 0 dimensions"),
      ([0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "implausibly large"),
      // A float32 NaN (7FC00000) and +infinity (7F800000) as pixels.
      (
        [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x7F, 0xC0, 0, 0],
        "at flat index 0 (dimensions [1]) is not a finite number"
      ),
      (
        [0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3F, 0xC0, 0, 0, 0x7F, 0x80, 0, 0], "value inf at flat index 1"
      ),
    ])
  func rejects(bytes: [UInt8], message: String) {
    do {
      _ = try IDXArray(parsing: bytes, file: "f.idx")
      Issue.record("accepted malformed bytes")
    } catch {
      #expect(error.description.hasPrefix("f.idx: "))
      #expect(error.description.contains(message), "\(error)")
    }
  }

  /// Writes a complete MNIST-layout directory; `mutate` may replace files.
  func directory(imageFile: [UInt8]? = nil, labels: [UInt8] = [0, 1, 2]) -> TemporaryDirectory {
    let dir = TemporaryDirectory()
    let images = imageFile ?? idx(type: 8, dims: [3, 2, 2], payload: Array(0..<12))
    dir.write("train-images-idx3-ubyte", images)
    dir.write("train-labels-idx1-ubyte", idx(type: 8, dims: [labels.count], payload: labels))
    dir.write("t10k-images-idx3-ubyte.gz", gzippedImages)
    dir.write("t10k-labels-idx1-ubyte", idx(type: 8, dims: [3], payload: [2, 1, 0]))
    return dir
  }

  func load(_ dir: TemporaryDirectory) throws -> (train: Dataset, test: Dataset) {
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "mnist", "path": "\#(dir.path)"}, "model": {"name": "logistic"}}"#
    )
    return try s.dataset.load(seeds: SeedTree(0))
  }

  @Test("loads an MNIST-layout directory with raw and gzipped files")
  func loadsDirectory() throws {
    let dir = directory()
    defer { dir.cleanup() }
    let (train, test) = try load(dir)
    #expect(train.shape == Shape(height: 2, width: 2, channels: 1))
    #expect(train.labels == [0, 1, 2])
    #expect(test.features == train.features)
    #expect(test.labels == [2, 1, 0])
  }

  @Test("mismatched counts, bad labels, wrong rank and corrupt gzip are named errors")
  func fileErrors() {
    let cases: [(TemporaryDirectory, String)] = [
      (directory(labels: [0, 1]), "holds 3 images but"),
      (directory(labels: [0, 1, 12]), "label 12.0 of sample 2 is not in 0..<10"),
      (
        directory(imageFile: idx(type: 8, dims: [12], payload: Array(0..<12))),
        "expected 3 dimensions (count, rows, columns), found [12]"
      ),
    ]
    for (dir, message) in cases {
      defer { dir.cleanup() }
      #expect(throws: DataError.self) { _ = try load(dir) }
      do { _ = try load(dir) } catch { #expect("\(error)".contains(message), "\(error)") }
    }
    let dir = directory()
    defer { dir.cleanup() }
    dir.write("t10k-images-idx3-ubyte.gz", Array(gzippedImages.prefix(20)))
    do {
      _ = try load(dir)
      Issue.record("accepted a truncated gzip file")
    } catch {
      #expect("\(error)".contains("t10k-images-idx3-ubyte.gz: truncated gzip stream"), "\(error)")
    }
  }

  @Test("the loaded image size is checked against the model and trigger (no trap on 2x2 images)")
  func loadedShape() throws {
    let dir = directory()
    defer { dir.cleanup() }
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "mnist", "path": "\#(dir.path)"}, "model": {"name": "cnn"}, "attack": {"name": "backdoor"}}"#
    )
    do {
      _ = try Experiment(scenario: s, threads: 1).prepareData()
      Issue.record("a 2-block CNN and a 3x3 trigger were accepted for 2x2 images")
    } catch {
      #expect(error.exitCode == 2)
      #expect(
        error.description == """
          t: invalid scenario (2 problems)
            attack.trigger: a 3x3 trigger does not fit 2x2 images
            model.channels: 2 pooling blocks do not fit the loaded 2x2 images (each halves the size)
          """)
    }
  }

  @Test("a missing Fashion-MNIST says how to install it")
  func missingFashionMNIST() throws {
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "fashion-mnist", "path": "/nonexistent/fmnist"}, "model": {"name": "mlp"}}"#
    )
    do {
      _ = try s.dataset.load(seeds: SeedTree(0))
      Issue.record("loaded a missing directory")
    } catch {
      #expect(
        error.description
          == "/nonexistent/fmnist: not found; set dataset.path to the directory holding the Fashion-MNIST IDX files"
      )
    }
    let missing = DataError.missing(
      file: FashionMNISTSource.defaultPath,
      hint: "install it with `apt-get install dataset-fashion-mnist`")
    #expect(missing.description.contains("apt-get install dataset-fashion-mnist"))
  }

  @Test("CIFAR-10 batches: size check and channels-last conversion")
  func cifar() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    var record: [UInt8] = [3]
    record +=
      [UInt8](repeating: 10, count: 1024) + [UInt8](repeating: 20, count: 1024)
      + [UInt8](repeating: 30, count: 1024)
    for i in 1...5 { dir.write("data_batch_\(i).bin", record) }
    dir.write("test_batch.bin", record + record)
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "cifar10", "path": "\#(dir.path)"}, "model": {"name": "cnn"}}"#
    )
    let (train, test) = try s.dataset.load(seeds: SeedTree(0))
    #expect(train.count == 5 && test.count == 2)
    #expect(Array(train.features.prefix(6)) == [10, 20, 30, 10, 20, 30])
    #expect(train.classNames[3] == "cat")
    dir.write("test_batch.bin", Array(record.prefix(100)))
    do {
      _ = try s.dataset.load(seeds: SeedTree(0))
      Issue.record("accepted a truncated batch")
    } catch {
      #expect(
        error.description.hasSuffix(
          "test_batch.bin: size 100 bytes is not a positive multiple of the 3073-byte CIFAR-10 record"
        ))
    }
  }
}

@Suite("CSV reader")
struct CSVTests {
  func load(_ text: String, _ extra: String = "") throws -> (train: Dataset, test: Dataset) {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let file = dir.write("d.csv", text: text)
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "csv", "train": "\#(file)", "test": "\#(file)"\#(extra)}, "model": {"name": "mlp"}}"#
    )
    return try s.dataset.load(seeds: SeedTree(0))
  }

  func failure(_ text: String, _ extra: String = "") -> String {
    do {
      _ = try load(text, extra)
      return "accepted"
    } catch {
      return "\(error)".components(separatedBy: "d.csv").last ?? ""
    }
  }

  @Test("header detected, string labels mapped in sorted order")
  func headerAndLabels() throws {
    let (train, _) = try load("a,b,kind\n1,2,zeta\n3,4,alpha\n5,6,zeta\n")
    #expect(train.classNames == ["alpha", "zeta"])
    #expect(train.labels == [1, 0, 1])
    #expect(train.features == [1, 2, 3, 4, 5, 6])
    #expect(!train.isImage)
  }

  @Test("numeric labels sort numerically; label column by name or index; quotes")
  func labelColumn() throws {
    let (a, _) = try load("y,x1,x2\n10,1,2\n2,3,4\n", #", "label_column": "y""#)
    #expect(a.classNames == ["2", "10"])
    #expect(a.labels == [1, 0])
    let (b, _) = try load("7,\"1.5\",2\n8,3,4\r\n", #", "label_column": 0"#)
    #expect(b.features == [1.5, 2, 3, 4])
    #expect(b.labels == [0, 1])
  }

  @Test("errors name the line and column")
  func errors() {
    #expect(failure("1,2,a\n3,4\n5,6,b\n") == ":2: has 2 fields, expected 3 (as in line 1)")
    #expect(failure("1,2,a\n3,x,b\n") == ":2:2: expected a finite number, found \"x\"")
    #expect(failure("1,,a\n3,4,b\n") == ":1:2: expected a finite number, found an empty field")
    #expect(failure("1,\"2,a\n") == ":1:2: unterminated quoted field")
    #expect(
      failure("1,2,a\n3,4,a\n")
        == ":1:3: the label column holds 1 distinct value(s); classification needs at least 2")
    #expect(failure("a,b,c\n1,2,x\n", #", "label_column": "d""#).contains("no column named \"d\""))
    #expect(
      failure("1,2,a\n3,4,b\n", #", "label_column": 5"#)
        == " has 3 columns (allowed: 0 to 2, or -1 to -3 from the end)")
    #expect(failure("1,nan,a\n3,4,b\n").contains("expected a finite number, found \"nan\""))
  }

  @Test("test_fraction holds out a stratified, seeded test set")
  func split() throws {
    let dir = TemporaryDirectory()
    defer { dir.cleanup() }
    let rows = (0..<100).map { "\($0),\($0 % 2 == 0 ? "even" : "odd")" }.joined(separator: "\n")
    let file = dir.write("d.csv", text: rows)
    let s = try scenario(
      #"{"name": "t", "dataset": {"name": "csv", "train": "\#(file)", "test_fraction": 0.2}, "model": {"name": "mlp"}}"#
    )
    let (train, test) = try s.dataset.load(seeds: SeedTree(0))
    #expect(train.count == 80 && test.count == 20)
    #expect(test.classCounts == [10, 10])
    let again = try s.dataset.load(seeds: SeedTree(0))
    #expect(again.test.features == test.features)
  }
}

@Suite("Preprocessing")
struct PreprocessingTests {
  @Test("standard: one mean/std for images, per column for tabular; minmax")
  func normalise() {
    var tabular = Dataset(
      features: [1, 10, 3, 30], labels: [0, 1], shape: Shape(features: 2), classes: 2,
      isImage: false)
    Normalizer(.standard, fittedTo: tabular).apply(to: &tabular)
    #expect(allClose(tabular.features, [-1, -1, 1, 1]))
    var image = Dataset(
      features: [0, 2, 4, 6], labels: [0, 1], shape: Shape(height: 1, width: 2, channels: 1),
      classes: 2, isImage: true)
    let n = Normalizer(.standard, fittedTo: image)
    #expect(n.offset == [3])
    #expect(allClose(n.factor, [Float(1 / 5.0.squareRoot())]))
    var scaled = image
    Normalizer(.minmax, fittedTo: image).apply(to: &scaled)
    #expect(allClose(scaled.features, [0, 1.0 / 3, 2.0 / 3, 1]))
    Normalizer(.none, fittedTo: image).apply(to: &image)
    #expect(image.features == [0, 2, 4, 6])
  }

  @Test("stratified subsample keeps class shares (seeds 0-4)", arguments: 0..<5)
  func stratified(seed: UInt64) {
    let labels = (0..<1000).map { Int32($0 < 700 ? 0 : ($0 < 900 ? 1 : 2)) }
    var rng = SplitMix64(seed: seed)
    let chosen = Stratified.sample(labels: labels, classes: 3, size: 101, rng: &rng)
    #expect(chosen.count == 101)
    #expect(Set(chosen).count == 101)
    #expect(chosen == chosen.sorted())
    let counts = (0..<3).map { c in chosen.filter { labels[$0] == c }.count }
    #expect(counts == [71, 20, 10])
  }
}
