// swift-format-ignore-file: NeverForceUnwrap

// (non-empty buffers handed to layers; a nil base address is impossible here)
import PoisonLab
import Testing

/// Finite-difference checks of every layer, the loss and whole networks.
///
/// For f(x, w) = <g, layer(x; w)> with random g, the analytic input and parameter gradients from
/// `backward` must match central differences. Float32 with eps = 1e-2 (seeded; seeds named
/// per test).
@Suite("Finite-difference gradients")
struct GradientTests {
  /// Runs the layer forward and returns <g, y> in double precision.
  static func objective(_ layer: any Layer, batch: Int, x: [Float], w: [Float], g: [Float])
    -> Double
  {
    var y = [Float](repeating: 0, count: batch * layer.outputShape.count)
    var scratch = [Float](
      repeating: 0, count: max(1, layer.scratchCount(batch: batch, needsInputGradient: true)))
    x.withUnsafeBufferPointer { xp in
      w.withUnsafeBufferPointer { wp in
        y.withUnsafeMutableBufferPointer { yp in
          scratch.withUnsafeMutableBufferPointer { sp in
            layer.forward(
              batch: batch, input: xp.baseAddress!, output: yp.baseAddress!,
              parameters: wp.baseAddress ?? UnsafePointer(sp.baseAddress!), scratch: sp.baseAddress!
            )
          }
        }
      }
    }
    return zip(y, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
  }

  /// Checks analytic against numeric gradients; returns the worst mismatch description or nil.
  static func check(_ layer: any Layer, batch: Int, seed: UInt64, tolerance: Double = 2e-2)
    -> String?
  {
    let x = gaussian(batch * layer.inputShape.count, seed: seed)
    var w = gaussian(layer.parameterCount, seed: seed &+ 1, scale: 0.5)
    let g = gaussian(batch * layer.outputShape.count, seed: seed &+ 2)
    var y = [Float](repeating: 0, count: g.count)
    var dx = [Float](repeating: 0, count: x.count)
    var dw = [Float](repeating: 0, count: max(1, w.count))
    var scratch = [Float](
      repeating: 0, count: max(1, layer.scratchCount(batch: batch, needsInputGradient: true)))
    let wStore = w.isEmpty ? [Float(0)] : w
    x.withUnsafeBufferPointer { xp in
      wStore.withUnsafeBufferPointer { wp in
        y.withUnsafeMutableBufferPointer { yp in
          scratch.withUnsafeMutableBufferPointer { sp in
            dx.withUnsafeMutableBufferPointer { dxp in
              dw.withUnsafeMutableBufferPointer { dwp in
                g.withUnsafeBufferPointer { gp in
                  layer.forward(
                    batch: batch, input: xp.baseAddress!, output: yp.baseAddress!,
                    parameters: wp.baseAddress!, scratch: sp.baseAddress!)
                  layer.backward(
                    batch: batch, input: xp.baseAddress!, output: UnsafePointer(yp.baseAddress!),
                    outputGradient: gp.baseAddress!, inputGradient: dxp.baseAddress!,
                    parameters: wp.baseAddress!, parameterGradient: dwp.baseAddress!,
                    scratch: sp.baseAddress!)
                }
              }
            }
          }
        }
      }
    }
    let eps: Float = 1e-2
    func compare(_ analytic: Float, _ numeric: Double, _ what: String) -> String? {
      isClose(Double(analytic), numeric, rtol: tolerance, atol: tolerance * 0.5)
        ? nil : "\(what): analytic \(analytic) vs numeric \(numeric)"
    }
    var xs = x
    for i in 0..<x.count {
      xs[i] = x[i] + eps
      let up = objective(layer, batch: batch, x: xs, w: wStore, g: g)
      xs[i] = x[i] - eps
      let down = objective(layer, batch: batch, x: xs, w: wStore, g: g)
      xs[i] = x[i]
      if let problem = compare(dx[i], (up - down) / Double(2 * eps), "dx[\(i)]") { return problem }
    }
    for i in 0..<layer.parameterCount {
      let saved = w[i]
      w[i] = saved + eps
      let up = objective(layer, batch: batch, x: x, w: w, g: g)
      w[i] = saved - eps
      let down = objective(layer, batch: batch, x: x, w: w, g: g)
      w[i] = saved
      if let problem = compare(dw[i], (up - down) / Double(2 * eps), "dw[\(i)]") { return problem }
    }
    return nil
  }

  @Test("dense", arguments: [11 as UInt64, 12])
  func dense(seed: UInt64) {
    #expect(Self.check(Dense(inputs: 5, outputs: 4), batch: 3, seed: seed) == nil)
  }

  @Test("relu (inputs away from the kink)")
  func relu() {
    #expect(Self.check(ReLU(shape: Shape(features: 12)), batch: 2, seed: 21) == nil)
  }

  @Test("conv2d with padding and several channels", arguments: [(3, 1), (3, 0), (5, 2)])
  func conv(kernel: Int, padding: Int) {
    let layer = Conv2D(
      shape: Shape(height: 5, width: 6, channels: 2), filters: 3, kernel: kernel, padding: padding)
    #expect(Self.check(layer, batch: 2, seed: 31) == nil)
  }

  @Test("conv2d in chunks of 1 and 2 samples (batch 3: a partial last chunk)", arguments: [1, 2])
  func convChunks(chunk: Int) {
    let layer = Conv2D(
      shape: Shape(height: 5, width: 6, channels: 2), filters: 3, kernel: 3, padding: 1,
      chunk: chunk)
    #expect(layer.samplesPerChunk == chunk)
    #expect(Self.check(layer, batch: 3, seed: 32) == nil)
    // The forward pass is the same product row by row: identical to one chunk.
    let whole = Conv2D(
      shape: Shape(height: 5, width: 6, channels: 2), filters: 3, kernel: 3, padding: 1)
    #expect(whole.samplesPerChunk >= 3)
    let input = gaussian(3 * layer.inputShape.count, seed: 33)
    var rng = SplitMix64(seed: 34)
    var parameters = [Float](repeating: 0, count: layer.parameterCount)
    parameters.withUnsafeMutableBufferPointer { layer.initialize($0, using: &rng) }
    func forward(_ l: Conv2D) -> [Float] {
      var out = [Float](repeating: 0, count: 3 * l.outputShape.count)
      var scratch = [Float](
        repeating: 0, count: max(1, l.scratchCount(batch: 3, needsInputGradient: false)))
      l.forward(batch: 3, input: input, output: &out, parameters: parameters, scratch: &scratch)
      return out
    }
    #expect(forward(layer) == forward(whole))
  }

  @Test("the FedAvg CNN's second convolution: chunks of 1 sample give the one-chunk gradients")
  func convChunksTight() {
    let shape = Shape(height: 14, width: 14, channels: 32)
    let one = Conv2D(shape: shape, filters: 64, kernel: 5, padding: 2, chunk: 5)
    let chunked = Conv2D(shape: shape, filters: 64, kernel: 5, padding: 2, chunk: 1)
    let batch = 5
    let x = gaussian(batch * shape.count, seed: 35)
    let w = gaussian(one.parameterCount, seed: 36, scale: 0.05)
    let g = gaussian(batch * one.outputShape.count, seed: 37)
    func gradients(_ layer: Conv2D) -> (dx: [Float], dw: [Float]) {
      var y = [Float](repeating: 0, count: g.count)
      var dx = [Float](repeating: 0, count: x.count)
      var dw = [Float](repeating: 0, count: w.count)
      var scratch = [Float](
        repeating: 0, count: layer.scratchCount(batch: batch, needsInputGradient: true))
      layer.forward(batch: batch, input: x, output: &y, parameters: w, scratch: &scratch)
      layer.backward(
        batch: batch, input: x, output: y, outputGradient: g, inputGradient: &dx, parameters: w,
        parameterGradient: &dw, scratch: &scratch)
      return (dx, dw)
    }
    let a = gradients(one)
    let b = gradients(chunked)
    // The input gradient is the same products row by row, but OpenBLAS may
    // pick another kernel for another row count (bit-equal on one machine,
    // within a few ulps on another, AVX2 only); the weight gradient sums the
    // same terms in another order.
    func worst(_ u: [Float], _ v: [Float]) -> Float {
      zip(u, v).reduce(0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.0))) }
    }
    #expect(worst(a.dx, b.dx) < 1e-5, "\(worst(a.dx, b.dx))")
    #expect(worst(a.dw, b.dw) < 1e-4)
  }

  @Test("max-pool 2x2, odd sizes dropped")
  func maxPool() {
    #expect(
      Self.check(MaxPool2D(shape: Shape(height: 5, width: 4, channels: 3)), batch: 2, seed: 41)
        == nil)
  }

  @Test("flatten")
  func flatten() {
    #expect(
      Self.check(Flatten(shape: Shape(height: 2, width: 3, channels: 2)), batch: 2, seed: 51) == nil
    )
  }

  @Test("softmax cross-entropy gradient of the mean loss")
  func loss() {
    let batch = 3
    let classes = 4
    let z = gaussian(batch * classes, seed: 61, scale: 2)
    let labels: [Int32] = [0, 3, 1]
    var grad = [Float](repeating: 0, count: z.count)
    let total = SoftmaxCrossEntropy.evaluate(
      logits: z, labels: labels, batch: batch, classes: classes, gradient: &grad)
    let eps: Float = 1e-2
    for i in 0..<z.count {
      var up = z
      up[i] += eps
      var down = z
      down[i] -= eps
      let numeric =
        (SoftmaxCrossEntropy.evaluate(logits: up, labels: labels, batch: batch, classes: classes)
          - SoftmaxCrossEntropy.evaluate(
            logits: down, labels: labels, batch: batch, classes: classes))
        / Double(2 * eps) / Double(batch)
      #expect(isClose(Double(grad[i]), numeric, rtol: 1e-2, atol: 1e-3))
    }
    #expect(total.isFinite)
  }

  @Test("loss is stable for huge logits and matches the closed form")
  func lossStability() {
    // logits [1000, 0]: loss for label 0 is log(1 + e^-1000) ~ 0, for label 1 ~ 1000.
    let z: [Float] = [1000, 0, 1000, 0]
    let total = SoftmaxCrossEntropy.evaluate(logits: z, labels: [0, 1], batch: 2, classes: 2)
    #expect(isClose(total, 1000, rtol: 1e-6))
    // logits [1, 2, 3], label 2: log(e^1 + e^2 + e^3) - 3 = 0.40760596
    let small = SoftmaxCrossEntropy.evaluate(logits: [1, 2, 3], labels: [2], batch: 1, classes: 3)
    #expect(isClose(small, 0.407_605_96, rtol: 1e-5))
  }

  @Test("a whole network's flat gradient matches finite differences (mlp and cnn)")
  func network() throws {
    let nets = [
      MLPModel.network(input: Shape(features: 6), classes: 3, hidden: [5]),
      CNNModel.network(
        input: Shape(height: 6, width: 6, channels: 1), classes: 3, channels: [2], kernel: 3,
        dense: [4]),
    ]
    for net in nets {
      var rng = SplitMix64(seed: 71)
      let start = net.initialParameters(using: &rng)
      let data = Dataset(
        features: gaussian(4 * net.inputShape.count, seed: 72), labels: [0, 1, 2, 1],
        shape: net.inputShape, classes: 3, isImage: false)
      // One SGD step with lr 1 moves the parameters by exactly -gradient.
      let trainer = Trainer(network: net, batchSize: 4, optimizer: SGD(learningRate: 1))
      var stepped = start
      var shuffle = SplitMix64(seed: 1)
      _ = trainer.train(parameters: &stepped, on: data, rng: &shuffle, steps: 1)
      let evaluator = Evaluator(network: net)
      // A small step keeps the finite difference from crossing ReLU/max-pool kinks.
      let eps: Float = 1e-3
      var checked = 0
      for i in stride(from: 0, to: start.count, by: max(1, start.count / 40)) {
        var up = start
        up[i] += eps
        var down = start
        down[i] -= eps
        let numeric =
          (evaluator.evaluate(parameters: up, on: data).meanLoss
            - evaluator.evaluate(parameters: down, on: data).meanLoss) / Double(2 * eps)
        let analytic = Double(start[i] - stepped[i])
        #expect(
          isClose(analytic, numeric, rtol: 3e-2, atol: 2e-3),
          "parameter \(i): \(analytic) vs \(numeric)")
        checked += 1
      }
      #expect(checked > 20)
    }
  }
}
