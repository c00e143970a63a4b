import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab privacy`: epsilon of the sampled Gaussian mechanism.
struct PrivacyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "privacy",
    abstract:
      "Epsilon spent by a sampled Gaussian mechanism (DP-SGD, DP-FedAvg), by RDP accounting.",
    discussion: """
      RDP of the sampled Gaussian mechanism (Mironov, Talwar & Zhang 2019) over TF-Privacy's \
      default orders, composed over --steps, converted with the classic bound \
      epsilon = min over orders of RDP - log(delta) / (order - 1). Assumes Poisson sampling with \
      rate --sample-rate (records per step / records; clients per round / clients in DP-FedAvg), \
      as TF-Privacy's compute_dp_sgd_privacy does; the simulator draws a fixed number of clients \
      per round, for which the Poisson figure is not a proof. \
      No step, or a rate of 0, spends nothing: epsilon 0. An epsilon no order bounds (noise far \
      too small) prints inf in the table and, JSON having no infinity, null with "unbounded": \
      true.

      Example:
        poisonlab privacy --noise-multiplier 1 --sample-rate 0.5 --steps 100 \\
          --delta 1e-5
      """)

  @Option(help: "Noise standard deviation over the L2 sensitivity (clip).")
  var noiseMultiplier: Double

  @Option(help: "Sampling rate q in [0, 1].")
  var sampleRate: Double

  @Option(help: "Number of steps (DP-SGD) or rounds (DP-FedAvg).")
  var steps: Int

  @Option(help: "Target delta in (0, 1).")
  var delta: Double

  @Option(help: "Output format: table or json.")
  var format: String = "table"

  func validate() throws {
    guard noiseMultiplier > 0, noiseMultiplier.isFinite else {
      throw ValidationError("--noise-multiplier must be > 0")
    }
    guard (0...1).contains(sampleRate) else {
      throw ValidationError("--sample-rate must be in [0, 1]")
    }
    guard steps >= 0 else { throw ValidationError("--steps must be >= 0") }
    guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
    guard ["table", "json"].contains(format) else {
      throw ValidationError("--format must be table or json")
    }
  }

  func run() throws {
    let (epsilon, order) = RDPAccountant.epsilon(
      q: sampleRate, noiseMultiplier: noiseMultiplier, steps: steps, delta: delta)
    if format == "json" {
      Terminal.out(
        JSONValue.object([
          JSONMember("epsilon", .number(epsilon)), JSONMember("order", .number(order)),
          JSONMember("delta", .number(delta)), JSONMember("unbounded", .bool(!epsilon.isFinite)),
        ]).serialized() + "\n")
    } else {
      Terminal.out(
        "epsilon \(String(format: "%.4f", epsilon)) at delta \(delta) (RDP order \(JSONValue.format(order)); "
          + "q \(sampleRate), noise multiplier \(noiseMultiplier), \(steps) steps, Poisson sampling)\n"
      )
    }
  }
}
