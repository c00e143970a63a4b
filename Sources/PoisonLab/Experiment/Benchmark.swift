import Dispatch

/// The measurements of `poisonlab bench` (and `make bench`).
///
/// The linked BLAS's sgemm peak, training and evaluation throughput of a network on
/// synthetic data, one W1 round, and the aggregation rules on a large
/// update matrix. Timings are wall-clock; nothing here runs in the tests'
/// assertions (speed is measured by `make bench`, not by a timed test).
public enum Benchmark {
  /// GFLOP/s of an n x n x n sgemm on `threads` BLAS threads, best of `repeats`.
  /// - Parameters:
  ///   - n: the matrices' size.
  ///   - threads: BLAS threads.
  ///   - repeats: measurements (the best counts).
  /// - Returns: GFLOP/s.
  public static func sgemmPeak(n: Int, threads: Int, repeats: Int) -> Double {
    BLAS.setThreads(threads)
    var rng = SplitMix64(seed: 7)
    let a = (0..<(n * n)).map { _ in rng.nextUnitFloat() }
    let b = (0..<(n * n)).map { _ in rng.nextUnitFloat() }
    var c = [Float](repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0..<max(1, repeats) {
      let start = DispatchTime.now().uptimeNanoseconds
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            if let x = pa.baseAddress, let y = pb.baseAddress, let z = pc.baseAddress {
              BLAS.gemm(.none, .none, m: n, n: n, k: n, a: x, lda: n, b: y, ldb: n, c: z, ldc: n)
            }
          }
        }
      }
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    return 2 * Double(n * n * n) / best / 1e9
  }

  /// Gaussian features and labels cycling through 10 classes.
  /// - Parameters:
  ///   - shape: each sample's shape.
  ///   - count: samples.
  ///   - seed: the features' seed.
  /// - Returns: the dataset.
  public static func randomData(shape: Shape, count: Int, seed: UInt64) -> Dataset {
    var rng = SplitMix64(seed: seed)
    let features = (0..<(count * shape.count)).map { _ in Float(rng.nextGaussian()) }
    let labels = (0..<count).map { Int32($0 % 10) }
    return Dataset(features: features, labels: labels, shape: shape, classes: 10, isImage: true)
  }

  /// Samples per second of `trainers` concurrent trainers (one per thread,
  /// batch 32, one epoch each), after a warm-up of 20 steps.
  /// - Parameters:
  ///   - network: the network.
  ///   - data: the training data.
  ///   - trainers: concurrent trainers.
  /// - Returns: samples per second over all trainers.
  public static func trainingRate(network: Network, data: Dataset, trainers: Int) -> Double {
    // One trainer per thread, never shared between threads.
    let shared = (0..<trainers).map { _ in
      Unchecked(Trainer(network: network, batchSize: 32, optimizer: SGD(learningRate: 0.01)))
    }
    var init0 = SplitMix64(seed: 3)
    let start = network.initialParameters(using: &init0)
    for box in shared {
      var p = start
      var rng = SplitMix64(seed: 4)
      _ = box.value.train(parameters: &p, on: data, rng: &rng, steps: 20)
    }
    let began = DispatchTime.now().uptimeNanoseconds
    DispatchQueue.concurrentPerform(iterations: trainers) { t in
      var p = start
      var rng = SplitMix64(seed: UInt64(t))
      _ = shared[t].value.train(parameters: &p, on: data, rng: &rng)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) * 1e-9
    return Double(data.count * trainers) / seconds
  }

  /// Samples per second of evaluation on `workers` threads, after a warm-up pass.
  /// - Parameters:
  ///   - network: the network.
  ///   - data: the test data.
  ///   - workers: evaluation threads.
  /// - Returns: samples per second.
  public static func evaluationRate(network: Network, data: Dataset, workers: Int) -> Double {
    let evaluators = (0..<max(1, workers)).map { _ in Evaluator(network: network) }
    var rng = SplitMix64(seed: 5)
    let parameters = network.initialParameters(using: &rng)
    _ = Evaluator.evaluate(parameters: parameters, on: data, using: evaluators)
    let began = DispatchTime.now().uptimeNanoseconds
    _ = Evaluator.evaluate(parameters: parameters, on: data, using: evaluators)
    return Double(data.count) / (Double(DispatchTime.now().uptimeNanoseconds - began) * 1e-9)
  }

  /// Seconds of one W1 round: the mean `seconds` of rounds 2 and 3 of a
  /// synthetic W1 run (round 1 pays for warm-up; evaluation is on 100 samples).
  /// - Parameter threads: the run's threads.
  /// - Returns: the seconds and the round's training FLOPs.
  /// - Throws: the run's failure.
  public static func w1Round(threads: Int) throws -> (seconds: Double, flops: Double) {
    let text = """
      {"name": "bench-w1", "dataset": {"name": "synthetic", "classes": 10, "shape": [28, 28, 1], "train_size": 60000,
       "test_size": 100, "separation": 10}, "model": {"name": "mlp", "hidden": [200, 200]},
       "training": {"rounds": 3, "local_epochs": 1, "batch_size": 32, "learning_rate": 0.05},
       "federation": {"clients": 20}, "defense": {"name": "fedavg"}}
      """
    let s = try ScenarioLoader.decode(text, source: "bench")
    var seconds: [Double] = []
    try Experiment(scenario: s, threads: threads).run { record in
      if record.kind == .round && record.round > 1 { seconds.append(record.seconds) }
    }
    let network = MLPModel.network(input: Shape(height: 28, width: 28, channels: 1))
    return (
      seconds.reduce(0, +) / Double(max(1, seconds.count)),
      Double(network.trainingFlopsPerSample) * 60_000
    )
  }

  /// Seconds of krum, the median, trimmed-mean, geometric-median and fedavg
  /// on `n` uniform updates of `d` values.
  /// - Parameters:
  ///   - n: updates.
  ///   - d: values per update.
  ///   - threads: the rules' threads.
  /// - Returns: each rule's name and seconds.
  /// - Throws: a rule's failure.
  public static func aggregationTimes(n: Int, d: Int, threads: Int) throws -> [(String, Double)] {
    var rng = SplitMix64(seed: 9)
    let values = (0..<(n * d)).map { _ in rng.nextUnitFloat() - 0.5 }
    let set = UpdateSet(values: values, count: n, dimension: d)
    let rules: [(String, any Aggregator)] = [
      ("krum (f = 10)", Krum(f: 10)), ("median", CoordinateMedian()),
      ("trimmed-mean (f = 10)", TrimmedMean(f: 10)),
      ("geometric-median", GeometricMedian()), ("fedavg", FedAvg()),
    ]
    var out: [(String, Double)] = []
    for (name, rule) in rules {
      var r = rule
      let began = DispatchTime.now().uptimeNanoseconds
      _ = try r.aggregate(set, context: DefenseContext(round: 1, threads: threads))
      out.append((name, Double(DispatchTime.now().uptimeNanoseconds - began) * 1e-9))
    }
    return out
  }
}
