/// Where the label is in a CSV row.
public enum LabelColumn: Sendable, Equatable {
  /// The column with this header name.
  case name(String)
  /// The column at this 0-based index (negative counts from the end).
  case index(Int)
}

/// A CSV file as rows of fields, with the 1-based line number of each row.
///
/// RFC 4180 quoting: a field in double quotes may contain commas, newlines
/// and doubled quotes (`""`). Blank lines are skipped; `\r\n` is accepted.
struct CSVTable {
  var rows: [[String]]
  var lines: [Int]

  /// Splits `bytes` into rows.
  /// - Parameters:
  ///   - bytes: the file contents (UTF-8).
  ///   - file: the name used in errors.
  /// - Throws: `DataError.csv` for an unterminated quote or a quote in an unquoted field.
  init(parsing bytes: [UInt8], file: String) throws(DataError) {
    var rows: [[String]] = []
    var lines: [Int] = []
    var field: [UInt8] = []
    var row: [String] = []
    var line = 1
    var rowLine = 1
    var inQuotes = false
    var quotedStart = 0
    var fieldWasQuoted = false
    var i = 0
    func endField() {
      row.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
      fieldWasQuoted = false
    }
    func endRow() {
      endField()
      if !(row.count == 1 && row[0].isEmpty) {
        rows.append(row)
        lines.append(rowLine)
      }
      row.removeAll(keepingCapacity: true)
    }
    while i < bytes.count {
      let byte = bytes[i]
      if inQuotes {
        if byte == UInt8(ascii: "\"") {
          if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
            field.append(byte)
            i += 1
          } else {
            inQuotes = false
          }
        } else {
          if byte == UInt8(ascii: "\n") { line += 1 }
          field.append(byte)
        }
      } else {
        switch byte {
        case UInt8(ascii: ","):
          endField()
        case UInt8(ascii: "\n"):
          endRow()
          line += 1
          rowLine = line
        case UInt8(ascii: "\r"):
          break
        case UInt8(ascii: "\""):
          guard field.isEmpty && !fieldWasQuoted else {
            throw .csv(
              file: file, line: line, column: row.count + 1,
              reason: "stray quote inside an unquoted field")
          }
          inQuotes = true
          fieldWasQuoted = true
          quotedStart = line
        default:
          field.append(byte)
        }
      }
      i += 1
    }
    if inQuotes {
      throw .csv(
        file: file, line: quotedStart, column: row.count + 1, reason: "unterminated quoted field")
    }
    if !field.isEmpty || !row.isEmpty { endRow() }
    self.rows = rows
    self.lines = lines
  }
}

/// Loads tabular data from CSV: numeric features, labels numeric or strings.
///
/// Labels are mapped to class ids in sorted order: numerically when every
/// label is an integer, otherwise by byte order of the strings. The mapping
/// covers the labels of both files, so train and test agree.
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
    let trainTable = try CSVTable(parsing: FileBytes.read(trainPath), file: trainPath)
    let testTable = try testPath.map { (path) throws(DataError) in
      try CSVTable(parsing: FileBytes.read(path), file: path)
    }
    let trainSplit = try split(
      trainTable, file: trainPath, labelColumn: labelColumn, header: header)
    var testSplit: Split?
    if let testTable, let testPath {
      testSplit = try split(testTable, file: testPath, labelColumn: labelColumn, header: header)
      guard testSplit?.width == trainSplit.width else {
        throw .mismatch(
          reason:
            "\(testPath) has \(testSplit?.width ?? 0) feature columns but \(trainPath) has \(trainSplit.width)"
        )
      }
    }
    let allLabels = trainSplit.labels + (testSplit?.labels ?? [])
    let names = sortedLabels(Set(allLabels))
    guard names.count >= 2 else {
      throw .csv(
        file: trainPath, line: trainTable.lines.first ?? 1, column: trainSplit.labelIndex + 1,
        reason:
          "the label column holds \(names.count) distinct value(s); classification needs at least 2"
      )
    }
    var ids: [String: Int32] = [:]
    for (i, name) in names.enumerated() { ids[name] = Int32(i) }
    func dataset(_ s: Split) -> Dataset {
      Dataset(
        features: s.features, labels: s.labels.map { ids[$0] ?? 0 },
        shape: Shape(features: s.width), classes: names.count, isImage: false, classNames: names)
    }
    return (dataset(trainSplit), testSplit.map(dataset))
  }

  private struct Split {
    var features: [Float]
    var labels: [String]
    var width: Int
    var labelIndex: Int
  }

  private static func split(
    _ table: CSVTable, file: String, labelColumn: LabelColumn?, header: Bool?
  ) throws(DataError) -> Split {
    guard let first = table.rows.first else {
      throw .corrupt(file: file, reason: "no rows")
    }
    let columns = first.count
    guard columns >= 2 else {
      throw .csv(
        file: file, line: table.lines[0], column: nil,
        reason: "needs at least 2 columns (features and a label), found \(columns)")
    }
    let hasHeader: Bool
    if let header {
      hasHeader = header
    } else if table.rows.count >= 2 {
      // A header: some column is non-empty text in row 1 but a number in row 2.
      let second = table.rows[1]
      hasHeader = (0..<min(columns, second.count)).contains {
        let cell = trimmed(first[$0])
        return !cell.isEmpty && Float(cell) == nil && Float(trimmed(second[$0])) != nil
      }
    } else {
      hasHeader = false
    }
    var labelIndex = columns - 1
    switch labelColumn {
    case .none:
      break
    case .name(let name):
      guard hasHeader else {
        throw .csv(
          file: file, line: table.lines[0], column: nil,
          reason: "label_column \"\(name)\" names a column, but the file has no header row")
      }
      guard let index = first.firstIndex(where: { trimmed($0) == name }) else {
        let known = first.map { "\"\(trimmed($0))\"" }.joined(separator: ", ")
        throw .csv(
          file: file, line: table.lines[0], column: nil,
          reason: "no column named \"\(name)\" (columns: \(known))")
      }
      labelIndex = index
    case .index(let index):
      let resolved = index < 0 ? columns + index : index
      guard resolved >= 0 && resolved < columns else {
        throw .csv(
          file: file, line: table.lines[0], column: nil,
          reason: "label_column \(index) is out of range for \(columns) columns")
      }
      labelIndex = resolved
    }
    let body = hasHeader ? 1 : 0
    let width = columns - 1
    var features: [Float] = []
    features.reserveCapacity((table.rows.count - body) * width)
    var labels: [String] = []
    for r in body..<table.rows.count {
      let row = table.rows[r]
      let line = table.lines[r]
      guard row.count == columns else {
        throw .csv(
          file: file, line: line, column: nil,
          reason: "has \(row.count) fields, expected \(columns) (as in line \(table.lines[0]))")
      }
      for (c, text) in row.enumerated() {
        let value = trimmed(text)
        if c == labelIndex {
          guard !value.isEmpty else {
            throw .csv(file: file, line: line, column: c + 1, reason: "empty label")
          }
          labels.append(value)
          continue
        }
        guard let number = Float(value), number.isFinite else {
          let shown = value.isEmpty ? "an empty field" : "\"\(value)\""
          throw .csv(
            file: file, line: line, column: c + 1,
            reason: "expected a finite number, found \(shown)")
        }
        features.append(number)
      }
    }
    guard !labels.isEmpty else {
      throw .corrupt(file: file, reason: "no data rows after the header")
    }
    return Split(features: features, labels: labels, width: width, labelIndex: labelIndex)
  }

  private static func trimmed(_ s: String) -> String {
    var scalars = Substring(s)
    while let c = scalars.first, c == " " || c == "\t" { scalars.removeFirst() }
    while let c = scalars.last, c == " " || c == "\t" { scalars.removeLast() }
    return String(scalars)
  }

  /// Labels sorted numerically when all are integers, else by bytes.
  static func sortedLabels(_ labels: Set<String>) -> [String] {
    let integers = labels.compactMap { label in Int(label).map { (label, $0) } }
    if integers.count == labels.count {
      return integers.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.map(\.0)
    }
    return labels.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }
}
