/// The one list of plug-ins.
///
/// `poisonlab list`, scenario validation, "did you
/// mean" suggestions, the schema, the guides and the conformance tests all
/// read these tables; adding a plug-in (or a monitor signal) is one file in
/// its family folder plus one line here.
public enum Registry {
  /// Data sources (`dataset.name`).
  public static let datasets: [any DatasetSource.Type] = [
    FashionMNISTSource.self,
    MNISTSource.self,
    CIFAR10Source.self,
    CSVSource.self,
    SklearnBreastCancer.self,
    SklearnWine.self,
    SklearnIris.self,
    SklearnDigits.self,
    SyntheticSource.self,
  ]

  /// Model architectures (`model.name`).
  public static let models: [any ModelArchitecture.Type] = [
    LogisticModel.self,
    MLPModel.self,
    CNNModel.self,
  ]

  /// Client partitions (`federation.partition.name`).
  public static let partitions: [any Partition.Type] = [
    IIDPartition.self,
    DirichletPartition.self,
    ShardsPartition.self,
  ]

  /// Attacks (`attack.name`): data poisoning, crafted updates, then attacks on the channel.
  public static let attacks: [any Attack.Type] = [
    LabelFlip.self,
    Backdoor.self,
    DBA.self,
    SignFlip.self,
    GaussianNoise.self,
    Scaling.self,
    ALIE.self,
    IPM.self,
    MinMaxAttack.self,
    MinSumAttack.self,
    FangAttack.self,
    Mimic.self,
    NonFinite.self,
    Tamper.self,
    Replay.self,
    Impersonate.self,
    Sybil.self,
  ]

  /// Defenses (`defense.name`): aggregators, then the filters that may precede them.
  public static let defenses: [any Defense.Type] = [
    FedAvg.self,
    Mean.self,
    CoordinateMedian.self,
    TrimmedMean.self,
    Krum.self,
    MultiKrum.self,
    Bulyan.self,
    GeometricMedian.self,
    CenteredClipping.self,
    DivideAndConquer.self,
    FoolsGold.self,
    FLTrust.self,
    Flame.self,
    NormClip.self,
    DPFedAvg.self,
    NearestNeighborMixing.self,
    Bucketing.self,
    AnomalyFilter.self,
    Authenticate.self,
    SpectralSignatures.self,
    ActivationClustering.self,
    Provenance.self,
    RONI.self,
    TrustedOnly.self,
  ]

  /// Model audits (`audit.name`, `poisonlab audit --method`).
  public static let audits: [any AuditMethod.Type] = [
    NeuralCleanse.self,
    STRIP.self,
    FinePruning.self,
  ]

  /// Monitor signals (`safeguards.monitor.signals`): what the server's
  /// monitor can watch each round.
  static let signals: [any MonitorSignal.Type] = [
    UpdateNormSignal.self,
    CosineSignal.self,
    ValidationAccuracySignal.self,
    ClassAccuracySignal.self,
    NewDataLossSignal.self,
    FLDetector.self,
  ]

  /// The monitor signals' descriptors, in registration order.
  public static var signalDescriptors: [PluginDescriptor] { signals.map { $0.descriptor } }

  /// Output formats (`--format`).
  public static let formats: [any ReportFormat.Type] = [
    TableFormat.self,
    JSONLinesFormat.self,
    CSVFormat.self,
    JSONFormat.self,
  ]

  /// What a plug-in does within its family, where the family has kinds: attacks are "data
  /// poisoning", "crafted updates" or "channel", defenses "aggregator" or "filter".
  /// - Parameters:
  ///   - family: the family.
  ///   - name: the plug-in's name.
  /// - Returns: the role, or nil.
  public static func role(_ family: PluginFamily, _ name: String) -> String? {
    switch family {
    case .attacks:
      guard let type = attacks.first(where: { $0.descriptor.name == name }) else { return nil }
      if type is any ChannelAttack.Type { return "channel" }
      return type is any DataPoisoning.Type ? "data poisoning" : "crafted updates"
    case .defenses:
      guard let type = defenses.first(where: { $0.descriptor.name == name }) else { return nil }
      if type is any DataSanitizer.Type { return "sanitizer" }
      if type is any SourceFilter.Type { return "source filter" }
      return type is any Aggregator.Type ? "aggregator" : "filter"
    default:
      return nil
    }
  }

  /// The descriptors of a family, in registration order.
  /// - Parameter family: the family.
  /// - Returns: the descriptors of a family, in registration order.
  public static func descriptors(_ family: PluginFamily) -> [PluginDescriptor] {
    switch family {
    case .datasets: return datasets.map { $0.descriptor }
    case .models: return models.map { $0.descriptor }
    case .partitions: return partitions.map { $0.descriptor }
    case .attacks: return attacks.map { $0.descriptor }
    case .defenses: return defenses.map { $0.descriptor }
    case .audits: return audits.map { $0.descriptor }
    case .formats: return formats.map { $0.descriptor }
    }
  }
}
