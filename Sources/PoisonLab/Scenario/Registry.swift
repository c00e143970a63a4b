/// The one list of plug-ins.
///
/// `poisonlab list`, scenario validation, "did you
/// mean" suggestions and the conformance tests all read these tables; adding
/// a plug-in is one file in its family folder plus one line here.
public enum Registry {
  /// Data sources (`dataset.name`).
  public static let datasets: [any DatasetSource.Type] = [
    FashionMNISTSource.self,
    MNISTSource.self,
    CIFAR10Source.self,
    CSVSource.self,
    SyntheticSource.self,
  ]

  /// Model architectures (`model.name`).
  public static let models: [any ModelArchitecture.Type] = [
    LogisticModel.self,
    MLPModel.self,
    CNNModel.self,
  ]

  /// Attacks (`attack.name`).
  public static let attacks: [any Attack.Type] = [
    LabelFlip.self,
    Backdoor.self,
  ]

  /// Defenses (`defense.name`).
  ///
  /// Federated aggregators and centralized
  /// sanitizers are not in this version yet.
  public static let defenses: [any Defense.Type] = []

  /// Output formats (`--format`).
  public static let formats: [any ReportFormat.Type] = [
    TableFormat.self,
    JSONLinesFormat.self,
    CSVFormat.self,
    JSONFormat.self,
  ]

  /// The descriptors of a family, in registration order.
  /// - Parameter family: the family.
  /// - Returns: the descriptors of a family, in registration order.
  public static func descriptors(_ family: PluginFamily) -> [PluginDescriptor] {
    switch family {
    case .datasets: return datasets.map { $0.descriptor }
    case .models: return models.map { $0.descriptor }
    case .attacks: return attacks.map { $0.descriptor }
    case .defenses: return defenses.map { $0.descriptor }
    case .formats: return formats.map { $0.descriptor }
    }
  }
}
