/// Saved models: a network's parameters as safetensors (``Safetensors``)
/// named and laid out as PyTorch's `state_dict` of the same `nn.Sequential`
/// (`layers.<index>.weight`, `layers.<index>.bias`, the index counting every
/// layer: Conv2d, ReLU, MaxPool2d, Flatten, Linear), so that a PyTorch user
/// can load the weights.
///
/// poisonlab computes channels-last (H, W, C); PyTorch channels-first. A
/// `Linear` weight is `out x in`, as stored; a `Conv2d` weight is written
/// as `out x in x kh x kw` (stored `out x kh x kw x in`); and a `Linear`
/// whose input is a flattened image with several channels gets its columns
/// reordered from the (H, W, C) to the (C, H, W) flattening, the order of
/// `x.flatten(1)` on a PyTorch image batch. Loading undoes both.
///
/// `__metadata__` holds `format` (`poisonlab`), `architecture` (the
/// scenario's `model` block as JSON), `input_shape` (`[C, H, W]`, or
/// `[features]`), `classes`, `scenario`, `scenario_sha256` (the resolved
/// scenario but for rounds, description, expect and evaluation), `seed`, `round`,
/// `poisonlab_version`, `normalization` (`{"offset": [...], "factor":
/// [...]}`, applied to raw inputs as `(x - offset) * factor`) and, in a
/// federated run with `dp`, `privacy_sampling_rates` (each round's rate so
/// far, as JSON, which a resumed run's accountant composes).
public enum ModelFile {
  /// poisonlab's version, written into every model file.
  public static let version = "0.1.0"
  /// The rounds a model file may record (a larger one is corrupt).
  public static let rounds = 0...1_000_000

  /// One tensor of the file and where its values live in the parameter vector.
  struct Layout {
    var name: String
    var shape: [Int]
    /// For each value in the file's order, its index in the parameter vector.
    var indices: [Int]
  }

  /// The tensors of `network` for inputs of `input`'s shape.
  static func layouts(_ network: Network, input: Shape) -> [Layout] {
    var out: [Layout] = []
    // The sample shape as it flows, and whether it is an image with channels.
    var current = input
    for (index, layer) in network.layers.enumerated() {
      let base = network.offsets[index]
      if let dense = layer as? Dense {
        let image = current.height * current.width > 1 && current.channels > 1
        let h = current.height
        let w = current.width
        let c = current.channels
        var weight: [Int] = []
        weight.reserveCapacity(dense.outputs * dense.inputs)
        for o in 0..<dense.outputs {
          for j in 0..<dense.inputs {
            // j counts PyTorch's (C, H, W) flattening; map it to (H, W, C).
            var column = j
            if image {
              let ch = j / (h * w)
              let rest = j % (h * w)
              column = rest * c + ch
            }
            weight.append(base + o * dense.inputs + column)
          }
        }
        out.append(
          Layout(
            name: "layers.\(index).weight", shape: [dense.outputs, dense.inputs], indices: weight))
        let bias = base + dense.outputs * dense.inputs
        out.append(
          Layout(
            name: "layers.\(index).bias", shape: [dense.outputs],
            indices: Array(bias..<(bias + dense.outputs))))
      } else if let conv = layer as? Conv2D {
        let k = conv.kernel
        let cin = conv.shape.channels
        var weight: [Int] = []
        for o in 0..<conv.filters {
          for i in 0..<cin {
            for ky in 0..<k {
              for kx in 0..<k { weight.append(base + ((o * k + ky) * k + kx) * cin + i) }
            }
          }
        }
        out.append(
          Layout(name: "layers.\(index).weight", shape: [conv.filters, cin, k, k], indices: weight))
        let bias = base + conv.filters * k * k * cin
        out.append(
          Layout(
            name: "layers.\(index).bias", shape: [conv.filters],
            indices: Array(bias..<(bias + conv.filters))))
      }
      // Flatten keeps the order: the next Linear reads the image it flattened.
      if !(layer is Flatten) { current = layer.outputShape }
    }
    return out
  }

  /// What a model file says about itself.
  public struct Metadata: Sendable, Equatable {
    /// The `model` block, as JSON text.
    public var architecture: String
    /// The scenario's name.
    public var scenario: String
    /// The scenario's seed.
    public var seed: UInt64
    /// The last round trained (0: the initial model).
    public var round: Int
    /// `(x - offset) * factor` for raw inputs.
    public var normalizer: Normalizer?
    /// SHA-256 of the resolved scenario without `training.rounds`,
    /// `description`, `expect` and `evaluation` (what a resume must match).
    public var fingerprint: String = ""
    /// With the `dp` defense: each round's sampling rate so far, which a
    /// resumed run's privacy accountant composes (a quarantine raises them).
    public var samplingRates: [Double]? = nil
  }

  /// The bytes of a model file.
  /// - Parameters:
  ///   - parameters: the flat parameter vector.
  ///   - network: its network.
  ///   - input: the sample shape.
  ///   - metadata: what to record.
  /// - Returns: the file's bytes.
  static func encode(
    _ parameters: [Float], network: Network, input: Shape, metadata: Metadata
  ) -> [UInt8] {
    let tensors = layouts(network, input: input).map { layout in
      Safetensors.Tensor(
        name: layout.name, shape: layout.shape, values: layout.indices.map { parameters[$0] })
    }
    var meta: [(key: String, value: String)] = [
      ("format", "poisonlab"), ("architecture", metadata.architecture),
      ("input_shape", inputShape(input)), ("classes", String(network.outputCount)),
      ("scenario", metadata.scenario), ("scenario_sha256", metadata.fingerprint),
      ("seed", String(metadata.seed)),
      ("round", String(metadata.round)), ("poisonlab_version", version),
    ]
    if let n = metadata.normalizer {
      let json = JSONValue.object([
        JSONMember("offset", .array(n.offset.map { .number(Double($0)) })),
        JSONMember("factor", .array(n.factor.map { .number(Double($0)) })),
      ])
      meta.append(("normalization", json.serialized()))
    }
    if let rates = metadata.samplingRates {
      meta.append(
        ("privacy_sampling_rates", JSONValue.array(rates.map(JSONValue.number)).serialized()))
    }
    return Safetensors.encode(tensors, metadata: meta)
  }

  /// `[C, H, W]` for images, `[features]` otherwise.
  static func inputShape(_ s: Shape) -> String {
    s.height * s.width > 1 ? "[\(s.channels), \(s.height), \(s.width)]" : "[\(s.count)]"
  }

  /// Writes a model file atomically.
  /// - Throws: `SinkError` when the file cannot be written.
  public static func save(
    _ parameters: [Float], network: Network, input: Shape, metadata: Metadata, to path: String
  ) throws(SinkError) {
    try AtomicFile.write(
      encode(parameters, network: network, input: input, metadata: metadata), to: path)
  }

  /// A model file that does not fit the network, or cannot be read.
  public enum LoadError: Error, Sendable, CustomStringConvertible {
    /// The file is missing, unreadable or corrupt (exit 3).
    case data(DataError)
    /// The file's tensors do not fit the scenario's model (exit 2).
    case mismatch(file: String, reason: String)

    public var description: String {
      switch self {
      case .data(let error): return "\(error)"
      case .mismatch(let file, let reason): return "\(file): \(reason)"
      }
    }
  }

  /// Reads a model file into the parameter vector of `network`.
  /// - Parameters:
  ///   - path: the file.
  ///   - network: the scenario's network.
  ///   - input: the sample shape.
  /// - Returns: the parameters, and the file's round, scenario fingerprint and seed.
  /// - Throws: `LoadError.data` for a missing or corrupt file,
  ///   `LoadError.mismatch` for tensors that do not fit the network.
  public static func load(_ path: String, network: Network, input: Shape) throws(LoadError) -> (
    parameters: [Float], round: Int, fingerprint: String?, seed: UInt64?, normalizer: Normalizer?
  ) {
    let expected = layouts(network, input: input)
    // Whether the file fits the model, from its header alone: a model of
    // another architecture is told apart before its size is judged.
    let header: [JSONMember]
    do {
      header = try Safetensors.headerMembers(Safetensors.headerBytes(ofFile: path), file: path)
        .members
    } catch {
      throw .data(error)
    }
    var shapes = Safetensors.shapes(in: header)
    for layout in expected {
      guard let shape = shapes.removeValue(forKey: layout.name) else {
        if header.contains(where: { $0.key == layout.name }) { continue }  // decode says why
        throw .mismatch(
          file: path,
          reason:
            "has no tensor \(layout.name) (shape \(layout.shape)) that the scenario's model needs")
      }
      guard shape == layout.shape else {
        throw .mismatch(
          file: path,
          reason:
            "tensor \(layout.name) has shape \(shape) but the scenario's model needs \(layout.shape)"
        )
      }
    }
    let needed = Set(expected.map(\.name))
    if let extra = header.map(\.key).filter({ $0 != "__metadata__" && !needed.contains($0) })
      .sorted().first
    {
      throw .mismatch(
        file: path, reason: "holds tensor \(extra), which the scenario's model does not have")
    }
    let bytes: [UInt8]
    do {
      // Header, tensors, and a margin; a larger file is not one of ours.
      bytes = try FileBytes.read(path, limit: network.parameterCount * 4 + (1 << 24))
    } catch {
      throw .data(error)
    }
    let decoded: (tensors: [Safetensors.Tensor], metadata: [String: String])
    do {
      decoded = try Safetensors.decode(bytes, file: path)
    } catch {
      throw .data(error)
    }
    var byName: [String: Safetensors.Tensor] = [:]
    for t in decoded.tensors { byName[t.name] = t }
    var parameters = [Float](repeating: 0, count: network.parameterCount)
    for layout in expected {
      // The header was checked above; the decoded tensors are the same file's.
      guard let tensor = byName.removeValue(forKey: layout.name), tensor.shape == layout.shape
      else {
        throw .data(
          .corrupt(file: path, reason: "changed while it was read (tensor \(layout.name))"))
      }
      if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
        throw .data(
          .corrupt(
            file: path,
            reason:
              "tensor \(layout.name) holds a non-finite value (\(tensor.values[bad]) at element \(bad)); a model that diverged cannot be loaded"
          ))
      }
      for (k, index) in layout.indices.enumerated() { parameters[index] = tensor.values[k] }
    }
    if let extra = byName.keys.sorted().first {
      throw .mismatch(
        file: path, reason: "holds tensor \(extra), which the scenario's model does not have")
    }
    var round = 0
    if let text = decoded.metadata["round"] {
      guard let r = Int(text), rounds.contains(r) else {
        throw .data(
          .corrupt(file: path, reason: "its round \(text) is not a whole number from 0 to 1000000"))
      }
      round = r
    }
    if let text = decoded.metadata["privacy_sampling_rates"] {
      // One rate in [0, 1] per round the file holds (a resumed dp run's
      // epsilon composes them).
      let rates: [JSONValue]? =
        if case .array(let items)? = try? JSONParser.parse(text) { items } else { nil }
      let valid =
        rates.map { items in
          items.count == round
            && items.allSatisfy {
              if case .number(let q) = $0 { (0...1).contains(q) } else { false }
            }
        } ?? false
      guard valid else {
        throw .data(
          .corrupt(
            file: path,
            reason:
              "its privacy_sampling_rates \(text.prefix(80)) is not a list of \(round) rates from 0 to 1, one per round it holds"
          ))
      }
    }
    var normalizer: Normalizer?
    if let text = decoded.metadata["normalization"] {
      normalizer = try normalization(text, features: input.count, file: path)
    }
    return (
      parameters, round, decoded.metadata["scenario_sha256"],
      decoded.metadata["seed"].flatMap { UInt64($0) }, normalizer
    )
  }
  /// The input normalisation a model file records: offsets and factors, one
  /// value for every feature or a single one for all, finite, factors not 0.
  /// - Parameters:
  ///   - text: the `normalization` metadata.
  ///   - features: the input size of the scenario's model.
  ///   - file: the model file (for the error).
  /// - Returns: the normaliser.
  /// - Throws: `LoadError.data` naming the file when the entry is unusable.
  static func normalization(_ text: String, features: Int, file: String) throws(LoadError)
    -> Normalizer
  {
    func corrupt(_ reason: String) -> LoadError {
      .data(.corrupt(file: file, reason: "its normalization metadata \(reason)"))
    }
    guard let json = try? JSONParser.parse(text), case .array(let offset)? = json["offset"],
      case .array(let factor)? = json["factor"]
    else { throw corrupt("is not {\"offset\": [...], \"factor\": [...]}") }
    func floats(_ values: [JSONValue]) -> [Float]? {
      let numbers = values.compactMap { value -> Float? in
        if case .number(let x) = value, Float(x).isFinite { return Float(x) }
        return nil
      }
      return numbers.count == values.count ? numbers : nil
    }
    guard let o = floats(offset), let f = floats(factor) else {
      throw corrupt("holds a value that is not a finite 32-bit number")
    }
    guard o.count == f.count, o.count == 1 || o.count == features else {
      throw corrupt(
        "has \(o.count) offsets and \(f.count) factors; the scenario's model reads \(features) features (1 or \(features) of each)"
      )
    }
    guard !f.contains(0) else { throw corrupt("holds a factor of 0") }
    return Normalizer(offset: o, factor: f)
  }
}
