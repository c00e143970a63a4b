import Foundation

/// A location in a scenario document, rendered like `attack[1].trigger.size`.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
  /// Keys (`String`) and array indices (`Int`) from the root.
  public var components: [Component]

  /// One step of a path.
  public enum Component: Sendable, Equatable {
    case key(String)
    case index(Int)
  }

  /// The document root.
  public static let root = JSONPath(components: [])

  /// This path extended by a key.
  /// - Parameter key: the member name.
  /// - Returns: this path extended by a key.
  public func appending(_ key: String) -> JSONPath {
    JSONPath(components: components + [.key(key)])
  }

  /// This path extended by an array index.
  /// - Parameter index: the element index.
  /// - Returns: this path extended by an array index.
  public func appending(_ index: Int) -> JSONPath {
    JSONPath(components: components + [.index(index)])
  }

  public var description: String {
    guard !components.isEmpty else { return "(top level)" }
    var out = ""
    for component in components {
      switch component {
      case .key(let key): out += out.isEmpty ? key : ".\(key)"
      case .index(let i): out += "[\(i)]"
      }
    }
    return out
  }
}

/// One problem in a scenario: where, and what (including the allowed values
/// and a suggestion when there is one).
public struct ScenarioError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where the problem is.
  public var path: JSONPath
  /// What is wrong.
  public var message: String

  /// Creates an error.
  /// - Parameters:
  ///   - path: the location.
  ///   - message: the explanation.
  public init(_ path: JSONPath, _ message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }
}

/// Every problem found in a scenario (validation continues past the first).
public struct ScenarioErrors: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file (or `--set` source) the scenario came from.
  public var source: String
  /// The problems, in document order.
  public var errors: [ScenarioError]
  /// What was checked ("scenario", or "defense" for `--defense`).
  public var subject = "scenario"
  /// Why the file could not be read at all (missing, unreadable, a
  /// folder), or nil when its content was judged: a file error (exit 3),
  /// not an invalid scenario (exit 2).
  public var unreadable: String?

  /// Creates the list.
  /// - Parameters:
  ///   - source: the file name.
  ///   - errors: the problems.
  public init(source: String, errors: [ScenarioError]) {
    self.source = source
    self.errors = errors
  }

  public var description: String {
    if let unreadable { return "\(source): cannot read the \(subject) file: \(unreadable)" }
    let head =
      errors.count == 1 ? "invalid \(subject)" : "invalid \(subject) (\(errors.count) problems)"
    return "\(source): \(head)\n" + errors.map { "  \($0)" }.joined(separator: "\n")
  }
}

/// Near-miss suggestions ("did you mean ...?") by edit distance.
public enum Suggest {
  /// The candidate closest to `word`, if it is close enough: a distance of at
  /// most 2, or a third of the word's length, after ignoring case and
  /// treating `_` and `-` alike.
  /// - Parameters:
  ///   - word: what the user wrote.
  ///   - candidates: the valid words.
  /// - Returns: the suggestion, or nil when nothing is close.
  public static func closest(to word: String, in candidates: [String]) -> String? {
    let normal = { (s: String) in s.lowercased().replacingOccurrences(of: "_", with: "-") }
    let target = normal(word)
    var best: (String, Int)?
    for candidate in candidates {
      let d = distance(target, normal(candidate))
      if d < (best?.1 ?? .max) { best = (candidate, d) }
    }
    guard let (candidate, d) = best else { return nil }
    return d <= max(2, word.count / 3) && d < max(word.count, 1) ? candidate : nil
  }

  /// `"; did you mean \"x\"?"` or the empty string.
  /// - Parameters:
  ///   - word: what the user wrote.
  ///   - candidates: the valid words.
  /// - Returns: `"; did you mean \"x\"?"` or the empty string.
  public static func phrase(for word: String, in candidates: [String]) -> String {
    closest(to: word, in: candidates).map { "; did you mean \"\($0)\"?" } ?? ""
  }

  /// Edit distance between two strings (by Unicode scalars): the optimal
  /// string alignment distance, Levenshtein's insertions, deletions and
  /// substitutions plus transpositions of two adjacent characters, so that
  /// `medain` is one edit from `median` (and not nearer to `mean`).
  /// - Parameters:
  ///   - a: the first string.
  ///   - b: the second string.
  /// - Returns: the number of insertions, deletions, substitutions and adjacent transpositions.
  public static func distance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars)
    let y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var beforePrevious = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
      current[0] = i
      for j in 1...y.count {
        current[j] = min(
          previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
          current[j] = min(current[j], beforePrevious[j - 2] + 1)
        }
      }
      (beforePrevious, previous, current) = (previous, current, beforePrevious)
    }
    return previous[y.count]
  }
}
