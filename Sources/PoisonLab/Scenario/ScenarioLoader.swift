import Foundation

/// Reads, overrides and validates scenario files (the contract in
/// `docs/scenario-format.md`), reporting every problem at once.
public enum ScenarioLoader {
  /// The largest seed: 2^53 - 1, the largest whole number JSON readers
  /// (doubles) keep exactly.
  public static let maxSeed: UInt64 = 9_007_199_254_740_991

  /// The top-level keys, with their types and meaning.
  public static let topLevel: [ParameterSpec] = [
    ParameterSpec(
      "name", .string, required: true,
      doc: "identifier printed in every output row, kebab-case (e.g. w1-median)"),
    ParameterSpec("description", .string, default: .string(""), doc: "free text"),
    ParameterSpec(
      "seed", .integer(min: 0, max: Int(maxSeed)), default: .number(0),
      doc: "the only source of randomness"),
    ParameterSpec(
      "dataset", .anyObject, required: true, doc: "the data source: {\"name\": ..., ...}"),
    ParameterSpec(
      "model", .anyObject, required: true, doc: "the architecture: {\"name\": ..., ...}"),
    ParameterSpec(
      "training", .object(trainingKeys), default: .object([]), doc: "optimisation settings"),
    ParameterSpec(
      "federation", .object(federationKeys),
      doc: "present: federated simulation; absent: centralized training"),
    ParameterSpec(
      "channel", .object(ChannelSettings.keys), mode: .federated,
      doc:
        "the update channel: authentication, enrolment, reported_samples, secure_aggregation (default: none, closed, client, off)"
    ),
    ParameterSpec(
      "safeguards", .object(SafeguardSettings.keys),
      doc:
        "the operator's safeguards across rounds or pipeline cycles: validation gate, monitor, quarantine, response"
    ),
    ParameterSpec(
      "sources", .array(.object(PipelineSettings.sourceKeys), minCount: 1, maxCount: 1_000),
      mode: .centralized,
      doc:
        "named sources of the training data: [{\"name\": ..., \"share\": s, \"trust\": \"trusted\" | \"untrusted\"}]"
    ),
    ParameterSpec(
      "pipeline", .object(PipelineSettings.keys), mode: .centralized,
      doc:
        "a retraining pipeline over the sources: {\"cycles\": C, \"initial_share\": a, \"epochs_per_cycle\": e, \"mode\": \"fine-tune\" | \"retrain\"}"
    ),
    ParameterSpec(
      "audit", .anyObject,
      doc: "a model audit run after training: {\"name\": ...} (see list audits)"),
    ParameterSpec(
      "attack", .either([.anyObject, .array(.anyObject, minCount: 0, maxCount: nil)]),
      doc: "one attack object or an array of them"),
    ParameterSpec(
      "defense", .either([.anyObject, .array(.anyObject, minCount: 0, maxCount: nil)]),
      doc: "one defense object or an array of them"),
    ParameterSpec(
      "evaluation", .object(evaluationKeys), default: .object([]),
      doc: "when the model is evaluated"),
    ParameterSpec(
      "sweep", .anyObject,
      doc:
        "axes for poisonlab sweep: {\"path\": [values, ...]} (poisonlab run refuses a scenario that has one)"
    ),
    ParameterSpec(
      "expect", .anyObject, doc: "thresholds on final-round metrics: {\"accuracy\": {\"min\": 0.8}}"
    ),
  ]

  /// `training` keys.
  public static let trainingKeys: [ParameterSpec] = [
    ParameterSpec(
      "rounds", .integer(min: 1, max: 1_000_000), default: .number(10),
      doc: "rounds; epochs in centralized runs"),
    ParameterSpec(
      "local_epochs", .integer(min: 1, max: 10_000), default: .number(1), mode: .federated,
      doc: "local epochs per selected client"),
    ParameterSpec(
      "local_steps", .integer(min: 1, max: 10_000_000), mode: .federated,
      doc:
        "exactly this many local minibatch steps instead of local_epochs (beside it, a local_epochs other than 1 is refused)"
    ),
    ParameterSpec(
      "batch_size", .integer(min: 1, max: 1_000_000), default: .number(32), doc: "minibatch size"),
    ParameterSpec(
      "learning_rate", .number(atLeast: 0, open: true), default: .number(0.05), doc: "SGD step size"
    ),
    ParameterSpec(
      "momentum", .number(min: 0, max: 1, minOpen: false, maxOpen: true), default: .number(0),
      doc: "SGD momentum (PyTorch semantics)"),
    ParameterSpec(
      "weight_decay", .number(atLeast: 0), default: .number(0),
      doc: "L2 penalty (PyTorch semantics)"),
    ParameterSpec(
      "server_learning_rate", .number(atLeast: 0, open: true), default: .number(1),
      mode: .federated, doc: "global += server_learning_rate * aggregate"),
  ]

  /// `federation` keys.
  public static let federationKeys: [ParameterSpec] = [
    ParameterSpec(
      "clients", .integer(min: 1, max: 100_000), required: true, doc: "number of clients n"),
    ParameterSpec(
      "clients_per_round", .integer(min: 1, max: 100_000),
      doc: "clients sampled uniformly without replacement each round (default: all)"),
    ParameterSpec(
      "partition", .anyObject, default: .object([JSONMember("name", .string("iid"))]),
      doc: "how the training set is split: {\"name\": ...}"),
  ]

  /// `evaluation` keys.
  public static let evaluationKeys: [ParameterSpec] = [
    ParameterSpec(
      "every", .integer(min: 1, max: 1_000_000), default: .number(1),
      doc: "evaluate every N rounds (and always on the last)")
  ]

  /// Reads and validates a scenario file.
  /// - Parameters:
  ///   - file: the JSON file.
  ///   - overrides: `PATH=VALUE` assignments applied before validation (`--set`).
  ///   - seed: a seed replacing the file's (`--seed`).
  /// - Throws: `ScenarioErrors` listing every problem.
  /// - Returns: the validated scenario.
  public static func load(
    file: String, overrides: [String] = [], seed: UInt64? = nil
  ) throws(ScenarioErrors) -> Scenario {
    let text = try readText(file)
    return try decode(
      text, source: file, baseDirectory: baseDirectory(of: file), overrides: overrides, seed: seed)
  }

  /// The folder a scenario file's relative paths are resolved against.
  /// - Parameter file: the scenario file.
  /// - Returns: its folder (`.` for a bare file name).
  public static func baseDirectory(of file: String) -> String {
    let directory = (file as NSString).deletingLastPathComponent
    return directory.isEmpty ? "." : directory
  }

  /// The files a scenario's `dataset` block names, from its JSON alone, for
  /// a scenario that does not validate (so that no output replaces them
  /// either): `train`, `test` and `path` resolved as the loader resolves
  /// them, a folder with every file name the folder datasets accept, and
  /// Fashion-MNIST's default folder.
  /// - Parameters:
  ///   - text: the scenario's JSON.
  ///   - file: the scenario file (relative paths are resolved against its folder).
  /// - Returns: paths (a superset of what loading would read).
  public static func namedDatasetFiles(text: String, file: String) -> [String] {
    guard let document = try? JSONParser.parse(text),
      case .object(let dataset)? = document["dataset"]
    else { return [] }
    let base = baseDirectory(of: file)
    func resolve(_ path: String) -> String { ScenarioContext.resolve(path, in: base) }
    var files: [String] = []
    func folder(_ path: String) -> [String] {
      [path] + IDXImages.candidates(in: path) + CIFAR10.files(in: path)
    }
    for member in dataset {
      guard case .string(let value) = member.value else { continue }
      switch member.key {
      case "train", "test": files.append(resolve(value))
      case "path": files += folder(resolve(value))
      default: break
      }
    }
    if !dataset.contains(where: { $0.key == "path" }) {
      files += folder(FashionMNISTSource.defaultPath)
    }
    return files
  }

  /// The largest scenario file read (a scenario is a few kilobytes; a
  /// sweep block of 100,000 values stays far below this).
  public static let maxFileBytes = 64 << 20

  /// The text of a scenario file, read with a size bound.
  /// - Parameter file: the path.
  /// - Throws: `ScenarioErrors` for a missing, unreadable, oversized or
  ///   non-UTF-8 file (`unreadable` set for the first two: a file error).
  /// - Returns: the text.
  public static func readText(_ file: String) throws(ScenarioErrors) -> String {
    let bytes: [UInt8]
    do {
      bytes = try FileBytes.read(file, limit: maxFileBytes, regularOnly: false)
    } catch {
      var unreadable: String?
      var reason = "\(error)"
      switch error {
      case .missing: unreadable = "no such file"
      case .unreadable(_, let why): unreadable = why
      case .corrupt(_, let why): reason = why
      default: break
      }
      var errors = ScenarioErrors(
        source: file, errors: [ScenarioError(.root, unreadable ?? reason)])
      errors.unreadable = unreadable
      throw errors
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ScenarioErrors(source: file, errors: [ScenarioError(.root, "is not UTF-8 text")])
    }
    return text
  }

  /// Validates scenario text.
  /// - Parameters:
  ///   - text: the JSON document.
  ///   - source: its name for messages.
  ///   - baseDirectory: where relative paths start.
  ///   - overrides: `PATH=VALUE` assignments applied before validation.
  ///   - seed: a seed replacing the document's.
  /// - Throws: `ScenarioErrors` listing every problem.
  /// - Returns: the validated scenario.
  public static func decode(
    _ text: String, source: String, baseDirectory: String = ".", overrides: [String] = [],
    seed: UInt64? = nil
  ) throws(ScenarioErrors) -> Scenario {
    var document: JSONValue
    do {
      document = try JSONParser.parse(text)
    } catch {
      throw ScenarioErrors(
        source: source, errors: [ScenarioError(.root, "not valid JSON: \(error)")])
    }
    var problems: [ScenarioError] = []
    for assignment in overrides {
      if let problem = Override.apply(assignment, to: &document) { problems.append(problem) }
    }
    // A key set to null, in the file or in a --set value, is left out (the
    // contract: null removes an optional block); a misspelt one is still
    // reported below.
    var nulls: [(path: JSONPath, key: String)] = []
    document = withoutNullMembers(document, at: .root, removed: &nulls)
    if let seed { Override.set(&document, path: [.key("seed")], value: .number(Double(seed))) }
    if !problems.isEmpty { throw ScenarioErrors(source: source, errors: problems) }
    var validator = SchemaValidator(federated: document["federation"] != nil)
    let scenario = build(document, baseDirectory: baseDirectory, validator: &validator)
    for (path, key) in nulls {
      guard let allowed = validator.allowed(at: path), !allowed.contains(key) else { continue }
      validator.fail(
        path.appending(key),
        "unknown key\(Suggest.phrase(for: key, in: allowed)) (allowed: \(allowed.joined(separator: ", ")))"
      )
    }
    guard validator.errors.isEmpty, let scenario else {
      throw ScenarioErrors(source: source, errors: validator.errors)
    }
    return scenario
  }

  /// `value` with every object member whose value is null left out, at any
  /// depth (array elements stay: a sweep axis may list null as a value).
  static func withoutNullMembers(_ value: JSONValue) -> JSONValue {
    var removed: [(path: JSONPath, key: String)] = []
    return withoutNullMembers(value, at: .root, removed: &removed)
  }

  /// `value` without null members; `removed` receives where each was.
  static func withoutNullMembers(
    _ value: JSONValue, at path: JSONPath, removed: inout [(path: JSONPath, key: String)]
  ) -> JSONValue {
    switch value {
    case .object(let members):
      var kept: [JSONMember] = []
      for member in members {
        if member.value == .null {
          removed.append((path, member.key))
        } else {
          kept.append(
            JSONMember(
              member.key,
              withoutNullMembers(member.value, at: path.appending(member.key), removed: &removed)))
        }
      }
      return .object(kept)
    case .array(let items):
      return .array(
        items.enumerated().map {
          withoutNullMembers($1, at: path.appending($0), removed: &removed)
        })
    default:
      return value
    }
  }

  /// Validates a defense chain for updates outside a scenario (`poisonlab aggregate`).
  /// - Parameters:
  ///   - value: a defense object or array.
  ///   - source: the name used in messages (e.g. `--defense`).
  ///   - updates: the number of updates it will receive (checks preconditions).
  ///   - defaultF: the `f` of rules that leave it unset (an exported round's run's).
  /// - Returns: the chain and its resolved JSON.
  /// - Throws: `ScenarioErrors` listing every problem.
  public static func defenseChain(
    _ value: JSONValue, source: String, updates: Int, defaultF: Int = 0
  ) throws(ScenarioErrors) -> (chain: DefenseChain, resolved: JSONValue) {
    var validator = SchemaValidator(federated: true)
    var context = ScenarioContext(federated: true, isImage: nil, classes: nil, shape: nil)
    context.clientsPerRound = updates
    context.clients = updates
    context.maliciousClients = defaultF
    context.updatesAreRows = true
    let (defenses, json) = parseDefenses(
      value, at: JSONPath(components: [.key("defense")]), context: context, validator: &validator)
    guard validator.errors.isEmpty, let json else {
      var errors = ScenarioErrors(source: source, errors: validator.errors)
      errors.subject = "defense"
      throw errors
    }
    return (DefenseChain(defenses.map(\.defense)), json)
  }

  /// Resolves a `defense` block: plug-ins, `f` defaults, and the chain order
  /// (filters, then one aggregator); `fedavg` when a federated run gives none.
  static func parseDefenses(
    _ value: JSONValue?, at root: JSONPath, context: ScenarioContext,
    validator: inout SchemaValidator
  ) -> (defenses: [(defense: any Defense, path: JSONPath)], json: JSONValue?) {
    var defenses: [(defense: any Defense, path: JSONPath)] = []
    var defenseJSON: [JSONValue] = []
    let list: [(JSONValue, JSONPath)]
    let isArray: Bool
    switch value {
    case .array(let items)?:
      // Centralized: an empty chain is no defense, as when the key is absent.
      // Federated: it would silently become fedavg, so it must be said.
      if items.isEmpty && context.federated {
        validator.fail(
          root,
          "an empty defense array; name at least an aggregator (\(aggregatorNames)); "
            + "in a scenario, leaving the key out means fedavg")
      }
      list = items.enumerated().map { ($1, root.appending($0)) }
      isArray = true
    case let value?:
      list = [(value, root)]
      isArray = false
    case nil:
      list = []
      isArray = false
    }
    for (position, (value, path)) in list.enumerated() {
      var block = value
      // `f` defaults to the scenario's malicious clients (a defender who knows f).
      if case .object(let members) = value, case .string(let name)? = value["name"],
        let descriptor = Registry.descriptors(.defenses).first(where: { $0.name == name }),
        descriptor.parameters.contains(where: { $0.key == "f" }), value["f"] == nil
      {
        block = .object(members + [JSONMember("f", .number(Double(context.maliciousClients)))])
      }
      guard let (index, p) = plugin(block, at: path, family: .defenses, validator: &validator),
        let defense = Registry.defenses[index].init(p, context: context, validator: &validator)
      else { continue }
      let name = Registry.defenses[index].descriptor.name
      if defense is any SourceFilter {
        if list.count > 1 {
          validator.fail(path, "a pipeline takes one source filter, got \(list.count) defenses")
        } else {
          defenses.append((defense, path))
          defenseJSON.append(p.json)
        }
        continue
      }
      if context.pipeline {
        validator.fail(
          path.appending("name"),
          "a pipeline screens its sources with provenance, roni or trusted-only; \"\(name)\" does not apply"
        )
        continue
      }
      if defense is any DataSanitizer {
        if context.federated {
          validator.fail(
            path.appending("name"),
            "\"\(name)\" sanitizes centralized training data; remove the federation block or use an update defense"
          )
        } else if list.count > 1 {
          validator.fail(path, "a centralized run takes one sanitizer, got \(list.count) defenses")
        } else {
          defenses.append((defense, path))
          defenseJSON.append(p.json)
        }
        continue
      }
      if !context.federated {
        validator.fail(
          path.appending("name"),
          "\"\(name)\" acts on client updates and needs a federation block (centralized runs take a sanitizer: \(Self.defenseNames(role: "sanitizer")); pipelines a source filter: \(Self.defenseNames(role: "source filter")))"
        )
        continue
      }
      let last = position == list.count - 1
      // A `dp` at the end is reported once, by its own placement rule (only
      // `mean` may follow it).
      if last && !(defense is any Aggregator) && !(defense is DPFedAvg) {
        validator.fail(
          path.appending("name"),
          "\"\(name)\" transforms updates and cannot end the chain; add an aggregator after it (\(aggregatorNames))"
        )
      } else if !last && !(defense is any UpdateFilter) {
        validator.fail(
          path.appending("name"),
          "\"\(name)\" is an aggregator and must be the last element of the defense array")
      }
      defenses.append((defense, path))
      defenseJSON.append(p.json)
    }
    DPFedAvg.checkPlacement(in: defenses.map(\.defense), at: defenses.map(\.path), &validator)
    if context.federated && list.isEmpty {
      return ([(FedAvg(), root)], .object([JSONMember("name", .string("fedavg"))]))
    }
    if defenseJSON.isEmpty { return (defenses, nil) }
    return (defenses, isArray ? .array(defenseJSON) : defenseJSON[0])
  }

  /// The registered defenses of one role, comma-separated.
  static func defenseNames(role: String) -> String {
    Registry.descriptors(.defenses).map(\.name).filter { Registry.role(.defenses, $0) == role }
      .joined(separator: ", ")
  }

  /// Under secure aggregation the server holds only the sum of the updates:
  /// defenses that need each update, and attacks on individual messages in
  /// transit, are refused.
  static func secureAggregationProblems(
    defenses: [(defense: any Defense, path: JSONPath)],
    attacks: [(attack: any Attack, path: JSONPath, group: AttackGroup?)], at channel: JSONPath,
    validator: inout SchemaValidator
  ) {
    let allowed = Registry.defenses.filter { $0.secureAggregation != .needsEachUpdate }
      .map { $0.descriptor.name }
    for entry in defenses where type(of: entry.defense).secureAggregation == .needsEachUpdate {
      validator.fail(
        entry.path.appending("name"),
        "\"\(type(of: entry.defense).descriptor.name)\" needs every client's own update, but "
          + "\(channel.appending("secure_aggregation")) lets the server see only their sum; under secure "
          + "aggregation use \(allowed.joined(separator: ", ")) (dp then clips on the clients), or remove "
          + "\(channel.appending("secure_aggregation"))")
    }
    for entry in attacks where entry.attack is any ChannelAttack {
      validator.fail(
        entry.path.appending("name"),
        "\"\(type(of: entry.attack).descriptor.name)\" attacks individual messages on the channel, which is "
          + "not modelled under \(channel.appending("secure_aggregation")) (masked vectors); remove one of them"
      )
    }
  }

  /// The registered aggregators' names, for messages.
  static var aggregatorNames: String {
    Registry.defenses.filter { $0 is any Aggregator.Type }.map { $0.descriptor.name }.joined(
      separator: ", ")
  }

  /// Resolves one plug-in object (`{"name": ..., ...}`) of a family.
  static func plugin(
    _ value: JSONValue, at path: JSONPath, family: PluginFamily, validator: inout SchemaValidator
  ) -> (index: Int, parameters: Parameters)? {
    let descriptors = Registry.descriptors(family)
    let names = descriptors.map(\.name)
    let known =
      names.isEmpty
      ? "none are available in this version" : "known: " + names.joined(separator: ", ")
    guard case .object = value else {
      // A block's type check may have said so already.
      if !validator.errors.contains(where: { $0.path == path }) {
        validator.fail(
          path, "expected an object {\"name\": ...}, got \(value.described)")
      }
      return nil
    }
    guard let nameValue = value["name"] else {
      validator.fail(
        path.appending("name"), "missing required key: the \(family.singular) to use (\(known))")
      return nil
    }
    guard case .string(let name) = nameValue else {
      validator.fail(
        path.appending("name"),
        "expected a string, got \(nameValue.typeName) \(nameValue.brief) (\(known))")
      return nil
    }
    guard let index = names.firstIndex(of: name) else {
      validator.fail(
        path.appending("name"),
        "unknown \(family.singular) \"\(name)\"\(Suggest.phrase(for: name, in: names)) (\(known))")
      return nil
    }
    guard
      let parameters = validator.object(
        value, descriptors[index].parameters, at: path, extraKeys: ["name"],
        context: "for \(family.singular) \"\(name)\"")
    else { return nil }
    return (index, parameters)
  }

  private static func build(
    _ document: JSONValue, baseDirectory: String, validator: inout SchemaValidator
  ) -> Scenario? {
    if case .string(let name)? = document["name"], let problem = nameProblem(name) {
      validator.fail(JSONPath.root.appending("name"), problem)
    }
    guard let top = validator.object(document, topLevel, at: .root) else {
      // Still check the blocks that are present, to report everything at once.
      if case .object = document {} else { return nil }
      _ = blocks(document, top: nil, baseDirectory: baseDirectory, validator: &validator)
      return nil
    }
    return blocks(document, top: top, baseDirectory: baseDirectory, validator: &validator)
  }

  /// The kebab-case rule of ``nameProblem(_:)`` as a JSON Schema pattern.
  static let namePattern = "^[a-z0-9]+(-[a-z0-9]+)*$"

  /// What is wrong with a scenario's `name`, the identifier of every
  /// output row: the contract asks for kebab-case (lowercase letters and
  /// digits in words joined by single hyphens), which also keeps it safe in
  /// file names, CSV fields and shell scripts.
  /// - Parameter name: the name.
  /// - Returns: the message, or nil for a kebab-case name.
  static func nameProblem(_ name: String) -> String? {
    // The schema states the same rule as `namePattern`.
    let words = name.split(separator: "-", omittingEmptySubsequences: false)
    let kebab =
      !name.isEmpty
      && words.allSatisfy { word in
        !word.isEmpty
          && word.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
      }
    guard !kebab else { return nil }
    // The same words in kebab-case, as a suggestion.
    let suggestion = name.lowercased().unicodeScalars
      .map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? String($0) : "-" }.joined()
      .split(separator: "-").joined(separator: "-")
    let quoted = JSONValue.string(name).serialized()
    return
      "must be kebab-case (lowercase letters and digits, words joined by single hyphens), got \(quoted)"
      + (suggestion.isEmpty ? "" : "; did you mean \"\(suggestion)\"?")
  }

  private static func blocks(
    _ document: JSONValue, top: Parameters?, baseDirectory: String, validator: inout SchemaValidator
  ) -> Scenario? {
    let root = JSONPath.root
    let federated = document["federation"] != nil
    var context = ScenarioContext(
      federated: federated, isImage: nil, classes: nil, shape: nil, baseDirectory: baseDirectory)
    if case .number(let x)? = top?["training"]?["rounds"] { context.rounds = Int(exactly: x) }
    if case .number(let x)? = top?["pipeline"]?["cycles"] { context.cycles = Int(exactly: x) }

    // federation (the partition is resolved below)
    var federationParameters: Parameters?
    if case .object(let members)? = top?["federation"] {
      let p = Parameters(
        members: members, path: root.appending("federation"),
        given: validator.given(at: root.appending("federation")))
      let clients = p.int("clients") ?? 1
      let perRound = p.int("clients_per_round") ?? clients
      if perRound > clients {
        validator.fail(
          p.path("clients_per_round"), "must be at most the \(clients) clients, got \(perRound)")
      }
      context.clients = clients
      context.clientsPerRound = min(perRound, clients)
      federationParameters = p
    }

    // channel
    var channel = ChannelSettings()
    var channelJSON: JSONValue?
    if case .object(let members)? = top?["channel"] {
      let p = Parameters(
        members: members, path: root.appending("channel"),
        given: validator.given(at: root.appending("channel")))
      if let (settings, json) = ChannelSettings.read(p, context: context, validator: &validator) {
        channel = settings
        channelJSON = json
      }
    }
    // The contract's `authenticate` filter in the chain: the channel's
    // authentication with closed enrolment (a channel block saying
    // otherwise contradicts it).
    let defenseBlocks: [JSONValue] =
      switch top?["defense"] {
      case .array(let items)?: items
      case let block?: [block]
      case nil: []
      }
    if federated,
      let position = defenseBlocks.firstIndex(where: {
        $0["name"] == .string(Authenticate.descriptor.name)
      })
    {
      let at = root.appending("defense")
      let path = defenseBlocks.count > 1 ? at.appending(position) : at
      Authenticate.turnOn(
        &channel, json: &channelJSON, given: validator.given(at: root.appending("channel")),
        at: path, validator: &validator)
    }
    // Signed plaintext updates and secure aggregation contradict each
    // other: to verify a signature the server must hold the update the
    // masking hides (and Ed25519 is deterministic, so a guessed update could
    // be confirmed against it). Bonawitz et al.'s active-security variant
    // signs the key advertisements instead; it is not implemented.
    if federated, channel.authentication == .ed25519, channel.secureAggregation != nil {
      let authenticate = defenseBlocks.contains {
        $0["name"] == .string(Authenticate.descriptor.name)
      }
      validator.fail(
        authenticate
          ? root.appending("defense") : root.appending("channel").appending("authentication"),
        "ed25519 signs each client's update in the clear, which the server must then hold to "
          + "verify it; channel.secure_aggregation promises it never does (Bonawitz et al.'s "
          + "actively secure variant, which signs the key advertisements instead, is not "
          + "implemented): use one or the other")
    }

    // sources and pipeline
    var sources: [DataSourceSpec] = []
    if case .array(let items)? = top?["sources"], !federated {
      sources = PipelineSettings.readSources(
        items, at: root.appending("sources"), validator: &validator)
    }
    var pipeline: PipelineSettings?
    if case .object(let members)? = top?["pipeline"], !federated {
      let p = Parameters(
        members: members, path: root.appending("pipeline"),
        given: validator.given(at: root.appending("pipeline")))
      pipeline = PipelineSettings.read(p)
      if sources.isEmpty && top?["sources"] == nil {
        validator.fail(
          root.appending("pipeline"),
          "a pipeline brings data from its sources; add a sources array, e.g. [{\"name\": \"vendor\", \"share\": 1}]"
        )
      }
      if validator.given(at: root.appending("training")).contains("rounds") {
        validator.fail(
          root.appending("training").appending("rounds"),
          "a pipeline trains pipeline.epochs_per_cycle epochs per cycle; training.rounds is not used, remove it"
        )
      }
    }
    if !sources.isEmpty && pipeline == nil && !federated {
      validator.fail(
        root.appending("sources"),
        "sources feed a retraining pipeline; add a pipeline block, e.g. {\"cycles\": 5}, or remove sources"
      )
    }
    context.pipeline = pipeline != nil
    context.sourceNames = sources.map(\.name)
    if case .object(let block)? = top?["defense"],
      case .string(let name)? = JSONValue.object(block)["name"]
    {
      context.pipelineHasFilter = Registry.role(.defenses, name) == "source filter"
    }
    context.trustedSources = sources.filter(\.trusted).count
    if federated {
      let blocks: [JSONValue] =
        switch top?["defense"] {
        case .array(let items)?: items
        case let block?: [block]
        case nil: [.object([JSONMember("name", .string("fedavg"))])]
        }
      context.chainFlags = blocks.contains { block in
        guard case .string(let name)? = block["name"],
          let type = Registry.defenses.first(where: { $0.descriptor.name == name })
        else { return true }  // unknown: its own error comes with the defenses
        return !type.propagatesNonFinite
      }
    }
    // An error elsewhere at the top level leaves `top` nil: the pipeline and
    // its sources are still there, and the blocks checked now must not
    // report them missing (their own errors come once the others are fixed).
    if top == nil, !federated, case .object? = document["pipeline"] {
      context.pipeline = true
      if case .array(let items)? = document["sources"], !items.isEmpty {
        context.trustedSources = 1
      }
    }

    // safeguards
    var safeguards = SafeguardSettings()
    if case .object(let members)? = top?["safeguards"] {
      let p = Parameters(
        members: members, path: root.appending("safeguards"),
        given: validator.given(at: root.appending("safeguards")))
      if !federated && pipeline == nil {
        validator.fail(
          root.appending("safeguards"),
          "safeguards act across the rounds of a federated run or the cycles of a pipeline; add a federation or a pipeline block"
        )
      } else if let settings = SafeguardSettings.read(p, context: context, validator: &validator) {
        safeguards = settings
      }
    }

    // dataset
    var dataset: (any DatasetSource)?
    var datasetParameters: Parameters?
    if let value = document["dataset"],
      let (index, p) = plugin(
        value, at: root.appending("dataset"), family: .datasets, validator: &validator)
    {
      dataset = Registry.datasets[index].init(p, context: context, validator: &validator)
      datasetParameters = p
      if let dataset {
        context.isImage = dataset.isImage
        context.classes = dataset.knownClasses
        context.shape = dataset.knownShape
      }
    }

    // model
    var model: (any ModelArchitecture)?
    var modelParameters: Parameters?
    if let value = document["model"],
      let (index, p) = plugin(
        value, at: root.appending("model"), family: .models, validator: &validator)
    {
      model = Registry.models[index].init(p, context: context, validator: &validator)
      modelParameters = p
    }

    // training
    var training: TrainingSettings?
    var trainingJSON: JSONValue?
    if case .object(let members)? = top?["training"] {
      let t = Parameters(
        members: members, path: root.appending("training"),
        given: validator.given(at: root.appending("training")))
      training = TrainingSettings(
        rounds: t.int("rounds") ?? 10, batchSize: t.int("batch_size") ?? 32,
        optimizer: SGD(
          learningRate: Float(t.double("learning_rate") ?? 0.05),
          momentum: Float(t.double("momentum") ?? 0),
          weightDecay: Float(t.double("weight_decay") ?? 0)),
        localEpochs: t.int("local_epochs") ?? 1, localSteps: t.int("local_steps"),
        serverLearningRate: Float(t.double("server_learning_rate") ?? 1))
      trainingJSON = .object(members)
      // local_steps replaces epochs (the contract); a second, different
      // epoch count beside it would be silently ignored.
      if let epochs = t.int("local_epochs"), epochs != 1, t.int("local_steps") != nil {
        validator.fail(
          t.path("local_epochs"),
          "local_steps replaces local_epochs, so \(epochs) epochs would be ignored; "
            + "give one of the two (set local_epochs to null)")
      }
    }

    // partition
    var federation: FederationSettings?
    var federationJSON: JSONValue?
    if let p = federationParameters, let value = p["partition"],
      let (index, pp) = plugin(
        value, at: p.path("partition"), family: .partitions, validator: &validator),
      let partition = Registry.partitions[index].init(pp, context: context, validator: &validator)
    {
      federation = FederationSettings(
        clients: context.clients ?? 1, clientsPerRound: context.clientsPerRound ?? 1,
        partition: partition)
      federationJSON = .object([
        JSONMember("clients", .number(Double(context.clients ?? 1))),
        JSONMember("clients_per_round", .number(Double(context.clientsPerRound ?? 1))),
        JSONMember("partition", pp.json),
      ])
    }

    // attacks
    var attacks: [(attack: any Attack, path: JSONPath, group: AttackGroup?)] = []
    var attackJSON: [JSONValue] = []
    let attackList: [(JSONValue, JSONPath)]
    switch document["attack"] {
    case .array(let items)?:
      attackList = items.enumerated().map { ($1, root.appending("attack").appending($0)) }
    case let value?: attackList = [(value, root.appending("attack"))]
    case nil: attackList = []
    }
    if !federated && attackList.count > 1 {
      validator.fail(
        root.appending("attack"), "a centralized run takes one attack, got \(attackList.count)")
    }
    var taken: [Int: JSONPath] = [:]
    for (value, path) in attackList {
      guard let (index, p) = plugin(value, at: path, family: .attacks, validator: &validator),
        let attack = Registry.attacks[index].init(p, context: context, validator: &validator)
      else { continue }
      var group: AttackGroup?
      if let clients = context.clients {
        let ownClients = (attack as? any ChannelAttack).map { type(of: $0).hasClients } ?? true
        guard
          let g = AttackGroup.read(
            p, clients: clients, rounds: context.rounds, needsClients: ownClients,
            validator: &validator)
        else { continue }
        for client in g.clients {
          if let other = taken[client] {
            validator.fail(
              path,
              "client \(client) is already an attacker in \(other); attack groups must not overlap")
            break
          }
          taken[client] = path
        }
        group = g
      }
      // Without a readable sources array (absent, or invalid elsewhere in
      // the file) the names cannot be checked; an absent one is said.
      if case .array(let names)? = p["sources"],
        document["sources"] == nil || !context.sourceNames.isEmpty
      {
        var named = Set<String>()
        for (i, value) in names.enumerated() {
          guard case .string(let name) = value else { continue }
          if !named.insert(name).inserted {
            validator.fail(
              path.appending("sources").appending(i), "names source \"\(name)\" twice")
          } else if !context.sourceNames.contains(name) {
            validator.fail(
              path.appending("sources").appending(i),
              context.sourceNames.isEmpty
                ? "names a source, but the scenario has no sources array"
                : "unknown source \"\(name)\"\(Suggest.phrase(for: name, in: context.sourceNames)) (sources: \(context.sourceNames.joined(separator: ", ")))"
            )
          }
        }
      }
      attacks.append((attack, path, group))
      attackJSON.append(p.json)
    }
    context.maliciousClients = taken.count
    if let entry = attacks.first(where: { $0.attack is Impersonate }) {
      Impersonate.checkVictims(
        attackers: taken.count, clients: context.clients, at: entry.path, &validator)
    }
    // Sybils enrolled under open enrolment reach the defenses: rules size n
    // and their default f with them.
    if channel.enrolment == .open {
      let identities = Sybil.enrolledIdentities(attacks.map(\.attack))
      context.clientsPerRound = context.clientsPerRound.map { $0 + identities }
      context.maliciousClients += identities
    }

    // defenses
    let (defenses, defenseJSON) = parseDefenses(
      document["defense"], at: root.appending("defense"), context: context, validator: &validator)
    // A min-max or min-sum search start the file leaves out depends on the
    // chain: resolved here, so that the resolved scenario holds it.
    let selecting = DefenseChain(defenses.map(\.defense)).selectsRows
    for i in attacks.indices {
      if let (attack, block) = MinMaxAttack.resolvingStart(
        of: attacks[i].attack, json: attackJSON[i], selecting: selecting)
      {
        attacks[i].attack = attack
        attackJSON[i] = block
      }
    }

    if channel.secureAggregation != nil {
      // The monitor's per-update signals and the quarantine need each update too.
      let perUpdate = (safeguards.monitor?.signals ?? []).filter {
        SignalMonitor.updateSignals.contains($0)
      }
      if !perUpdate.isEmpty {
        validator.fail(
          root.appending("safeguards").appending("monitor").appending("signals"),
          "\(perUpdate.joined(separator: ", ")) \(perUpdate.count == 1 ? "reads" : "read") each client's update, but channel.secure_aggregation "
            + "lets the server see only their sum; keep validation_accuracy and class_accuracy (they read the model), or remove channel.secure_aggregation"
        )
      }
      if safeguards.validation?.attribute == true {
        validator.fail(
          root.appending("safeguards").appending("validation").appending("attribute"),
          "tests each client's update alone, but channel.secure_aggregation lets the server see "
            + "only their sum; remove one of them")
      }
      if safeguards.quarantine != nil {
        validator.fail(
          root.appending("safeguards").appending("quarantine"),
          "nothing can flag a client under channel.secure_aggregation (the server sees only the sum); "
            + "remove one of them")
      }
      secureAggregationProblems(
        defenses: defenses, attacks: attacks, at: root.appending("channel"),
        validator: &validator)
    }

    // audit
    var audit: (any AuditMethod)?
    var auditJSON: JSONValue?
    if let value = document["audit"],
      let (index, p) = plugin(
        value, at: root.appending("audit"), family: .audits, validator: &validator)
    {
      audit = Registry.audits[index].init(p, context: context, validator: &validator)
      auditJSON = p.json
      if let pruning = audit as? FinePruning {
        pruning.checkModel(model, at: root.appending("audit"), &validator)
      }
    }

    // expect
    var expectations: [Expectation] = []
    if case .object(let members)? = document["expect"] {
      let specs = [
        ParameterSpec(
          "min", .number(min: nil, max: nil, minOpen: false, maxOpen: false),
          doc: "lowest acceptable value"),
        ParameterSpec(
          "max", .number(min: nil, max: nil, minOpen: false, maxOpen: false),
          doc: "highest acceptable value"),
      ]
      for member in members {
        let path = root.appending("expect").appending(member.key)
        guard MetricRecord.metricNames.contains(member.key) else {
          validator.fail(
            path,
            "unknown metric\(Suggest.phrase(for: member.key, in: MetricRecord.metricNames)) (metrics: \(MetricRecord.metricNames.joined(separator: ", ")))"
          )
          continue
        }
        // A metric the run does not measure (an audit figure without an
        // audit block, `--set audit=null` in an ablation) is null and misses
        // its threshold at the end, saying so, as every metric does.
        guard let p = validator.object(member.value, specs, at: path) else { continue }
        let (low, high) = (p.double("min"), p.double("max"))
        if low == nil && high == nil {
          validator.fail(path, "give min and/or max")
        } else if let low, let high, low > high {
          validator.fail(
            path, "min \(JSONValue.format(low)) is greater than max \(JSONValue.format(high))")
        } else {
          expectations.append(Expectation(metric: member.key, min: low, max: high))
        }
      }
    }

    guard let top, let dataset, let datasetParameters, let model, let modelParameters, let training,
      let trainingJSON, federated == (federation != nil), validator.errors.isEmpty
    else { return nil }
    let every =
      top["evaluation"]?["every"].flatMap { if case .number(let x) = $0 { Int(x) } else { nil } }
      ?? 1
    var resolved: [JSONMember] = [
      JSONMember("name", top["name"] ?? .string("")),
      JSONMember("description", top["description"] ?? .string("")),
      JSONMember("seed", top["seed"] ?? .number(0)),
      JSONMember("dataset", datasetParameters.json),
      JSONMember("model", modelParameters.json),
      // A pipeline trains epochs_per_cycle epochs per cycle: no rounds.
      JSONMember(
        "training",
        pipeline == nil
          ? trainingJSON
          : {
            guard case .object(let members) = trainingJSON else { return trainingJSON }
            return .object(members.filter { $0.key != "rounds" })
          }()),
    ]
    if let federationJSON { resolved.append(JSONMember("federation", federationJSON)) }
    if let channelJSON { resolved.append(JSONMember("channel", channelJSON)) }
    if let block = top["sources"] { resolved.append(JSONMember("sources", block)) }
    if let block = top["pipeline"] { resolved.append(JSONMember("pipeline", block)) }
    if let block = top["safeguards"] { resolved.append(JSONMember("safeguards", block)) }
    if let attack = document["attack"] {
      if case .array = attack {
        resolved.append(JSONMember("attack", .array(attackJSON)))
      } else if let only = attackJSON.first {
        resolved.append(JSONMember("attack", only))
      }
    }
    if let defenseJSON { resolved.append(JSONMember("defense", defenseJSON)) }
    if let auditJSON { resolved.append(JSONMember("audit", auditJSON)) }
    resolved.append(
      JSONMember("evaluation", .object([JSONMember("every", .number(Double(every)))])))
    if let expect = document["expect"] { resolved.append(JSONMember("expect", expect)) }
    var sweepAxes: [SweepAxis] = []
    if let sweep = document["sweep"] {
      var axes: [SweepAxis] = []
      if case .object(let members) = sweep {
        for member in members {
          if case .array(let values) = member.value, !values.isEmpty,
            Override.parsePath(member.key) != nil
          {
            axes.append(SweepAxis(path: member.key, values: values))
          } else {
            validator.fail(
              root.appending("sweep").appending(member.key),
              "expected a scenario path and a non-empty array of values")
          }
        }
      } else {
        validator.fail(root.appending("sweep"), "expected an object of path: [values]")
      }
      guard validator.errors.isEmpty else { return nil }
      sweepAxes = axes
      resolved.append(JSONMember("sweep", sweep))
    }
    let seedValue: UInt64
    if case .number(let x)? = top["seed"] { seedValue = UInt64(x) } else { seedValue = 0 }
    var scenario = Scenario(
      name: top.string("name") ?? "", description: top.string("description") ?? "", seed: seedValue,
      dataset: dataset, datasetParameters: datasetParameters, model: model, training: training,
      attacks: attacks, federation: federation, channel: channel, safeguards: safeguards,
      defenses: defenses,
      evaluationEvery: every,
      expectations: expectations, sweep: sweepAxes, resolved: .object(resolved))
    scenario.audit = audit
    scenario.defaultF = context.maliciousClients
    scenario.sources = sources
    scenario.pipeline = pipeline
    return scenario
  }
}
