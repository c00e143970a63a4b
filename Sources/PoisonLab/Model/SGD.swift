/// Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics.
///
/// Dampening 0, no Nesterov:
///
///     g = grad + weight_decay * w
///     v = momentum * v + g        (v starts at 0, so the first v is g)
///     w = w - learning_rate * v   (v = g when momentum is 0)
///
/// Weight decay applies to every parameter, biases included, as when a
/// PyTorch model's `parameters()` are passed unchanged.
public struct SGD: Sendable, Equatable {
  /// Step size (> 0).
  public var learningRate: Float
  /// Momentum factor in `[0, 1)`.
  public var momentum: Float
  /// L2 penalty factor (>= 0).
  public var weightDecay: Float

  /// Creates the optimiser.
  /// - Parameters:
  ///   - learningRate: step size (> 0).
  ///   - momentum: momentum factor, default 0.
  ///   - weightDecay: L2 factor, default 0.
  public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
    precondition(learningRate > 0 && momentum >= 0 && momentum < 1 && weightDecay >= 0)
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
  }

  /// Applies one step in place.
  /// - Parameters:
  ///   - parameters: the weights `w`.
  ///   - gradient: the gradient; overwritten with `g`.
  ///   - velocity: the momentum buffer `v` (unused when momentum is 0).
  ///   - count: number of parameters.
  public func step(
    parameters: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>,
    velocity: UnsafeMutablePointer<Float>, count: Int
  ) {
    if weightDecay != 0 {
      BLAS.axpy(count: count, alpha: weightDecay, x: parameters, y: gradient)
    }
    if momentum != 0 {
      for i in 0..<count { velocity[i] = momentum * velocity[i] + gradient[i] }
      BLAS.axpy(count: count, alpha: -learningRate, x: velocity, y: parameters)
    } else {
      BLAS.axpy(count: count, alpha: -learningRate, x: gradient, y: parameters)
    }
  }
}
