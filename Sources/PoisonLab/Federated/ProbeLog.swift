import Foundation

/// How a defense-aware attacker's probes of the chain went in one round.
final class ProbeLog: @unchecked Sendable {
  private let lock = NSLock()
  private var calls = 0
  private var failures = 0
  private var last: String?

  /// Records one evaluation, with its failure when the chain could not run.
  func record(failure: String?) {
    lock.lock()
    defer { lock.unlock() }
    calls += 1
    if let failure {
      failures += 1
      last = failure
    }
  }

  /// The last failure when every evaluation failed, else nil.
  var blind: String? {
    lock.lock()
    defer { lock.unlock() }
    return calls > 0 && failures == calls ? last : nil
  }
}
