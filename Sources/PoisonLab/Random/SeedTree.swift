/// Derives independent, reproducible seeds from the scenario seed.
///
/// `SeedTree(seed).derive("shuffle", epoch)` names a stream by a path of
/// labels and integers; the result depends only on the path, never on the
/// order streams are created in or on the thread that creates them. The
/// mixing is FNV-1a over the path's bytes followed by SplitMix64 finalisation.
public struct SeedTree: Sendable, Equatable {
  /// The root seed (the scenario's `seed`).
  public let seed: UInt64

  /// Creates the tree for a scenario seed.
  /// - Parameter seed: the root seed.
  public init(_ seed: UInt64) { self.seed = seed }

  /// A 64-bit seed for the stream named by `path`.
  /// - Parameter path: labels (`String`) and indices (`Int`) naming the stream.
  /// - Returns: a 64-bit seed for the stream named by `path`.
  public func derive(_ path: any SeedPathComponent...) -> UInt64 { derive(path: path) }

  /// A generator for the stream named by `path`.
  /// - Parameter path: labels and indices naming the stream.
  /// - Returns: a generator for the stream named by `path`.
  public func generator(_ path: any SeedPathComponent...) -> SplitMix64 {
    SplitMix64(seed: derive(path: path))
  }

  private func derive(path: [any SeedPathComponent]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
    for component in path {
      for byte in component.seedBytes + [0xFF] {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
      }
    }
    var mixer = SplitMix64(seed: hash)
    return mixer.next()
  }
}

/// A piece of a ``SeedTree`` path: a label or an index.
public protocol SeedPathComponent: Sendable {
  /// The bytes hashed for this component (type-tagged so `"1"` and `1` differ).
  var seedBytes: [UInt8] { get }
}

extension String: SeedPathComponent {
  /// UTF-8 bytes tagged with `s`.
  public var seedBytes: [UInt8] { [0x73] + Array(utf8) }
}

extension Int: SeedPathComponent {
  /// Little-endian bytes tagged with `i`.
  public var seedBytes: [UInt8] {
    [0x69] + withUnsafeBytes(of: Int64(self).littleEndian) { Array($0) }
  }
}
