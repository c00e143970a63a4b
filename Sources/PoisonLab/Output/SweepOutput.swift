/// A sweep's JSON Lines output: locked for the whole sweep, resumable, and
/// appended to run by run.
///
/// Opening it takes an exclusive `flock` (a second sweep writing the same
/// file stops at once), then checks what it holds: a run counts as done only
/// when every row it must have (one per evaluated round and its summary, or
/// the single `skipped` row of an invalid combination) is present and
/// parses; a run that failed (an `error` row) is redone. The rows of
/// unfinished runs, lines that do not parse, and a torn last line are
/// removed by rewriting the file atomically (through `FILE.partial`, whose
/// lock then becomes the file's), so that the runs are redone exactly once.
public final class SweepOutput {
  /// The file.
  public let path: String
  private var file: SystemFile
  private var partialLock: SystemFile?
  /// Ids of the runs the file already holds completely.
  public private(set) var completed: Set<String> = []
  /// Lines removed when the file was opened (unfinished runs, torn or unparseable lines).
  public private(set) var removedLines = 0

  /// Opens (creating) and locks `path`, and drops unfinished runs.
  /// - Parameters:
  ///   - path: the output file.
  ///   - expectedRows: for each run id, the round numbers its round rows must
  ///     cover (nil: a run of one `skipped` row).
  /// - Throws: `SinkError` when the path is not a regular file, is locked,
  ///   or cannot be read or rewritten.
  public init(path: String, expectedRows: [String: Set<Int>?]) throws(SinkError) {
    try OutputPath.check(path)
    self.path = path
    file = try SystemFile.openLocked(path, append: true)
    // FILE.partial is locked too, for the whole sweep: no other writer may
    // use it while this one may rewrite FILE through it.
    let partial = try SystemFile.createLocked(path + ".partial", shown: path)
    let text: String
    do {
      text = String(decoding: try FileBytes.read(path), as: UTF8.self)
    } catch {
      partial.close()
      SystemFile.remove(path + ".partial")
      throw SinkError(path: path, reason: "cannot read it to resume: \(error)")
    }
    let (kept, complete, removed) = Self.sift(text, expectedRows: expectedRows)
    // Resuming removes torn lines and unfinished runs of a sweep's own
    // output; a file that holds anything else (notes, a run's rows, other
    // JSON) is refused rather than rewritten.
    if let foreign = Self.foreign(text) {
      partial.close()
      SystemFile.remove(path + ".partial")
      file.close()
      throw SinkError(
        path: path,
        reason:
          "holds \(foreign); sweep --output appends to and resumes its own output only (choose another file)"
      )
    }
    completed = complete
    removedLines = removed
    if removed > 0 {
      // Rewrite through FILE.partial; its lock carries over to the new FILE.
      do {
        try partial.write(kept)
        try partial.sync()
        try SystemFile.rename(path + ".partial", to: path)
      } catch {
        // FILE is as it was; no partial file is left behind.
        partial.close()
        SystemFile.remove(path + ".partial")
        file.close()
        throw error
      }
      partial.renamed(to: path)
      file.close()
      file = partial
    } else {
      partialLock = partial
    }
  }

  /// What in `text` is not a sweep's output, described, or nil.
  ///
  /// Foreign are complete lines that are not JSON objects with a `run_id`
  /// and a `type` (a note, a run's rows, text), and (in a file with no sweep
  /// row at all) any line. The torn tail of a sweep's own output (the text
  /// after the last newline) is not foreign.
  static func foreign(_ text: String) -> String? {
    var sweepRows = 0
    var others = 0
    var lines = 0
    // The text after the last newline is a torn write (a kill during an append): not foreign.
    var whole = TextLines.split(text)
    whole.removeLast()
    for line in whole where !line.allSatisfy(\.isWhitespace) {
      lines += 1
      if let value = try? JSONParser.parse(String(line)), case .string? = value["run_id"],
        case .string? = value["type"]
      {
        sweepRows += 1
      } else {
        others += 1
      }
    }
    if others > 0 {
      return "\(others) line(s) that are not a sweep's rows (no JSON object with a run_id)"
    }
    if sweepRows == 0 && lines > 0 { return "\(lines) line(s), none of them a sweep's row" }
    return nil
  }

  /// Splits the file's text into the lines of complete runs and the rest.
  /// - Parameters:
  ///   - text: the file's contents.
  ///   - expectedRows: see ``init(path:expectedRows:)``.
  /// - Returns: the text to keep, the complete run ids, and the count of removed lines.
  static func sift(_ text: String, expectedRows: [String: Set<Int>?]) -> (
    kept: String, completed: Set<String>, removed: Int
  ) {
    var lines = TextLines.split(text)
    let torn = !(lines.last?.isEmpty ?? true)
    lines.removeLast()  // the text after the last newline: empty, or a torn line
    struct Seen {
      var rounds: [Int] = []
      var summaries = 0
      var skipped = 0
      var errors = 0
      var bad = false
    }
    var seen: [String: Seen] = [:]
    var ids: [String?] = []
    for line in lines {
      guard let value = try? JSONParser.parse(String(line)),
        case .string(let id)? = value["run_id"], case .string(let type)? = value["type"]
      else {
        ids.append(nil)
        continue
      }
      ids.append(id)
      var entry = seen[id] ?? Seen()
      switch type {
      case "round":
        if case .number(let r)? = value["round"], let round = Int(exactly: r) {
          entry.rounds.append(round)
        } else {
          entry.bad = true
        }
      case "summary": entry.summaries += 1
      case "skipped": entry.skipped += 1
      case "alarm": break
      case "error": entry.errors += 1
      default: entry.bad = true
      }
      seen[id] = entry
    }
    var complete = Set<String>()
    for (id, entry) in seen where !entry.bad {
      let roundsDone = entry.rounds.count == Set(entry.rounds).count
      // A failed run (an `error` row) is redone: its failure may have been
      // passing (memory, a file being written), and a failure that stays
      // makes the resumed sweep exit 3 again.
      guard entry.errors == 0 else { continue }
      if entry.skipped == 1 && entry.summaries == 0 && entry.rounds.isEmpty {
        complete.insert(id)
      } else if entry.skipped == 0, entry.summaries == 1, roundsDone,
        let expected = expectedRows[id] ?? nil, Set(entry.rounds) == expected
      {
        complete.insert(id)
      } else if entry.skipped == 0, entry.summaries == 1, roundsDone, expectedRows[id] == nil {
        // A run of another sweep configuration: keep it as it is.
        complete.insert(id)
      }
    }
    var kept = ""
    var removed = torn ? 1 : 0
    for (line, id) in zip(lines, ids) {
      if let id, complete.contains(id) {
        kept += line + "\n"
      } else {
        removed += 1
      }
    }
    return (kept, complete, removed)
  }

  /// Appends one run's lines and flushes them to the device.
  /// - Parameter text: complete lines.
  /// - Throws: `SinkError` with the path and the reason (a full disk, ...).
  public func append(_ text: String) throws(SinkError) {
    try file.write(text)
    try file.sync()
  }

  /// Removes the idle partial file and releases the locks.
  public func close() {
    if let partialLock {
      SystemFile.remove(path + ".partial")
      partialLock.close()
      self.partialLock = nil
    }
    file.close()
  }
}

/// Lines of a text file, split at every line feed.
///
/// Swift's `String` reads `"\r\n"` as one character, so splitting at the
/// character `"\n"` would not split a CRLF file at all; this splits at the
/// line-feed scalar and leaves a line's `"\r"` on it (JSON takes it as
/// white space).
enum TextLines {
  /// The lines of `text`; the text after the last line feed is the last
  /// element (empty when the text ends with one).
  static func split(_ text: String) -> [String] {
    text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map {
      String(String.UnicodeScalarView($0))
    }
  }
}
