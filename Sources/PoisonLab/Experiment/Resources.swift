import Foundation

/// Worker threads: the requested count, capped at a multiple of the cores.
public enum ThreadCount {
  /// Threads allowed per core (more only adds memory and switching).
  public static let perCore = 4

  /// The threads to use for a `--threads` value.
  /// - Parameters:
  ///   - requested: the option's value (nil: all cores).
  ///   - cores: the cores available.
  /// - Returns: the count and, when capped, a message saying so.
  public static func resolve(_ requested: Int?, cores: Int) -> (threads: Int, note: String?) {
    let cores = max(1, cores)
    guard let requested else { return (cores, nil) }
    let cap = perCore * cores
    if requested > cap {
      return (
        cap,
        "--threads \(requested) capped at \(cap) (\(perCore) per core on this \(cores)-core machine)"
      )
    }
    return (max(1, requested), nil)
  }
}

/// Peak memory of a run, estimated from the scenario before any data is
/// loaded or any buffer allocated.
///
/// The parts: the dataset as loaded and copied while preparing it
/// (decoded floats, the subsample, the clients' copies and the normalised
/// sets); the model's parameters and the copies a round keeps; each
/// worker's training buffers (``Network/trainingBytes(batch:)``); the
/// round's n x d update matrix with the copies the defense chain makes and
/// the pairwise distances, plus what a rule allocates beyond them
/// (``Defense/workspaceBytes(updates:dimension:)``); and each thread's
/// evaluation workspace.
public struct MemoryEstimate: Sendable, Equatable {
  /// Named parts in bytes, largest first.
  public var parts: [(name: String, bytes: Int)]
  /// The sum.
  public var total: Int { parts.reduce(0) { $0.addingSaturating($1.bytes) } }

  public static func == (a: MemoryEstimate, b: MemoryEstimate) -> Bool {
    a.parts.map(\.name) == b.parts.map(\.name) && a.parts.map(\.bytes) == b.parts.map(\.bytes)
  }

  /// Whether `budget` cannot hold it, or an address-space limit
  /// (`ulimit -v`) cannot give it now.
  /// - Parameter budget: the limit.
  /// - Returns: true when it does not fit.
  public func exceeds(_ budget: MemoryBudget) -> Bool {
    total > budget.bytes || (MemoryBudget.addressSpaceLimited && !MemoryBudget.canReserve(total))
  }

  /// "1.2 GiB (dataset 880 MiB, update matrix 300 MiB, ...)": the total and the largest parts.
  /// - Parameter count: how many parts to name.
  /// - Returns: the text.
  public func summary(parts count: Int = 3) -> String {
    let named = parts.prefix(count).map { "\($0.name) \(Self.format($0.bytes))" }
    return "\(Self.format(total)) (" + named.joined(separator: ", ") + ")"
  }

  /// Bytes in binary units: `512 B`, `3.4 MiB`, `1.2 GiB`.
  /// - Parameter bytes: the size.
  /// - Returns: the text.
  public static func format(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
  }
}

/// How much memory a run may use.
public struct MemoryBudget: Sendable, Equatable {
  /// The limit in bytes.
  public var bytes: Int
  /// Where the limit comes from, for messages.
  public var source: String

  /// Creates a budget.
  /// - Parameters:
  ///   - bytes: the limit.
  ///   - source: where it comes from.
  public init(bytes: Int, source: String) {
    self.bytes = bytes
    self.source = source
  }

  /// Whether an address-space limit (`ulimit -v`) is in force.
  public static var addressSpaceLimited: Bool {
    var limit = rlimit()
    return getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0
      && limit.rlim_cur != rlim_t.max
  }

  /// Whether `bytes` can be allocated now (allocated and freed, never touched).
  /// - Parameter bytes: the size.
  /// - Returns: whether the allocation succeeded.
  public static func canReserve(_ bytes: Int) -> Bool {
    guard bytes > 0 else { return true }
    guard let block = malloc(bytes) else { return false }
    free(block)
    return true
  }

  /// The share of physical memory used when no `--max-memory` is given.
  public static let defaultShare = 0.8

  /// The budget for a `--max-memory` value (nil: 80% of physical memory),
  /// lowered to the address-space limit (`ulimit -v`) when that is smaller.
  /// - Parameter option: the option's text, or nil.
  /// - Returns: the budget, or nil when the option is malformed.
  public static func resolve(_ option: String?) -> MemoryBudget? {
    var budget: MemoryBudget
    if let option {
      guard let bytes = parse(option) else { return nil }
      budget = MemoryBudget(bytes: bytes, source: "--max-memory \(option)")
    } else {
      let physical = Int(ProcessInfo.processInfo.physicalMemory)
      budget = MemoryBudget(
        bytes: Int(Double(physical) * defaultShare),
        source: "the default --max-memory, 80% of the \(MemoryEstimate.format(physical)) of memory")
    }
    var limit = rlimit()
    if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
      limit.rlim_cur != rlim_t.max,
      Int(clamping: limit.rlim_cur) < budget.bytes
    {
      // The process itself (runtime, BLAS, thread stacks) needs some of it.
      let program = baseline
      budget = MemoryBudget(
        bytes: max(0, Int(clamping: limit.rlim_cur) - program),
        source:
          "the address-space limit (ulimit -v) of \(MemoryEstimate.format(Int(clamping: limit.rlim_cur))), "
          + "less \(MemoryEstimate.format(program)) for the program itself")
    }
    return budget
  }

  /// Address space the program needs besides the run's own buffers: what
  /// it has mapped so far (runtime, libraries, thread stacks; `VmSize` in
  /// `/proc/self/status`) plus 128 MiB for each BLAS worker's buffer, two
  /// assumed.
  public static var baseline: Int {
    var mapped = 512 << 20
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmSize:") }),
      let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    {
      mapped = kib << 10
    }
    return mapped + (256 << 20)
  }

  /// Parses `16G`, `800M`, `512K`, `1.5G` or a byte count (binary units; a
  /// trailing `B` or `iB` is allowed).
  /// - Parameter text: the value.
  /// - Returns: bytes, or nil when malformed or not positive.
  public static func parse(_ text: String) -> Int? {
    var number = text.trimmingCharacters(in: .whitespaces).uppercased()
    if number.hasSuffix("IB") {
      number.removeLast(2)
    } else if number.hasSuffix("B") {
      number.removeLast()
    }
    var scale = 1.0
    if let last = number.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
      scale = pow(1024, Double(power))
      number.removeLast()
    }
    guard let value = Double(number), value.isFinite, value > 0, value * scale < 9.0e18 else {
      return nil
    }
    return Int(value * scale)
  }
}

extension Int {
  /// `x` rounded toward zero, clamped to `Int`'s range (NaN gives 0): a
  /// conversion that cannot trap on a value from a scenario or a file.
  /// - Parameter x: the value.
  public init(saturating x: Double) {
    if x.isNaN {
      self = 0
    } else if x >= 9.223_372_036_854_775e18 {
      self = .max
    } else if x <= -9.223_372_036_854_775e18 {
      self = .min
    } else {
      self = Int(x)
    }
  }

  /// A count from decimal settings, rounded by `rule` after forgiving the
  /// binary rounding of the product.
  ///
  /// With a relative slack of 1e-9, `1.5 * 0.2 * 200` (60.00000000000001)
  /// rounds up to 60, not 61, `0.29 * 100` (28.999999999999996) down to
  /// 29, not 28, and `0.145 * 100` (14.499999999999998) to the nearest,
  /// 15, as 14.5 does. Saturating like `init(saturating:)`.
  /// - Parameters:
  ///   - x: the product, >= 0.
  ///   - rule: `.up`, `.down`, or `.toNearestOrAwayFromZero`.
  public init(count x: Double, rounding rule: FloatingPointRoundingRule) {
    let slack = 1e-9 * abs(x)
    self.init(saturating: (rule == .up ? x - slack : x + slack).rounded(rule))
  }

  /// `self + other`, saturating at `Int.max`.
  func addingSaturating(_ other: Int) -> Int {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? .max : sum
  }

  /// `self * other`, saturating at `Int.max` (for non-negative values).
  func multipliedSaturating(_ other: Int) -> Int {
    let (product, overflow) = multipliedReportingOverflow(by: other)
    return overflow ? .max : product
  }
}

extension Experiment {
  /// The peak-memory estimate of the run, from the scenario alone (the
  /// dataset's size as its plug-in estimates it; nil when it cannot).
  /// - Returns: the estimate, or nil when the dataset's size is unknown.
  public func memoryEstimate() -> MemoryEstimate? {
    guard let size = scenario.dataset.estimatedSize() else { return nil }
    let network = scenario.model.build(input: size.shape, classes: size.classes)
    return memoryEstimate(size: size, network: network)
  }

  func memoryEstimate(size: DataSize, network: Network) -> MemoryEstimate {
    let floatBytes = 4
    let samples = size.train.addingSaturating(size.test)
    let values = samples.multipliedSaturating(size.shape.count)
    // Decoded floats, the raw bytes they came from, the subsample and the
    // normalised copies; federated runs also hold the clients' copies.
    let copies = scenario.federation == nil ? 3 : 4
    // Per sample besides its values: labels (text while a CSV is parsed,
    // then integers, copied with the values) and index lists (subsamples,
    // shuffles, the partition).
    let bookkeeping = samples.multipliedSaturating(64)
    let dataset = values.multipliedSaturating(floatBytes * copies).addingSaturating(bookkeeping)
    let d = network.parameterCount
    let parameterBytes = d.multipliedSaturating(floatBytes)
    let batch = max(1, min(scenario.training.batchSize, max(1, size.train)))
    var parts: [(String, Int)] = [("dataset", dataset)]
    if let federation = scenario.federation {
      let workers = max(1, min(threads, federation.clientsPerRound))
      let n = federation.clientsPerRound
      parts.append(("update matrix", DefenseChain.matrixBytes(rows: n, dimension: d)))
      parts.append(
        (
          "training buffers",
          network.trainingBytes(batch: batch).addingSaturating(parameterBytes)
            .multipliedSaturating(workers)
        ))
      parts.append(("model", parameterBytes.multipliedSaturating(3)))
      // The channel: every message holds a copy of its update, the accepted
      // ones are copied once more, and each signing thread builds the signed
      // bytes; replay keeps `lag` rounds of captured messages; secure
      // aggregation holds the weighted inputs and n masked vectors of 64-bit
      // words, and each thread a keystream.
      var messages = n
      var captured = 0
      for entry in scenario.attacks {
        if let sybil = entry.attack as? Sybil {
          messages = messages.addingSaturating(sybil.identities)
        }
        if let replay = entry.attack as? Replay {
          captured = captured.addingSaturating(replay.lag.multipliedSaturating(n))
        }
      }
      var channel = messages.multipliedSaturating(2).addingSaturating(captured)
        .addingSaturating(workers).multipliedSaturating(parameterBytes)
      if scenario.channel.secureAggregation != nil {
        // n x n sealed and revealed shares (about 250 bytes each with their arrays).
        channel = channel.addingSaturating(
          n.multipliedSaturating(d).multipliedSaturating(12)
            .addingSaturating(workers.multipliedSaturating(d).multipliedSaturating(16))
            .addingSaturating(n.multipliedSaturating(n).multipliedSaturating(256)))
      }
      parts.append(("channel", channel))
      // Safeguards: rollback keeps window + 1 saved models; FLDetector each
      // client's last update and 2 x window model and aggregate differences.
      let guards = scenario.safeguards
      var saved = 0
      if guards.response == .rollback, let w = guards.monitor?.window {
        saved = saved.addingSaturating(w + 1)
      }
      if let m = guards.monitor, m.signals.contains("fldetector") {
        saved = saved.addingSaturating(federation.clients.addingSaturating(2 * m.window + 2))
      }
      if saved > 0 { parts.append(("safeguards", saved.multipliedSaturating(parameterBytes))) }
      let workspace =
        scenario.defenses.map { $0.defense.workspaceBytes(updates: messages, dimension: d) }
        .max() ?? 0
      if workspace > 0 { parts.append(("defense workspace", workspace)) }
    } else {
      let fits = pipelineFitWorkers
      parts.append(
        ("training buffers", network.trainingBytes(batch: batch).multipliedSaturating(fits)))
      parts.append(("model", parameterBytes.multipliedSaturating(2)))
      if scenario.pipeline != nil {
        // Each training copies its samples (up to the whole training set in
        // retrain mode); the live, initial, candidate and impact-test models,
        // and the models rollback saves.
        let saved = (scenario.safeguards.monitor?.window ?? 0) + 1
        parts.append(
          (
            "pipeline",
            dataset.multipliedSaturating(fits)
              .addingSaturating(parameterBytes.multipliedSaturating(3 + fits + saved))
          ))
      }
    }
    if let audit = scenario.audit {
      // The defender's samples and their raw copy (features per sample,
      // not parameters), a gradient workspace per thread (neural-cleanse;
      // fine-pruning's trainer), two models, and the method's own buffers.
      let features = size.shape.count
      parts.append(
        (
          "audit",
          audit.cleanSize.multipliedSaturating(features).multipliedSaturating(8)
            .addingSaturating(network.trainingBytes(batch: 64).multipliedSaturating(threads))
            .addingSaturating(parameterBytes.multipliedSaturating(2))
            .addingSaturating(audit.workingBytes(features: features, network: network))
        ))
    }
    parts.append(
      ("evaluation", Evaluator.workspaceBytes(network: network).multipliedSaturating(threads)))
    parts.sort { $0.1 > $1.1 }
    return MemoryEstimate(parts: parts.map { (name: $0.0, bytes: $0.1) })
  }

  /// Pipelines: the trainers a cycle fits with at once.
  ///
  /// A source filter's impact test fits its candidates on every thread,
  /// each with a trainer and a copy of its samples; otherwise one.
  var pipelineFitWorkers: Int {
    let filter = scenario.defenses.first?.defense as? any SourceFilter
    return scenario.pipeline != nil && filter?.usesUntrusted == true ? max(1, threads) : 1
  }

  /// A validation set (`safeguards.validation.size`) that leaves too few
  /// training samples for the clients, or nil.
  /// - Parameter train: training samples before the set is taken.
  /// - Returns: the problem, or nil.
  func validationProblem(train: Int) -> ScenarioError? {
    guard let federation = scenario.federation,
      let size = scenario.safeguards.validation?.size,
      size >= train - federation.clients
    else { return nil }
    return ScenarioError(
      JSONPath.root.appending("safeguards").appending("validation").appending("size"),
      "\(size) validation samples leave too few of the \(train) training samples for \(federation.clients) clients; at most \(max(0, train - federation.clients - 1))"
    )
  }

  /// Pipelines: held-out trusted sets (the gate's and a source filter's)
  /// that would take half of the trusted sources' samples or more, or nil.
  /// - Parameter trusted: the trusted sources' samples.
  /// - Returns: the problem, or nil.
  func heldOutProblem(trusted: Int) -> ScenarioError? {
    guard scenario.pipeline != nil else { return nil }
    let filter = scenario.defenses.first?.defense as? any SourceFilter
    let wanted = [
      ("safeguards.validation.size", scenario.safeguards.validation?.size ?? 0),
      ("defense.validation_size", filter?.validationSize ?? 0),
    ].filter { $0.1 > 0 }
    let total = wanted.reduce(0) { $0 + $1.1 }
    guard total > 0, 2 * total >= trusted else { return nil }
    let path =
      wanted.count == 1 && wanted[0].0.hasPrefix("defense")
      ? JSONPath.root.appending("defense").appending("validation_size")
      : JSONPath.root.appending("safeguards").appending("validation").appending("size")
    return ScenarioError(
      path,
      "the held-out trusted sets (\(wanted.map { "\($0.0) \($0.1)" }.joined(separator: ", "))) "
        + "would take \(total) of the trusted sources' \(trusted) samples; they must take less than half"
    )
  }

  /// A test set too small for the audit, or a given `audit.clean_size` it
  /// cannot hold (the audit measures on at least 10 other samples), or nil.
  /// - Parameter test: test samples after subsampling.
  /// - Returns: the problem, or nil.
  func cleanSizeProblem(test: Int) -> ScenarioError? {
    guard let audit = scenario.audit else { return nil }
    let least = AuditInput.minimumSamples
    // Audits that measure on the rest keep 10 samples for it; Neural
    // Cleanse flags classes from the defender's samples alone.
    let rest = type(of: audit).measuresOnRest ? least : 0
    // The default is capped, but never below the 10 samples a given
    // clean_size needs: an audit of fewer measures nothing.
    if !audit.cleanSizeGiven && test < least + rest {
      return ScenarioError(
        JSONPath.root.appending("audit"),
        "needs at least \(least) clean test samples for the defender"
          + (rest > 0 ? " and \(rest) more to measure on" : "")
          + "; the test set has \(test) (raise dataset.test_size)"
      )
    }
    guard audit.cleanSizeGiven, audit.cleanSize > test - rest else { return nil }
    return ScenarioError(
      JSONPath.root.appending("audit").appending("clean_size"),
      "asks for \(audit.cleanSize) clean test samples but the test set has \(test)"
        + (rest > 0 ? ", and the audit measures on at least \(rest) others" : "")
        + "; at most \(max(0, test - rest))"
    )
  }

  /// A server root set (`fltrust`'s `root_size`) that leaves too few
  /// training samples for the clients, or nil.
  /// - Parameter train: training samples before the root set is taken.
  /// - Returns: the problem, or nil.
  func rootProblem(train: Int) -> ScenarioError? {
    guard let federation = scenario.federation,
      let size = DefenseChain(scenario.defenses.map(\.defense)).rootSize,
      size >= train - federation.clients
    else { return nil }
    // The stage's own path: defense.root_size, or defense[i].root_size in a chain.
    var path = JSONPath.root.appending("defense")
    if case .array? = scenario.resolved["defense"],
      let index = scenario.defenses.firstIndex(where: { $0.defense.rootSize != nil })
    {
      path = path.appending(index)
    }
    let validation = scenario.safeguards.validation.map {
      " (after safeguards.validation.size took \($0.size))"
    }
    return ScenarioError(
      path.appending("root_size"),
      "\(size) leaves too few of the \(train) training samples\(validation ?? "") for \(federation.clients) clients; at most \(max(0, train - federation.clients - 1))"
    )
  }

  /// The refusal of an estimate over `budget`, or nil when it fits.
  ///
  /// Under an address-space limit (`ulimit -v`) the estimate is also
  /// reserved once (allocated and freed at once, untouched), so that a run
  /// the limit cannot hold is refused here rather than failing mid-way.
  static func memoryProblem(_ estimate: MemoryEstimate, budget: MemoryBudget) -> ScenarioError? {
    if estimate.total <= budget.bytes {
      guard MemoryBudget.addressSpaceLimited, !MemoryBudget.canReserve(estimate.total) else {
        return nil
      }
      return ScenarioError(
        .root,
        "needs an estimated \(estimate.summary()) of memory, which the address-space limit "
          + "(ulimit -v) cannot hold now; raise the limit or use a smaller scenario")
    }
    return ScenarioError(
      .root,
      "needs an estimated \(estimate.summary()) of memory, more than \(MemoryEstimate.format(budget.bytes)) "
        + "allowed by \(budget.source); use a smaller model, fewer clients per round or fewer --threads, "
        + "or raise --max-memory")
  }

  /// The checks that need only the scenario, run by `validate` and `run`
  /// alike before any work: the model against the dataset's shape, the
  /// parameter and batch-buffer caps, the partition against the training
  /// set's size, and the memory estimate against `budget`.
  /// - Parameter budget: the memory limit (nil: no memory check).
  /// - Returns: the memory estimate (nil when the dataset's size is unknown
  ///   before loading; the same checks then run after loading).
  /// - Throws: `RunFailure.scenario` listing every problem.
  @discardableResult
  public func preflight(budget: MemoryBudget?) throws(RunFailure) -> MemoryEstimate? {
    if let problem = scenario.dataset.settingProblem() { throw datasetFailure(problem) }
    guard let size = scenario.dataset.estimatedSize() else { return nil }
    var problems: [ScenarioError] = []
    if let problem = scenario.model.check(input: size.shape, at: JSONPath.root.appending("model")) {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
    }
    let p = scenario.datasetParameters
    if size.exact {
      for (key, count) in [("train_size", size.train), ("test_size", size.test)] {
        if let want = p.int(key), want > count {
          problems.append(
            ScenarioError(p.path(key), "asks for \(want) samples but the data has \(count)"))
        }
      }
    }
    let train = p.int("train_size").map { min($0, size.train) } ?? size.train
    if size.exact,
      let problem = cleanSizeProblem(
        test: p.int("test_size").map { min($0, size.test) } ?? size.test)
    {
      problems.append(problem)
    }
    // The gate's held-out set is carved first, then fltrust's root set, as the run does.
    if let problem = validationProblem(train: train) { problems.append(problem) }
    let afterValidation =
      scenario.federation == nil ? train : train - (scenario.safeguards.validation?.size ?? 0)
    if let problem = rootProblem(train: afterValidation) { problems.append(problem) }
    if size.exact, scenario.pipeline != nil {
      // The split's own counts (largest remainder), as the run sees them.
      let quotas = SourceSplit.largestRemainder(scenario.sources.map(\.share), total: train)
      let trusted = zip(scenario.sources, quotas).filter { $0.0.trusted }.reduce(0) { $0 + $1.1 }
      if let problem = heldOutProblem(trusted: trusted) {
        problems.append(problem)
      }
    }
    if let federation = scenario.federation,
      let problem = federation.partition.check(samples: train, clients: federation.clients)
    {
      problems.append(
        ScenarioError(JSONPath.root.appending("federation").appending("partition"), problem))
    }
    let network = scenario.model.build(input: size.shape, classes: size.classes)
    let batch = max(1, min(scenario.training.batchSize, max(1, train)))
    let trainers = scenario.federation.map { max(1, min(threads, $0.clientsPerRound)) } ?? 1
    problems += sizeProblems(network, batch: batch, trainers: trainers)
    if !problems.isEmpty {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: problems))
    }
    let estimate = memoryEstimate(size: size, network: network)
    if let budget, let problem = Self.memoryProblem(estimate, budget: budget) {
      throw .scenario(ScenarioErrors(source: scenario.name, errors: [problem]))
    }
    return estimate
  }
}
