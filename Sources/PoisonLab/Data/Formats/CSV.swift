import Foundation

/// Where the label is in a CSV row.
public enum LabelColumn: Sendable, Equatable {
  /// The column with this header name.
  case name(String)
  /// The column at this 0-based index (negative counts from the end).
  case index(Int)
}

/// A streaming CSV reader: rows of fields with the 1-based line number of
/// each row, read in chunks (gzip decompressed on the fly), never holding
/// more than one row.
///
/// RFC 4180 quoting: a field in double quotes may contain commas, newlines
/// and doubled quotes (`""`). Blank lines are skipped; `\r\n` is accepted; a
/// UTF-8 byte-order mark at the start is removed. A row longer than
/// ``maxRowBytes`` is an error (a file with no newlines is not read whole).
enum CSVReader {
  /// The longest row accepted, in bytes (8 MiB: a million short numbers).
  static let maxRowBytes = 8 << 20

  /// Calls `body` with every row of `path` (or its first `limit` rows) and
  /// its line number.
  /// - Parameters:
  ///   - path: the file (gzip-compressed or not).
  ///   - limit: the most rows to read.
  ///   - body: receives each row; may throw to stop.
  /// - Throws: `DataError.csv` for an unterminated quote, a stray quote or an
  ///   over-long row, and any error `body` throws.
  static func rows(
    of path: String, limit: Int = .max, _ body: ([String], Int) throws(DataError) -> Void
  ) throws(DataError) {
    let stream = try ByteStream(path: path)
    var field: [UInt8] = []
    var row: [String] = []
    var rowBytes = 0
    var line = 1
    var rowLine = 1
    var inQuotes = false
    var pendingQuote = false  // a quote inside a quoted field, meaning unknown until the next byte
    var quotedStart = 0
    var fieldWasQuoted = false
    var first = true
    var delivered = 0
    func endField() throws(DataError) {
      guard let text = String(validating: field, as: UTF8.self) else {
        throw .csv(
          file: path, line: rowLine, column: row.count + 1,
          reason:
            "is not UTF-8 text (save the file as UTF-8; a Latin-1 é would merge with other labels)")
      }
      row.append(text)
      field.removeAll(keepingCapacity: true)
      fieldWasQuoted = false
    }
    func endRow() throws(DataError) {
      try endField()
      if !(row.count == 1 && row[0].isEmpty) {
        try body(row, rowLine)
        delivered += 1
      }
      row.removeAll(keepingCapacity: true)
      rowBytes = 0
    }
    reading: while var chunk = try stream.nextChunk() {
      if first {
        first = false
        if chunk.starts(with: [0xEF, 0xBB, 0xBF]) { chunk = chunk.dropFirst(3) }
      }
      for byte in chunk {
        rowBytes += 1
        if rowBytes > maxRowBytes {
          throw .csv(
            file: path, line: rowLine, column: nil,
            reason: "row is longer than \(maxRowBytes >> 20) MiB, the most poisonlab reads")
        }
        if pendingQuote {
          pendingQuote = false
          if byte == UInt8(ascii: "\"") {
            field.append(byte)
            continue
          }
          inQuotes = false
        }
        if inQuotes {
          if byte == UInt8(ascii: "\"") {
            pendingQuote = true
          } else {
            if byte == UInt8(ascii: "\n") { line += 1 }
            field.append(byte)
          }
          continue
        }
        switch byte {
        case UInt8(ascii: ","):
          try endField()
        case UInt8(ascii: "\n"):
          try endRow()
          if delivered >= limit { break reading }
          line += 1
          rowLine = line
        case UInt8(ascii: "\r"):
          break
        case UInt8(ascii: "\""):
          guard field.isEmpty && !fieldWasQuoted else {
            throw .csv(
              file: path, line: line, column: row.count + 1,
              reason: "stray quote inside an unquoted field")
          }
          inQuotes = true
          fieldWasQuoted = true
          quotedStart = line
        default:
          field.append(byte)
        }
      }
    }
    if delivered >= limit { return }
    if pendingQuote { inQuotes = false }
    if inQuotes {
      throw .csv(
        file: path, line: quotedStart, column: row.count + 1, reason: "unterminated quoted field")
    }
    if !field.isEmpty || !row.isEmpty || fieldWasQuoted { try endRow() }
  }

  /// How a field reads as a float32 number.
  enum Number: Equatable {
    /// A value (`nan` and `inf` included).
    case value(Float)
    /// A finite number beyond float32's range (±3.4e38).
    case outOfRange
    /// Not a number.
    case notANumber
  }

  /// Parses a field (spaces and tabs around it ignored), correctly rounded to float32.
  static func parse(_ text: String) -> Number {
    let cell = trimmed(text)
    // Decimal only, as NumPy's loadtxt reads it: Swift would also take hex (0x10).
    guard !cell.contains(where: { "xX(".contains($0) }), let value = Float(cell) else {
      return .notANumber
    }
    // Only the word nan (any case, any sign) is a NaN, as NumPy reads it; not snan.
    if value.isNaN {
      var word = cell.lowercased()
      if word.hasPrefix("+") || word.hasPrefix("-") { word.removeFirst() }
      if word != "nan" { return .notANumber }
    }
    if value.isInfinite {
      // Only the words inf and infinity mean infinity; 1e39 or 1e309 overflow.
      var word = cell.lowercased()
      if word.hasPrefix("+") || word.hasPrefix("-") { word.removeFirst() }
      if word != "inf" && word != "infinity" { return .outOfRange }
    }
    return .value(value)
  }

  /// Whether a field is numeric (any value, also out of range).
  static func isNumeric(_ text: String) -> Bool { parse(text) != .notANumber }

  /// `text` without spaces and tabs around it.
  static func trimmed(_ s: String) -> String {
    var scalars = Substring(s)
    while let c = scalars.first, c == " " || c == "\t" { scalars.removeFirst() }
    while let c = scalars.last, c == " " || c == "\t" { scalars.removeLast() }
    return String(scalars)
  }

  /// A row that can only be a header: every field non-empty and non-numeric.
  static func isHeader(_ row: [String]) -> Bool {
    row.allSatisfy { !trimmed($0).isEmpty && !isNumeric($0) }
  }

  /// The two counts of scikit-learn's header line, or nil.
  ///
  /// The files in `sklearn/datasets/data/` start with the sample count, the
  /// feature count and the class names (at least two), for example
  /// `569,30,malignant,benign`.
  static func sklearnHeader(_ row: [String]) -> (samples: Int, features: Int, classes: Int)? {
    guard row.count >= 4, let n = Int(trimmed(row[0])), let d = Int(trimmed(row[1])), n > 0, d > 0,
      row.dropFirst(2).allSatisfy({ !trimmed($0).isEmpty && !isNumeric($0) })
    else { return nil }
    return (n, d, row.count - 2)
  }
}

/// Loads tabular data from CSV: numeric features, labels numeric or strings.
///
/// Labels are mapped to class ids in sorted order: numerically when every
/// label is a decimal number (spellings of one value, `1` and `1.0`, are
/// one class), otherwise by byte order of the strings. The mapping covers
/// the labels of both files, so train and test agree.
enum CSVData {
  /// Parses one or two CSV files into datasets (the test set may be empty,
  /// to be split off by the caller).
  /// - Parameters:
  ///   - trainPath: the training file.
  ///   - testPath: the test file, or nil.
  ///   - labelColumn: where the label is (nil: the last column).
  ///   - header: whether the first row is a header (nil: detect).
  /// - Throws: `DataError` naming the file, line and column.
  /// - Returns: the training set, and the test set when a test file was given.
  static func load(
    trainPath: String, testPath: String?, labelColumn: LabelColumn?, header: Bool?
  ) throws(DataError) -> (train: Dataset, test: Dataset?) {
    let trainSplit = try split(trainPath, labelColumn: labelColumn, header: header)
    var testSplit: Split?
    if let testPath {
      testSplit = try split(testPath, labelColumn: labelColumn, header: header)
      guard testSplit?.width == trainSplit.width else {
        throw .mismatch(
          reason:
            "\(testPath) has \(testSplit?.width ?? 0) feature columns but \(trainPath) has \(trainSplit.width)"
        )
      }
    }
    // Detected in the training file, a header with numeric names is the
    // header of a test file that starts with the same row (the test file
    // alone may not tell: a header-only file, or one whose labels are text).
    if header == nil, let testPath, let trainHeader = trainSplit.header,
      var test = testSplit, test.header == nil, test.firstRow == trainHeader
    {
      test.labels.removeFirst()
      test.features.removeFirst(test.width)
      (test.header, test.firstRow) = (trainHeader, nil)
      guard !test.labels.isEmpty else {
        throw .corrupt(file: testPath, reason: "no data rows after the header")
      }
      testSplit = test
    }
    if header == true, let testPath, let trainHeader = trainSplit.header,
      let testHeader = testSplit?.header, testHeader != trainHeader
    {
      // header: true is said of both files; a test file without one would
      // silently lose its first row.
      throw .mismatch(
        reason:
          "header: true, but the first row of \(testPath) (\(testHeader.joined(separator: ","))) "
          + "is not the header of \(trainPath) (\(trainHeader.joined(separator: ","))); "
          + "give both files the same header, or leave header out to detect it in each")
    }
    var allLabels = trainSplit.labels + (testSplit?.labels ?? [])
    let canonical = canonicalLabels(Set(allLabels))
    allLabels = allLabels.map { canonical[$0] ?? $0 }
    let names = sortedLabels(Set(allLabels))
    guard names.count >= 2 else {
      throw .csv(
        file: trainPath, line: trainSplit.firstLine, column: trainSplit.labelIndex + 1,
        reason:
          "the label column holds \(names.count) distinct value(s); classification needs at least 2"
      )
    }
    var ids: [String: Int32] = [:]
    for (i, name) in names.enumerated() { ids[name] = Int32(i) }
    func dataset(_ s: Split) -> Dataset {
      Dataset(
        features: s.features, labels: s.labels.map { ids[canonical[$0] ?? $0] ?? 0 },
        shape: Shape(features: s.width), classes: names.count, isImage: false, classNames: names)
    }
    return (dataset(trainSplit), testSplit.map(dataset))
  }

  /// Checks the `dataset` settings that a file's first rows can contradict
  /// (a `label_column` name the header lacks, an index beyond the columns,
  /// a name without a header), before loading: `validate` and the run's
  /// preflight report them at `dataset.label_column` (exit 2).
  /// - Parameters:
  ///   - path: the training file.
  ///   - labelColumn: where the label is (nil: the last column).
  ///   - header: whether the first row is a header (nil: detect).
  /// - Returns: the `.setting` problem, or nil (also when the file cannot be
  ///   read: loading reports that).
  static func settingProblem(_ path: String, labelColumn: LabelColumn?, header: Bool?) -> DataError?
  {
    guard let labelColumn else { return nil }
    // The first row, or the second after scikit-learn's counts line.
    var first: (row: [String], line: Int)?
    try? CSVReader.rows(of: path, limit: 2) { (row, line) throws(DataError) in
      let counts = first == nil && header == nil && CSVReader.sklearnHeader(row) != nil
      if first == nil && !counts { first = (row, line) }
    }
    guard let first, first.row.count >= 2 else { return nil }
    guard let hasHeader = try? firstRowIsHeader(path, labelColumn: labelColumn, header: header)
    else { return nil }
    do {
      _ = try labelIndex(
        labelColumn, header: hasHeader ? first.row : nil, columns: first.row.count, file: path,
        line: first.line)
    } catch {
      if case .setting = error { return error }
    }
    return nil
  }

  /// The field count of the first row and an upper bound on the rows (the
  /// lines of an uncompressed file, estimated from its size), read from the
  /// first 1 MiB only; nil when unreadable.
  static func peek(_ path: String) -> (fields: Int, rows: Int)? {
    guard let stream = try? ByteStream(path: path),
      let chunk = try? stream.nextChunk(),
      let size = try? FileManager.default
        .attributesOfItem(atPath: path)[.size] as? Int
    else { return nil }
    let firstLine = chunk.prefix { $0 != UInt8(ascii: "\n") }
    let fields = firstLine.reduce(1) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
    let lines = chunk.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    let bytesPerLine = max(1, chunk.count / max(1, lines))
    let total = stream.isCompressed ? max(size * 8, chunk.count, gzipSize(path) ?? 0) : size
    return (fields, max(1, total / bytesPerLine + 1))
  }

  /// The uncompressed size a gzip file's trailer records (ISIZE, RFC 1952:
  /// the last 4 bytes, little-endian, modulo 2^32), or nil.
  static func gzipSize(_ path: String) -> Int? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    guard let end = try? handle.seekToEnd(), end >= 18,
      (try? handle.seek(toOffset: end - 4)) != nil,
      let bytes = try? handle.read(upToCount: 4), bytes.count == 4
    else { return nil }
    return bytes.reversed().reduce(0) { $0 << 8 | Int($1) }
  }

  private struct Split {
    var features: [Float] = []
    var labels: [String] = []
    var width = 0
    var labelIndex = 0
    var firstLine = 1
    /// The header row, when the file has one.
    var header: [String]?
    /// The first row's fields, when it was read as data.
    var firstRow: [String]?
  }

  /// Whether a file's first row (after scikit-learn's counts line) is a
  /// header, as far as the first row tells: as `header` says when given;
  /// else when no field of it is a number, or when it holds the
  /// `label_column` name. (A header whose feature names are numbers, such
  /// as `0,1,label`, is found after reading: see `split`.)
  /// - Parameters:
  ///   - path: the file.
  ///   - labelColumn: where the label is (nil: the last column).
  ///   - header: the user's setting, or nil.
  /// - Throws: `DataError` when the file cannot be read.
  /// - Returns: whether the first row is a header.
  static func firstRowIsHeader(_ path: String, labelColumn: LabelColumn?, header: Bool?)
    throws(DataError) -> Bool
  {
    if let header { return header }
    var first: [String]?
    var countsLine = false
    try CSVReader.rows(of: path, limit: 2) { (row, _) throws(DataError) in
      if first == nil && !countsLine && CSVReader.sklearnHeader(row) != nil {
        countsLine = true
        return
      }
      if first == nil { first = row }
    }
    guard let first, first.count >= 2 else { return false }
    if CSVReader.isHeader(first) { return true }
    if case .name(let name)? = labelColumn {
      return first.contains { CSVReader.trimmed($0) == name }
    }
    return false
  }

  private static func split(
    _ file: String, labelColumn: LabelColumn?, header: Bool?
  ) throws(DataError) -> Split {
    var result = Split()
    var columns = 0
    var sklearn: (samples: Int, features: Int, classes: Int, line: Int)?
    let hasHeader = try firstRowIsHeader(file, labelColumn: labelColumn, header: header)
    try CSVReader.rows(of: file) { (row, line) throws(DataError) in
      // With `header` given, the user decides; detected only when it is not.
      if columns == 0 && sklearn == nil && header == nil,
        let counts = CSVReader.sklearnHeader(row)
      {
        // scikit-learn's counts-and-class-names line: checked, not data.
        sklearn = (counts.samples, counts.features, counts.classes, line)
        return
      }
      if columns == 0 {
        columns = row.count
        result.firstLine = line
        guard columns >= 2 else {
          throw .csv(
            file: file, line: line, column: nil,
            reason: "needs at least 2 columns (features and a label), found \(columns)")
        }
        result.labelIndex = try labelIndex(
          labelColumn, header: hasHeader ? row : nil, columns: columns, file: file, line: line)
        result.width = columns - 1
        if hasHeader {
          result.header = row.map(CSVReader.trimmed)
          return
        }
        result.firstRow = row.map(CSVReader.trimmed)
      }
      guard row.count == columns else {
        throw .csv(
          file: file, line: line, column: nil,
          reason:
            "has \(row.count) fields, expected \(columns) (as in line \(result.firstLine))")
      }
      for (c, text) in row.enumerated() {
        if c == result.labelIndex {
          let value = CSVReader.trimmed(text)
          guard !value.isEmpty else {
            throw .csv(file: file, line: line, column: c + 1, reason: "empty label")
          }
          result.labels.append(value)
          continue
        }
        switch CSVReader.parse(text) {
        case .value(let number) where number.isFinite:
          result.features.append(number)
        case .outOfRange:
          throw .csv(
            file: file, line: line, column: c + 1,
            reason:
              "\(CSVReader.trimmed(text)) is out of float32 range (±3.4e38); poisonlab computes in float32"
          )
        default:
          let value = CSVReader.trimmed(text)
          let shown = value.isEmpty ? "an empty field" : "\"\(value)\""
          throw .csv(
            file: file, line: line, column: c + 1,
            reason: "expected a finite number, found \(shown)")
        }
      }
    }
    guard columns > 0 else { throw .corrupt(file: file, reason: "no rows") }
    // Undetected, a header whose feature names are numbers (`0,1,label`,
    // as pandas writes a frame's default column names) reads as a data row
    // with a text label; it was the header when every other label of the
    // file is a number, or when its label is unique while every other
    // label occurs at least twice.
    if header == nil && !hasHeader && result.labels.count >= 2
      && !isNumberLabel(result.labels[0])
    {
      var counts: [String: Int] = [:]
      for label in result.labels { counts[label, default: 0] += 1 }
      let first = result.labels[0]
      let others = result.labels.dropFirst()
      if others.allSatisfy(isNumberLabel)
        || (counts[first] == 1 && counts.allSatisfy { $0.key == first || $0.value >= 2 })
      {
        result.labels.removeFirst()
        result.features.removeFirst(result.width)
        result.header = result.firstRow
        result.firstRow = nil
      }
    }
    guard !result.labels.isEmpty else {
      throw .corrupt(file: file, reason: "no data rows after the header")
    }
    if let sklearn, Set(result.labels).count > sklearn.classes {
      throw .corrupt(
        file: file,
        reason:
          "line \(sklearn.line) names \(sklearn.classes) classes (scikit-learn's header), the labels hold \(Set(result.labels).count)"
      )
    }
    if let sklearn, sklearn.samples != result.labels.count || sklearn.features != result.width {
      throw .corrupt(
        file: file,
        reason:
          "line \(sklearn.line) announces \(sklearn.samples) samples of \(sklearn.features) features "
          + "(scikit-learn's header), the file holds \(result.labels.count) of \(result.width)")
    }
    return result
  }

  /// The 0-based label column.
  private static func labelIndex(
    _ labelColumn: LabelColumn?, header: [String]?, columns: Int, file: String, line: Int
  ) throws(DataError) -> Int {
    switch labelColumn {
    case .none:
      return columns - 1
    case .name(let name):
      guard let header else {
        throw .setting(
          key: "label_column",
          reason:
            "\"\(name)\" names a column, but \(file) has no header row (line \(line) is data); give a 0-based index, or header: true if line \(line) is a header"
        )
      }
      guard let index = header.firstIndex(where: { CSVReader.trimmed($0) == name }) else {
        let names = header.map { CSVReader.trimmed($0) }
        let known = names.map { "\"\($0)\"" }.joined(separator: ", ")
        throw .setting(
          key: "label_column",
          reason:
            "\(file) has no column named \"\(name)\"\(Suggest.phrase(for: name, in: names)) (columns: \(known))"
        )
      }
      return index
    case .index(let index):
      let resolved = index < 0 ? columns + index : index
      guard resolved >= 0 && resolved < columns else {
        throw .setting(
          key: "label_column",
          reason:
            "\(index) is out of range: \(file) has \(columns) columns (allowed: 0 to \(columns - 1), or -1 to -\(columns) from the end)"
        )
      }
      return resolved
    }
  }

  /// Whether a label is a finite decimal number.
  static func isNumberLabel(_ label: String) -> Bool {
    CSVReader.isNumeric(label) && (Double(label)?.isFinite ?? false)
  }

  /// The value of a number label: its double, and for an integer written
  /// in plain decimals (`-12`, `+012`, `12.000`) its exact digits, sign
  /// first, without leading zeros (any length: `99999999999999999999` and
  /// `100000000000000000000` stay two values).
  private static func numberKey(_ label: String) -> (value: Double, integer: String?) {
    let value = Double(label) ?? 0
    var text = Substring(label)
    var negative = false
    if let sign = text.first, sign == "+" || sign == "-" {
      negative = sign == "-"
      text = text.dropFirst()
    }
    var whole = text
    if let dot = text.firstIndex(of: ".") {
      guard text[text.index(after: dot)...].allSatisfy({ $0 == "0" }) else { return (value, nil) }
      whole = text[..<dot]
    }
    guard !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      return (value, nil)
    }
    let digits = whole.drop { $0 == "0" }
    if digits.isEmpty { return (value, "0") }
    return (value, (negative ? "-" : "") + digits)
  }

  /// Whether exact integer `a` (as ``numberKey(_:)`` writes it) is below `b`.
  private static func integerPrecedes(_ a: String, _ b: String) -> Bool {
    let (na, nb) = (a.hasPrefix("-"), b.hasPrefix("-"))
    if na != nb { return na }
    let (x, y) = (a.drop { $0 == "-" }, b.drop { $0 == "-" })
    let below = x.count != y.count ? x.count < y.count : x.lexicographicallyPrecedes(y)
    return na ? (x != y && !below) : below
  }

  /// When every label is a finite decimal number, each spelling mapped to
  /// one name per value (`1`, `1.0`, `+1` and `01` are one class, named
  /// `1`; integers exactly, at any length); empty when some label is not
  /// (labels are then compared as strings).
  /// - Parameter labels: the distinct labels as written.
  /// - Returns: spelling -> canonical name.
  static func canonicalLabels(_ labels: Set<String>) -> [String: String] {
    var out: [String: String] = [:]
    for label in labels {
      guard isNumberLabel(label) else { return [:] }
      let (value, integer) = numberKey(label)
      if let integer {
        out[label] = integer
      } else if value == value.rounded() && abs(value) < 9_007_199_254_740_992 {
        out[label] = String(Int64(value))
      } else {
        out[label] = "\(value)"
      }
    }
    return out
  }

  /// Labels sorted numerically when all are finite numbers (integers
  /// exactly), else by bytes.
  static func sortedLabels(_ labels: Set<String>) -> [String] {
    if labels.allSatisfy(isNumberLabel) {
      return labels.sorted { a, b in
        let (x, y) = (numberKey(a), numberKey(b))
        if x.value != y.value { return x.value < y.value }
        if let i = x.integer, let j = y.integer, i != j { return integerPrecedes(i, j) }
        return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
      }
    }
    return labels.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }
}
