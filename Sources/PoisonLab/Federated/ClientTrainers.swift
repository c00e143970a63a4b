import Dispatch

/// One trainer and one parameter buffer per worker thread; trains a round's
/// clients in parallel.
///
/// Client `j` of a round is trained by worker `j % workers`, from the global
/// weights, with its own random stream, and writes `local - global` into row
/// `j` of the output: the rows do not depend on the number of workers.
final class ClientTrainers {
  private let network: Network
  private let trainers: [Trainer]
  /// One per worker; the array itself is never mutated, so workers share
  /// it read-only and each writes only its own buffer's values.
  private let buffers: [ParameterBuffer]

  /// A worker's parameters.
  private final class ParameterBuffer {
    var values: [Float]
    init(count: Int) { values = [Float](repeating: 0, count: count) }
  }

  init(network: Network, batchSize: Int, optimizer: SGD, workers: Int) {
    self.network = network
    trainers = (0..<max(1, workers)).map { _ in
      Trainer(network: network, batchSize: batchSize, optimizer: optimizer)
    }
    buffers = (0..<max(1, workers)).map { _ in ParameterBuffer(count: network.parameterCount) }
  }

  /// A client's local training job.
  struct Job {
    /// The client's data.
    var data: Dataset
    /// The client's random stream for this round.
    var rng: SplitMix64
    /// Local epochs overriding the round's (a malicious client's own schedule).
    var epochs: Int? = nil
    /// Learning rate overriding the scenario's.
    var learningRate: Float? = nil
  }

  /// Trains every job from `global`.
  ///
  /// A client whose loss or weights became non-finite gets a NaN row.
  /// - Parameters:
  ///   - jobs: the clients to train.
  ///   - global: the global parameters.
  ///   - epochs: local epochs (when `steps` is nil).
  ///   - steps: fixed local steps, or nil.
  ///   - progress: called after each client with the number done (on the calling thread's
  ///     worker 0 only, so calls are never concurrent).
  /// - Returns: `jobs.count x d` update rows, row-major.
  func train(
    _ jobs: [Job], from global: [Float], epochs: Int, steps: Int?, progress: ((Int) -> Void)? = nil
  ) -> [Float] {
    let d = network.parameterCount
    var rows = [Float](repeating: 0, count: jobs.count * d)
    let workers = min(trainers.count, max(1, jobs.count))
    let report: (Int) -> Void = progress ?? { _ in }
    rows.withUnsafeMutableBufferPointer { out in
      guard let base = out.baseAddress else { return }
      let task = Unchecked(
        WorkerTask(
          pool: self, jobs: jobs, global: global, rows: base, workers: workers, epochs: epochs,
          steps: steps, report: report))
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        task.value.run(worker: worker)
      }
    }
    return rows
  }

  /// The per-round work shared by the workers.
  private struct WorkerTask {
    let pool: ClientTrainers
    let jobs: [Job]
    let global: [Float]
    let rows: UnsafeMutablePointer<Float>
    let workers: Int
    let epochs: Int
    let steps: Int?
    let report: (Int) -> Void

    func run(worker: Int) {
      let d = global.count
      var done = 0
      for j in stride(from: worker, to: jobs.count, by: workers) {
        pool.trainOne(
          jobs[j], worker: worker, global: global, epochs: epochs, steps: steps, into: rows + j * d)
        done += 1
        if worker == 0 { report(done * workers) }
      }
    }
  }

  private func trainOne(
    _ job: Job, worker: Int, global: [Float], epochs: Int, steps: Int?,
    into row: UnsafeMutablePointer<Float>
  ) {
    let trainer = trainers[worker]
    trainer.resetOptimizerState()
    let baseRate = trainer.optimizer.learningRate
    if let rate = job.learningRate { trainer.optimizer.learningRate = rate }
    defer { trainer.optimizer.learningRate = baseRate }
    var rng = job.rng
    let buffer = buffers[worker]
    buffer.values.withUnsafeMutableBufferPointer { local in
      global.withUnsafeBufferPointer { g in
        if let l = local.baseAddress, let gb = g.baseAddress { l.update(from: gb, count: g.count) }
      }
    }
    var finite = true
    if let steps, job.epochs == nil {
      finite =
        trainer.train(parameters: &buffer.values, on: job.data, rng: &rng, steps: steps).isFinite
    } else {
      for _ in 0..<(job.epochs ?? epochs) where finite {
        finite = trainer.train(parameters: &buffer.values, on: job.data, rng: &rng).isFinite
      }
    }
    buffer.values.withUnsafeBufferPointer { local in
      for i in 0..<local.count { row[i] = finite ? local[i] - global[i] : .nan }
    }
  }
}
