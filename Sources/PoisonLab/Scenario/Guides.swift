import Foundation

/// Guides of the registered plug-ins (`poisonlab guide NAME`): the
/// repository's hand-written guide (`docs/guides/FAMILY/NAME.md`) as plain
/// text when it can be found, else one generated from the registry (the
/// same descriptor `list`, validation and the schema read).
public enum Guides {
  /// A plug-in (or monitor signal) found by name.
  public struct Entry: Sendable {
    /// `datasets`, `models`, ..., or `signals`.
    public var family: String
    /// Its folder under `docs/guides` (nil: no hand-written guide).
    public var folder: String?
    /// Its descriptor.
    public var descriptor: PluginDescriptor
  }

  /// Every plug-in and monitor signal, in `list` order.
  public static var entries: [Entry] {
    var all: [Entry] = []
    for family in PluginFamily.allCases {
      let folder: String? = family == .formats ? nil : family.rawValue
      all += Registry.descriptors(family).map {
        Entry(family: family.rawValue, folder: folder, descriptor: $0)
      }
    }
    all += Registry.signalDescriptors.map {
      Entry(family: "signals", folder: "safeguards", descriptor: $0)
    }
    // The blocks whose guides are not one plug-in's.
    all += [
      ("validation", "the validation gate (safeguards.validation)"),
      ("monitor", "signals watched every round, and their alarms (safeguards.monitor)"),
      ("quarantine", "quarantine of clients or sources flagged too often (safeguards.quarantine)"),
      ("response", "what an alarm triggers: rollback or retrain (safeguards.response)"),
    ].map { topic in
      let spec = SafeguardSettings.keys.first { $0.key == topic.0 }
      let keys: [ParameterSpec] = {
        if case .object(let nested)? = spec?.type { return nested }
        return []
      }()
      return Entry(
        family: "safeguards", folder: "safeguards",
        descriptor: PluginDescriptor(name: topic.0, summary: topic.1, parameters: keys))
    }
    all.append(
      Entry(
        family: "channel", folder: "",
        descriptor: PluginDescriptor(
          name: "channel",
          summary:
            "the update channel: authentication, enrolment, reported samples, secure aggregation",
          parameters: ChannelSettings.keys)))
    return all
  }

  /// The entry named `name`, or `family/name` when a name is in two
  /// families (`csv` is a dataset and a format; the first family wins).
  /// - Parameter name: the name.
  /// - Returns: the entry, or nil.
  public static func lookup(_ name: String) -> Entry? {
    let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
    if parts.count == 2 {
      // FAMILY/NAME, or the guide's folder/NAME (safeguards/update_norm).
      return entries.first {
        ($0.family == parts[0] || $0.folder == parts[0]) && $0.descriptor.name == parts[1]
      }
    }
    return entries.first { $0.descriptor.name == name }
  }

  /// The guide of `entry`: the hand-written file found under one of
  /// `roots` (plain text), else the registry's.
  /// - Parameters:
  ///   - entry: the plug-in.
  ///   - roots: folders that may hold `docs/guides` (the working folder, the binary's repository).
  /// - Returns: the text.
  public static func text(for entry: Entry, roots: [String]) -> String {
    if let relative = guidePath(entry) {
      for root in roots {
        let path = root + "/" + relative
        if let markdown = try? String(contentsOfFile: path, encoding: .utf8) {
          return plain(markdown) + "\n(\(path))\n"
        }
      }
    }
    return generated(entry)
  }

  /// Markdown as terminal text: headings underlined, inline code and
  /// emphasis marks removed, links reduced to their text, code blocks
  /// indented, tables kept (they read as text).
  static func plain(_ markdown: String) -> String {
    var out: [String] = []
    var inCode = false
    for raw in markdown.components(separatedBy: "\n") {
      if raw.hasPrefix("```") {
        inCode.toggle()
        continue
      }
      if inCode {
        out.append("    " + raw)
        continue
      }
      var line = raw
      // [text](target) -> text
      while let open = line.range(of: "]("),
        let start = line[..<open.lowerBound].lastIndex(of: "["),
        let close = line[open.upperBound...].firstIndex(of: ")")
      {
        let text = line[line.index(after: start)..<open.lowerBound]
        line.replaceSubrange(start...close, with: text)
      }
      line = line.replacingOccurrences(of: "``", with: "").replacingOccurrences(of: "`", with: "")
        .replacingOccurrences(of: "**", with: "")
      if line.hasPrefix("#") {
        let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
        out.append(title)
        out.append(String(repeating: raw.hasPrefix("# ") ? "=" : "-", count: title.count))
      } else {
        out.append(line)
      }
    }
    return out.joined(separator: "\n").trimmingCharacters(in: .newlines)
  }

  /// A guide from the registry: summary, role, reference, notes, keys and an example block.
  static func generated(_ entry: Entry) -> String {
    let d = entry.descriptor
    var text = "\(d.name)\n\(String(repeating: "=", count: d.name.count))\n\n\(d.summary)\n\n"
    text += "family: \(entry.family)"
    if let family = PluginFamily(rawValue: entry.family), let role = Registry.role(family, d.name) {
      text += " (\(role))"
    }
    text += "\n"
    if let reference = d.reference { text += "reference: \(reference)\n" }
    for note in d.notes { text += "note: \(note)\n" }
    if !d.parameters.isEmpty {
      text += "\nkeys:\n"
      for p in d.parameters {
        let value =
          p.isRequired
          ? "required" : p.defaultValue.map { "default \($0.serialized())" } ?? "optional"
        text += "  \(p.key): \(p.type.summary), \(value) — \(p.doc)\n"
      }
    }
    if let family = PluginFamily(rawValue: entry.family), family != .formats {
      text += "\nexample:\n    \"\(family.singular)\": {\"name\": \"\(d.name)\"}\n"
    }
    if let path = guidePath(entry) {
      text +=
        "\n(generated from the registry: the full guide, with the definition, is \(path) in poisonlab's repository, not found from here)\n"
    }
    return text
  }

  /// The hand-written guide's path in the repository, or nil.
  static func guidePath(_ entry: Entry) -> String? {
    entry.folder.map {
      "docs/guides/" + ($0.isEmpty ? "" : $0 + "/") + entry.descriptor.name + ".md"
    }
  }

  /// The folders that may hold the repository's `docs/guides`: the
  /// working folder, then the folders above the running binary (a build
  /// lives in REPO/.build/<triple>/<configuration>/poisonlab).
  /// - Parameters:
  ///   - workingDirectory: the working folder.
  ///   - executable: the running binary's path (symbolic links are followed).
  /// - Returns: the folders, nearest first.
  public static func roots(workingDirectory: String, executable: URL?) -> [String] {
    var roots = [workingDirectory]
    guard var folder = executable?.resolvingSymlinksInPath() else { return roots }
    for _ in 0..<5 {
      folder = folder.deletingLastPathComponent()
      roots.append(folder.path)
    }
    return roots
  }
}
