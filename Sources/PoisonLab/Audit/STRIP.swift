import Foundation

/// STRIP (Gao, Xu, Wang, Chen, Ranasinghe & Nepal, ACSAC 2019): a
/// backdoored model keeps predicting the target class when a triggered
/// input is superimposed with clean images, so its predictions on such
/// blends have low entropy.
///
/// Each input is superimposed with `n` images drawn from the defender's
/// clean samples (stream `("audit", "strip", input)`; a defender's sample
/// being calibrated is never blended with itself), in raw pixel units, then
/// normalised again. How the two images combine is `superimpose`:
/// - `clipped-sum` (default): added and clipped to [0, 255], as
///   `cv2.addWeighted(x, 1, y, 1, 0)` saturates on 8-bit images; for images
///   whose raw values are not pixels (`synthetic`) the range is widened to
///   the defender's samples' own raw range. The project's reference lists
///   this first.
/// - `sum`: added without clipping, what the authors' notebook computes
///   (it scales images to [0, 1] floats first, on which `addWeighted`
///   does not saturate).
/// - `mean`: a 1:1 blend, `(x + y) / 2`, the reference's other variant.
///
/// The input's entropy is the mean over the blends of `-sum p log2 p` of the
/// model's softmax. The threshold sets the false rejection rate on the
/// defender's own clean samples to `frr` (the paper's 1%): by default
/// (`threshold_rule: "quantile"`) it is their empirical `frr` quantile, the
/// `floor(frr * count)`-th smallest entropy; `"normal"` fits a normal
/// distribution to them by maximum likelihood (mean and population
/// standard deviation, SciPy's `norm.fit`) and takes its `frr` quantile,
/// `mu + sigma * Phi^-1(frr)`, as the authors' notebook does. Inputs below
/// the threshold are rejected as trojaned. The audit reports the false
/// rejection rate on the other clean test samples and the false acceptance
/// rate on the triggered inputs made from them (at most `inputs` of each).
/// Image datasets only.
public struct STRIP: AuditMethod {
  public static let descriptor = PluginDescriptor(
    name: "strip",
    summary:
      "entropy of predictions on inputs blended with clean images; low entropy means a trigger",
    reference:
      "Gao, Xu, Wang, Chen, Ranasinghe & Nepal 2019, STRIP: A Defence Against Trojan Attacks on Deep Neural Networks (ACSAC)",
    parameters: [
      ParameterSpec(
        "n", .integer(min: 2, max: 10_000), default: .number(100),
        doc: "clean images blended with each input"),
      ParameterSpec(
        "frr", .number(min: 0, max: 1, minOpen: true, maxOpen: true), default: .number(0.01),
        doc: "false rejection rate on the defender's clean samples that sets the threshold"),
      ParameterSpec(
        "inputs", .integer(min: 1, max: 1_000_000), default: .number(1000),
        doc: "clean and triggered test inputs examined (at most)"),
      ParameterSpec(
        "threshold_rule", .choice(["quantile", "normal"]), default: .string("quantile"),
        doc:
          "quantile: the empirical frr quantile of the defender's clean entropies; normal: the frr quantile of a normal fitted to them (the authors' notebook)"
      ),
      ParameterSpec(
        "superimpose", .choice(["clipped-sum", "sum", "mean"]), default: .string("clipped-sum"),
        doc:
          "how an input and a clean image combine, in raw pixels: clipped-sum adds and clips to [0, 255]; sum adds (the authors' notebook, on [0, 1] floats); mean averages"
      ),
      cleanSizeSpec,
    ],
    notes: ["image datasets only"])

  public let n: Int
  public let frr: Double
  public let inputs: Int
  /// `clipped-sum`, `sum` or `mean`.
  public let superimpose: String
  /// Whether the threshold is a fitted normal's quantile (else the empirical one).
  public let normalThreshold: Bool
  public let cleanSize: Int
  /// Whether `clean_size` was given.
  public let cleanSizeGiven: Bool

  public init?(_ parameters: Parameters, context: ScenarioContext, validator: inout SchemaValidator)
  {
    if context.isImage == false {
      validator.fail(
        parameters.path("name"),
        "strip blends images and needs an image dataset (fashion-mnist, mnist, cifar10, synthetic images)"
      )
      return nil
    }
    n = parameters.int("n") ?? 100
    frr = parameters.double("frr") ?? 0.01
    inputs = parameters.int("inputs") ?? 1000
    superimpose = parameters.string("superimpose") ?? "clipped-sum"
    normalThreshold = parameters.string("threshold_rule") == "normal"
    cleanSize = parameters.int("clean_size") ?? 1000
    cleanSizeGiven = parameters.given.contains("clean_size")
  }

  public func audit(_ input: AuditInput) throws(RunFailure) -> AuditFindings {
    var findings = AuditFindings(method: Self.descriptor.name)
    let (pool, rest, triggeredProbe) = input.split(for: self)
    let clean = rest.subset(Array(0..<min(inputs, rest.count)))
    findings.cleanEntropies = entropies(
      of: pool, pool: pool, input: input, seed: "calibration", inPool: true)
    guard
      let threshold = Self.threshold(findings.cleanEntropies, frr: frr, normal: normalThreshold)
    else {
      return findings
    }
    findings.threshold = threshold
    findings.targetFalseRejection = frr
    let test = entropies(of: clean, pool: pool, input: input, seed: "clean")
    findings.falseRejection =
      Double(test.filter { $0 < threshold }.count) / Double(max(1, test.count))
    if let probe = triggeredProbe, probe.inputs.count > 0 {
      let triggered = probe.inputs.subset(Array(0..<min(inputs, probe.inputs.count)))
      findings.triggeredEntropies = entropies(
        of: triggered, pool: pool, input: input, seed: "triggered")
      findings.falseAcceptance =
        Double(findings.triggeredEntropies.filter { $0 >= threshold }.count)
        / Double(findings.triggeredEntropies.count)
    }
    findings.cleanEntropies = test
    return findings
  }

  /// The entropy below which inputs are rejected: the `frr` quantile of the
  /// defender's clean entropies, the `floor(frr * count)`-th smallest
  /// (0-based), so that a share `frr` of them falls below it, or with
  /// `normal` the `frr` quantile of the normal fitted to them (mean and
  /// population standard deviation); nil for none.
  /// - Parameters:
  ///   - entropies: the defender's clean samples' entropies.
  ///   - frr: the false rejection rate to set it at.
  ///   - normal: fit a normal instead of taking the empirical quantile.
  /// - Returns: the threshold.
  static func threshold(_ entropies: [Double], frr: Double, normal: Bool = false) -> Double? {
    let sorted = entropies.sorted()
    guard !sorted.isEmpty else { return nil }
    if normal {
      let count = Double(sorted.count)
      let mean = sorted.reduce(0, +) / count
      let variance = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
      return mean + variance.squareRoot() * inverseNormalCDF(frr)
    }
    return sorted[
      min(sorted.count - 1, max(0, Int(count: frr * Double(sorted.count), rounding: .down)))]
  }

  /// The `n` blends of one input, their logits and the evaluator's buffers
  /// for a batch of them.
  public func workingBytes(features: Int, network: Network) -> Int {
    n.multipliedSaturating(features + network.outputCount).multipliedSaturating(4)
      .addingSaturating(Evaluator.workspaceBytes(network: network))
  }

  /// The mean prediction entropy of each sample of `data` over `n` blends.
  ///
  /// Inputs are spread over `input.threads` workers, each with an evaluator
  /// of its own; every input draws its blends from its own stream and
  /// writes its own entry, so the result does not depend on the workers.
  /// With `inPool`, `data` is `pool` and input `i` is never blended with
  /// pool image `i`.
  func entropies(
    of data: Dataset, pool: Dataset, input: AuditInput, seed: String, inPool: Bool = false
  ) -> [Double] {
    let d = data.shape.count
    let norm = input.normalizer
    func raw(_ x: Float, _ j: Int) -> Float {
      let k = norm.offset.count == 1 ? 0 : j
      return x / norm.factor[k] + norm.offset[k]
    }
    // Inputs and pool in raw units, once (each blend reads n pool images).
    func rawValues(_ set: Dataset) -> [Float] {
      var values = [Float](repeating: 0, count: set.count * d)
      for i in 0..<set.count {
        for j in 0..<d { values[i * d + j] = raw(set.features[i * d + j], j) }
      }
      return values
    }
    let rawPool = rawValues(pool)
    let rawData = rawValues(data)
    // Pixels saturate at [0, 255]; raw values outside it (not pixels) widen
    // the range. Only clipped-sum clips (a mean stays within the range).
    let clips = superimpose == "clipped-sum"
    let low = clips ? min(0, rawPool.min() ?? 0) : -Float.infinity
    let high = clips ? max(255, rawPool.max() ?? 255) : Float.infinity
    let scale: Float = superimpose == "mean" ? 0.5 : 1
    let workers = max(1, min(input.threads, data.count))
    let evaluators = (0..<workers).map { _ in Evaluator(network: input.network) }
    var out = [Double](repeating: 0, count: data.count)
    out.withUnsafeMutableBufferPointer { entries in
      guard let target = entries.baseAddress else { return }
      let shared = Unchecked((target, evaluators, rawPool, rawData, data, input))
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        let (target, evaluators, rawPool, rawData, data, input) = shared.value
        for i in stride(from: worker, to: data.count, by: workers) {
          target[i] = entropy(
            of: rawData[(i * d)..<((i + 1) * d)], index: i, in: data, rawPool: rawPool,
            range: (low, high), scale: scale, skip: inPool ? i : nil, input: input, seed: seed,
            evaluator: evaluators[worker])
        }
      }
    }
    return out
  }

  /// Input `i`'s mean prediction entropy over its `n` blends (`sample`: its
  /// raw values; each blend `clip((x + y) * scale, range)` with a pool image
  /// `y` other than `skip`).
  private func entropy(
    of sample: ArraySlice<Float>, index i: Int, in data: Dataset, rawPool: [Float],
    range: (low: Float, high: Float), scale: Float, skip: Int?, input: AuditInput, seed: String,
    evaluator: Evaluator
  ) -> Double {
    let d = data.shape.count
    let norm = input.normalizer
    let poolCount = rawPool.count / max(1, d)
    let wide = norm.offset.count != 1
    var rng = input.seeds.generator("audit", "strip", seed, i)
    let first = sample.startIndex
    var blends = [Float](repeating: 0, count: n * d)
    let choices = skip == nil ? poolCount : poolCount - 1
    for b in 0..<n {
      var p = rng.nextInt(below: max(1, choices))
      if let skip, p >= skip, choices > 0 { p += 1 }
      for j in 0..<d {
        let k = wide ? j : 0
        let sum = min(
          max((sample[first + j] + rawPool[p * d + j]) * scale, range.low), range.high)
        blends[b * d + j] = (sum - norm.offset[k]) * norm.factor[k]
      }
    }
    let set = Dataset(
      features: blends, labels: [Int32](repeating: 0, count: n), shape: data.shape,
      classes: data.classes, isImage: data.isImage)
    let classes = input.network.outputCount
    let logits = evaluator.activations(
      parameters: input.parameters, on: set, layer: input.network.layers.count - 1)
    var total = 0.0
    for b in 0..<n {
      let row = logits[(b * classes)..<((b + 1) * classes)].map(Double.init)
      let top = row.max() ?? 0
      let exps = row.map { exp($0 - top) }
      let z = exps.reduce(0, +)
      for e in exps where e > 0 {
        let q = e / z
        total -= q * log2(q)
      }
    }
    return total / Double(n)
  }
}

extension STRIP {
  /// The entropy histograms of STRIP's findings as an SVG chart: the share
  /// of clean and of triggered inputs per entropy bin (`bins` equal bins
  /// over the observed range), and the threshold as a dashed vertical line.
  /// - Parameters:
  ///   - findings: what the audit found.
  ///   - title: the chart title.
  ///   - bins: the number of bins.
  /// - Returns: the SVG document.
  public static func histogram(_ findings: AuditFindings, title: String, bins: Int = 30) -> String {
    let all = findings.cleanEntropies + findings.triggeredEntropies
    let low = all.min() ?? 0
    let high = max(all.max() ?? 1, low + 1e-9)
    let width = (high - low) / Double(bins)
    func shares(_ values: [Double]) -> [(Double, Double)] {
      guard !values.isEmpty else { return [] }
      var counts = [Double](repeating: 0, count: bins)
      for v in values { counts[min(bins - 1, Int((v - low) / width))] += 1 }
      // A step outline: each bin's share held across its width, closed
      // at 0 one bin beyond either end (so that no bin sits on the frame).
      var points: [(Double, Double)] = [(low - width, 0), (low, 0)]
      for (b, c) in counts.enumerated() {
        let share = c / Double(values.count)
        points.append((low + Double(b) * width, share))
        points.append((low + Double(b + 1) * width, share))
      }
      return points + [(high, 0), (high + width, 0)]
    }
    let clean = shares(findings.cleanEntropies)
    let triggered = shares(findings.triggeredEntropies)
    let top = max((clean + triggered).map(\.1).max() ?? 1, 0.05)
    // Step outlines: no markers on their corners.
    var series = [SVGChart.Series(name: "clean inputs", points: clean, style: 0, markers: false)]
    if !triggered.isEmpty {
      series.append(
        SVGChart.Series(name: "triggered inputs", points: triggered, style: 1, markers: false))
    }
    if let t = findings.threshold {
      let percent = (findings.targetFalseRejection ?? 0.01) * 100
      let shown =
        percent == percent.rounded() ? String(Int(percent)) : String(format: "%.2g", percent)
      series.append(
        SVGChart.Series(
          name: "threshold (\(shown)% FRR)", points: [(t, 0), (t, top * 1.1)], dashed: true,
          neutral: true))
    }
    return SVGChart.lines(
      title: title, xLabel: "mean prediction entropy (bits) over the blends",
      yLabel: "share of inputs", series: series, yRange: 0...(top * 1.1), integerX: false)
  }
}
