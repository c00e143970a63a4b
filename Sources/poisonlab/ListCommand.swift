import ArgumentParser
import PoisonLab

/// `poisonlab list`: the registered plug-ins with their parameters.
struct ListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract:
      "List datasets, models, partitions, attacks, defenses, audits and output formats with their parameters, the channel and safeguards blocks' keys, and the monitor's signals.",
    discussion: """
      Examples:
        poisonlab list defenses
        poisonlab list --json | python3 -m json.tool
      """
  )

  @Argument(
    help: ArgumentHelp(
      "A family: \(PluginFamily.allCases.map(\.rawValue).joined(separator: ", ")), or channel, safeguards, signals.",
      valueName: "family"))
  var family: String?

  @Flag(help: "Machine-readable JSON.")
  var json = false

  func validate() throws {
    let names = PluginFamily.allCases.map(\.rawValue) + ["channel", "safeguards", "signals"]
    if let family, PluginFamily(rawValue: family) == nil && !names.contains(family) {
      throw ValidationError(
        "unknown family \"\(family)\"\(Suggest.phrase(for: family, in: names)) (allowed: \(names.joined(separator: ", ")))"
      )
    }
  }

  func run() throws {
    let families: [PluginFamily] =
      family.map { PluginFamily(rawValue: $0).map { [$0] } ?? [] } ?? PluginFamily.allCases
    let showChannel = family == nil || family == "channel"
    let showSafeguards = family == nil || family == "safeguards"
    let showSignals = showSafeguards || family == "signals"
    if json {
      var members = families.map { family in
        JSONMember(
          family.rawValue,
          .array(Registry.descriptors(family).map { Self.json($0, family: family) }))
      }
      if showChannel {
        members.append(JSONMember("channel", .array(ChannelSettings.keys.map(Self.json))))
      }
      if showSafeguards {
        members.append(JSONMember("safeguards", .array(SafeguardSettings.keys.map(Self.json))))
      }
      if showSignals {
        members.append(
          JSONMember(
            "signals",
            .array(
              Registry.signalDescriptors.map { d in
                .object([
                  JSONMember("name", .string(d.name)), JSONMember("summary", .string(d.summary)),
                  JSONMember("reference", d.reference.map { .string($0) } ?? .null),
                ])
              })))
      }
      Terminal.out(JSONValue.object(members).serialized(indent: 2) + "\n")
      return
    }
    var text = ""
    for family in families {
      text += "\(family.rawValue)\n"
      let descriptors = Registry.descriptors(family)
      if descriptors.isEmpty {
        text +=
          "  (none)\n"
      }
      for d in descriptors {
        let role = Registry.role(family, d.name).map { "[\($0)] " } ?? ""
        text += "  \(d.name)  —  \(role)\(d.summary)\n"
        for note in d.notes { text += "      note: \(note)\n" }
        for p in d.parameters { text += Self.describe(p, indent: "      ") }
        if let reference = d.reference { text += "      reference: \(reference)\n" }
      }
      text += "\n"
    }
    if showChannel {
      text +=
        "channel (the scenario's channel block, federated runs; attacks on it are listed above)\n"
      for p in ChannelSettings.keys { text += Self.describe(p, indent: "  ") }
    }
    if showSafeguards {
      text += "\nsafeguards (the scenario's safeguards block, federated runs and pipelines)\n"
      for p in SafeguardSettings.keys { text += Self.describe(p, indent: "  ") }
    }
    if showSignals {
      text +=
        showSafeguards ? "  monitor signals:\n" : "monitor signals (safeguards.monitor.signals)\n"
      for d in Registry.signalDescriptors {
        text += "    \(d.name)  —  \(d.summary)\n"
        if let reference = d.reference { text += "        reference: \(reference)\n" }
      }
    }
    Terminal.out(text)
  }

  static func describe(_ p: ParameterSpec, indent: String) -> String {
    var line = "\(indent)\(p.key): \(p.type.summary)"
    if p.isRequired {
      line += ", required"
    } else if let value = p.defaultValue {
      line += ", default \(value.serialized())"
    } else {
      line += ", optional"
    }
    var text = line + " — \(p.doc)\n"
    if case .object(let nested) = p.type {
      for n in nested { text += describe(n, indent: indent + "    ") }
    }
    return text
  }

  static func json(_ d: PluginDescriptor, family: PluginFamily) -> JSONValue {
    .object([
      JSONMember("name", .string(d.name)),
      JSONMember("role", Registry.role(family, d.name).map { .string($0) } ?? .null),
      JSONMember("summary", .string(d.summary)),
      JSONMember("reference", d.reference.map { .string($0) } ?? .null),
      JSONMember("notes", .array(d.notes.map { .string($0) })),
      JSONMember("parameters", .array(d.parameters.map(json))),
    ])
  }

  static func json(_ p: ParameterSpec) -> JSONValue {
    var members = [
      JSONMember("key", .string(p.key)),
      JSONMember("type", .string(p.type.summary)),
      JSONMember("required", .bool(p.isRequired)),
      JSONMember("default", p.defaultValue ?? .null),
      JSONMember("doc", .string(p.doc)),
    ]
    if case .object(let nested) = p.type {
      members.append(JSONMember("keys", .array(nested.map(json))))
    }
    return .object(members)
  }
}
