/// What `poisonlab list`, validation, suggestions and the conformance tests
/// know about a plug-in.
public struct PluginDescriptor: Sendable {
  /// The kebab-case name used in scenarios (`"label-flip"`).
  public var name: String
  /// One line saying what it is.
  public var summary: String
  /// The paper or source that defines it, or nil.
  public var reference: String?
  /// Its keys besides `name`.
  public var parameters: [ParameterSpec]
  /// Conditions of use (for example "image datasets only").
  public var notes: [String]

  /// Creates a descriptor.
  /// - Parameters:
  ///   - name: the scenario name.
  ///   - summary: one line.
  ///   - reference: the citation.
  ///   - parameters: accepted keys.
  ///   - notes: conditions of use.
  public init(
    name: String, summary: String, reference: String? = nil, parameters: [ParameterSpec] = [],
    notes: [String] = []
  ) {
    self.name = name
    self.summary = summary
    self.reference = reference
    self.parameters = parameters
    self.notes = notes
  }
}

/// What plug-ins may know about the rest of the scenario while validating.
public struct ScenarioContext: Sendable {
  /// Whether the scenario has a `federation` block.
  public var federated: Bool
  /// Whether the dataset holds images (nil: dataset invalid or unknown).
  public var isImage: Bool?
  /// Number of classes when known before loading (nil for CSV).
  public var classes: Int?
  /// Sample shape when known before loading.
  public var shape: Shape?
  /// The folder relative paths in the scenario are resolved against (the scenario file's).
  public var baseDirectory: String
  /// Federated runs: the number of clients.
  public var clients: Int?
  /// Federated runs: clients selected per round (the updates a defense receives).
  public var clientsPerRound: Int?
  /// `poisonlab aggregate`: the updates are the rows of a file, not a
  /// round's clients (messages say "rows").
  public var updatesAreRows = false
  /// What `clientsPerRound` counts, for messages.
  var updatesNoun: String { updatesAreRows ? "rows of updates" : "clients per round" }
  /// Federated runs: malicious clients over all attack groups.
  public var maliciousClients: Int = 0
  /// Training rounds.
  public var rounds: Int?
  /// Centralized runs: whether the scenario has a `pipeline` block.
  public var pipeline = false
  /// Pipelines: the retraining cycles after the initial training.
  public var cycles: Int?
  /// The names of the `sources` entries.
  public var sourceNames: [String] = []
  /// How many sources are trusted.
  public var trustedSources = 0
  /// Pipelines: whether the defense is a source filter (read before the
  /// defenses are parsed, for the safeguards' checks).
  public var pipelineHasFilter = false
  /// Federated runs: whether the defense chain can flag an update (any
  /// stage but `fedavg` and `mean`, which flag nothing, not even a
  /// non-finite update); read before the defenses are parsed.
  public var chainFlags = true

  /// Creates a context.
  /// - Parameters:
  ///   - federated: federated run or not.
  ///   - isImage: image data or not.
  ///   - classes: the class count if known.
  ///   - shape: the sample shape if known.
  ///   - baseDirectory: where relative paths start.
  public init(
    federated: Bool, isImage: Bool?, classes: Int?, shape: Shape?, baseDirectory: String = "."
  ) {
    self.federated = federated
    self.isImage = isImage
    self.classes = classes
    self.shape = shape
    self.baseDirectory = baseDirectory
  }

  /// `path` made absolute against `baseDirectory` (absolute paths unchanged).
  /// - Parameter path: a path from the scenario.
  /// - Returns: `path` made absolute against `baseDirectory` (absolute paths unchanged).
  public func resolve(_ path: String) -> String { Self.resolve(path, in: baseDirectory) }

  /// `path` resolved against `baseDirectory` as scenario paths are.
  /// - Parameters:
  ///   - path: a path from the scenario.
  ///   - baseDirectory: the scenario file's folder.
  /// - Returns: the path.
  public static func resolve(_ path: String, in baseDirectory: String) -> String {
    if path.hasPrefix("/") || baseDirectory.isEmpty || baseDirectory == "." { return path }
    return baseDirectory + "/" + path
  }
}

/// A plug-in: a configured value of a family (dataset, model, attack, output format).
public protocol Plugin: Sendable {
  /// Name, summary, reference and parameters.
  static var descriptor: PluginDescriptor { get }

  /// Builds the plug-in from validated parameters, recording problems that
  /// the schema cannot see (cross-field rules, dataset compatibility).
  /// - Parameters:
  ///   - parameters: keys checked against `descriptor.parameters`, defaults filled.
  ///   - context: what is known about the rest of the scenario.
  ///   - validator: where problems are recorded.
  /// Fails (nil) when a problem was recorded.
  init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
}

/// The plug-in families, in the order `poisonlab list` shows them.
public enum PluginFamily: String, CaseIterable, Sendable {
  case datasets
  case models
  case partitions
  case attacks
  case defenses
  case audits
  case formats

  /// The scenario key of the family (`dataset`, `model`, ...).
  public var singular: String {
    switch self {
    case .datasets: return "dataset"
    case .models: return "model"
    case .partitions: return "partition"
    case .attacks: return "attack"
    case .defenses: return "defense"
    case .audits: return "audit"
    case .formats: return "format"
    }
  }
}
