import PoisonLab
import Testing

@Suite("SGD and training")
struct TrainingTests {
  @Test("SGD matches PyTorch's update with momentum and weight decay (hand-computed)")
  func sgdGolden() {
    // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), w0 = [1, -2],
    // grads [0.5, 0.25] then [0.5, 0.25]:
    // step 1: g = [0.51, 0.23], v = g, w = [0.949, -2.023]
    // step 2: g = [0.5 + 0.00949, 0.25 - 0.02023] = [0.50949, 0.22977]
    //         v = 0.9 * [0.51, 0.23] + g = [0.96849, 0.43677], w = [0.852151, -2.066677]
    let sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    var w: [Float] = [1, -2]
    var v: [Float] = [0, 0]
    for _ in 0..<2 {
      var g: [Float] = [0.5, 0.25]
      sgd.step(parameters: &w, gradient: &g, velocity: &v, count: 2)
    }
    #expect(allClose(w, [0.852_151, -2.066_677], rtol: 1e-5))
    #expect(allClose(v, [0.968_49, 0.436_77], rtol: 1e-5))
  }

  @Test("plain SGD is w -= lr * grad")
  func sgdPlain() {
    var w: [Float] = [1, 2, 3]
    var g: [Float] = [1, -1, 0.5]
    var v: [Float] = [0, 0, 0]
    SGD(learningRate: 0.5).step(parameters: &w, gradient: &g, velocity: &v, count: 3)
    #expect(allClose(w, [0.5, 2.5, 2.75]))
  }

  @Test("an epoch visits every sample once, the last partial batch included")
  func partialBatch() {
    let net = MLPModel.network(input: Shape(features: 3), classes: 2, hidden: [4])
    var rng = SplitMix64(seed: 1)
    var p = net.initialParameters(using: &rng)
    let data = Dataset(
      features: gaussian(10 * 3, seed: 2), labels: (0..<10).map { Int32($0 % 2) },
      shape: Shape(features: 3), classes: 2, isImage: false)
    let trainer = Trainer(network: net, batchSize: 4, optimizer: SGD(learningRate: 0.1))
    var shuffle = SplitMix64(seed: 3)
    let result = trainer.train(parameters: &p, on: data, rng: &shuffle)
    #expect(result.samples == 10)
    #expect(result.isFinite)
  }

  @Test("PyTorch default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))")
  func initialisation() {
    let net = Network(layers: [Dense(inputs: 400, outputs: 300)])
    var rng = SplitMix64(seed: 5)
    let p = net.initialParameters(using: &rng)
    let bound: Float = 1 / 20
    #expect(p.allSatisfy { abs($0) <= bound })
    let mean = p.reduce(0.0) { $0 + Double($1) } / Double(p.count)
    let variance = p.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(p.count)
    #expect(abs(mean) < 2e-4)
    // U(-b, b) has variance b^2 / 3.
    #expect(isClose(variance, Double(bound * bound) / 3, rtol: 0.02))
  }

  @Test("seeded convergence: an MLP separates synthetic classes (seed 11)")
  func convergence() throws {
    let s = try scenario(
      """
      {"name": "c", "seed": 11, "dataset": {"name": "synthetic", "classes": 3, "features": 10, "train_size": 600, "test_size": 300, "separation": 4},
       "model": {"name": "mlp", "hidden": [16]}, "training": {"rounds": 5, "batch_size": 16, "learning_rate": 0.1}}
      """)
    var records: [MetricRecord] = []
    try Experiment(scenario: s, threads: 1).run { records.append($0) }
    let first = try #require(records.first)
    let last = try #require(records.last)
    #expect(last.accuracy > 0.9)
    #expect(last.loss < first.loss)
  }

  @Test("XOR is learned by a 2-8-2 MLP (S4TF-style trivial model)")
  func xor() throws {
    let net = MLPModel.network(input: Shape(features: 2), classes: 2, hidden: [8])
    var rng = SplitMix64(seed: 9)
    var p = net.initialParameters(using: &rng)
    let data = Dataset(
      features: [0, 0, 0, 1, 1, 0, 1, 1], labels: [0, 1, 1, 0], shape: Shape(features: 2),
      classes: 2,
      isImage: false)
    let trainer = Trainer(
      network: net, batchSize: 4, optimizer: SGD(learningRate: 0.5, momentum: 0.9))
    var shuffle = SplitMix64(seed: 10)
    _ = trainer.train(parameters: &p, on: data, rng: &shuffle, steps: 500)
    #expect(Evaluator(network: net).evaluate(parameters: p, on: data).accuracy == 1)
  }

  @Test("parallel evaluation equals single-threaded evaluation exactly")
  func parallelEvaluation() {
    let net = MLPModel.network(input: Shape(features: 5), classes: 3, hidden: [7])
    var rng = SplitMix64(seed: 12)
    let p = net.initialParameters(using: &rng)
    let data = Dataset(
      features: gaussian(2500 * 5, seed: 13), labels: (0..<2500).map { Int32($0 % 3) },
      shape: Shape(features: 5), classes: 3, isImage: false)
    let one = Evaluator.evaluate(
      parameters: p, on: data, using: [Evaluator(network: net, maxBatch: 300)])
    let three = Evaluator.evaluate(
      parameters: p, on: data, using: (0..<3).map { _ in Evaluator(network: net, maxBatch: 300) })
    #expect(one == three)
  }
}
