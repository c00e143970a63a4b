/// One named source of training data (`sources`): a partner feed, user
/// reports, scraped data, a labelling vendor.
public struct DataSourceSpec: Sendable, Equatable {
  /// The source's name (attacks and records refer to it).
  public var name: String
  /// Its share of the training set.
  public var share: Double
  /// Whether the operator trusts it (trusted data is never screened, and
  /// validation sets are drawn from it).
  public var trusted: Bool
}

/// The `pipeline` block: a centralized model trained again and again as
/// data arrives from its sources.
///
/// The model first trains on a share `initial_share` of every source
/// (cycle 0); each of the `cycles` cycles then brings the next equal slice
/// of every source's remaining data, and the model either fine-tunes on
/// what arrived (`fine-tune`) or retrains from its initial weights on
/// everything accepted so far (`retrain`), `epochs_per_cycle` epochs each
/// time. Each cycle is one round row (round 0 is the initial training).
public struct PipelineSettings: Sendable, Equatable {
  /// How each cycle trains.
  public enum Mode: String, Sendable, CaseIterable {
    /// Continue from the live model on the cycle's new data.
    case fineTune = "fine-tune"
    /// Start again from the initial weights on all data accepted so far.
    case retrain
  }

  /// Cycles after the initial training.
  public var cycles: Int
  /// Share of every source the initial training uses.
  public var initialShare: Double
  /// Epochs of every training.
  public var epochsPerCycle: Int
  /// Fine-tune or retrain.
  public var mode: Mode

  /// The `sources` entries' keys.
  public static let sourceKeys: [ParameterSpec] = [
    ParameterSpec("name", .string, required: true, doc: "the source's name"),
    ParameterSpec(
      "share", .number(min: 0, max: 1, minOpen: true, maxOpen: false), required: true,
      doc: "its share of the training set (the shares sum to 1)"),
    ParameterSpec(
      "trust", .choice(["trusted", "untrusted"]), default: .string("untrusted"),
      doc: "trusted data is never screened; validation sets come from it"),
  ]

  /// The `pipeline` block's keys.
  public static let keys: [ParameterSpec] = [
    ParameterSpec(
      "cycles", .integer(min: 1, max: 10_000), required: true,
      doc: "retraining cycles after the initial training"),
    ParameterSpec(
      "initial_share", .number(min: 0, max: 1, minOpen: true, maxOpen: true),
      default: .number(0.5), doc: "share of every source the initial training uses"),
    ParameterSpec(
      "epochs_per_cycle", .integer(min: 1, max: 10_000), default: .number(1),
      doc: "epochs of the initial training and of every cycle"),
    ParameterSpec(
      "mode", .choice(Mode.allCases.map(\.rawValue)), default: .string("fine-tune"),
      doc:
        "fine-tune: continue on the cycle's new data; retrain: from the initial weights on all accepted data"
    ),
  ]

  /// Reads the validated `sources` array, or records what is wrong.
  static func readSources(
    _ items: [JSONValue], at path: JSONPath, validator: inout SchemaValidator
  ) -> [DataSourceSpec] {
    var sources: [DataSourceSpec] = []
    for (i, item) in items.enumerated() {
      guard let p = validator.object(item, sourceKeys, at: path.appending(i)),
        let name = p.string("name"), let share = p.double("share")
      else { continue }
      if name.allSatisfy(\.isWhitespace) {
        validator.fail(p.path("name"), "a source needs a name (attacks and records name it)")
      } else if sources.contains(where: { $0.name == name }) {
        validator.fail(p.path("name"), "\"\(name)\" names two sources; names must be unique")
      }
      sources.append(
        DataSourceSpec(name: name, share: share, trusted: p.string("trust") == "trusted"))
    }
    let total = sources.reduce(0) { $0 + $1.share }
    if sources.count == items.count && !sources.isEmpty && abs(total - 1) > 1e-6 {
      validator.fail(
        path,
        "the shares sum to \(JSONValue.format((total * 1e9).rounded() / 1e9)); they split the training set and must sum to 1"
      )
    }
    return sources
  }

  /// Reads the validated `pipeline` block.
  static func read(_ p: Parameters) -> PipelineSettings {
    PipelineSettings(
      cycles: p.int("cycles") ?? 1, initialShare: p.double("initial_share") ?? 0.5,
      epochsPerCycle: p.int("epochs_per_cycle") ?? 1,
      mode: Mode(rawValue: p.string("mode") ?? "fine-tune") ?? .fineTune)
  }
}
