/// A BadNets-style pixel trigger: a set of pixel positions set to `value`
/// (raw units, before normalisation) in every channel.
public struct Trigger: Sendable, Equatable {
  /// `(row, column)` of each trigger pixel.
  public var pixels: [(Int, Int)]
  /// The value written (for example 255 for white in 8-bit images).
  public var value: Float

  /// Creates a trigger.
  /// - Parameters:
  ///   - pixels: `(row, column)` of each pixel.
  ///   - value: the value written, raw units.
  public init(pixels: [(Int, Int)], value: Float) {
    self.pixels = pixels
    self.value = value
  }

  public static func == (a: Trigger, b: Trigger) -> Bool {
    a.value == b.value && a.pixels.elementsEqual(b.pixels) { $0 == $1 }
  }

  /// The `trigger` object of `backdoor`: pattern, size, position, margin, value, pixels.
  static let spec: [ParameterSpec] = [
    ParameterSpec(
      "pattern", .choice(["square", "cross", "pixels"]), default: .string("square"),
      doc:
        "square: filled size x size; cross: the two diagonals of a size x size box; pixels: the listed pixels"
    ),
    ParameterSpec(
      "size", .integer(min: 1, max: 4096), default: .number(3), doc: "side of the square or cross"),
    ParameterSpec(
      "position",
      .either([
        .choice(Corner.allCases.map(\.rawValue)),
        .array(.integer(min: 0, max: nil), minCount: 2, maxCount: 2),
      ]),
      default: .string("bottom-right"),
      doc: "a corner, center, or [row, column] of the box's top-left pixel"),
    ParameterSpec(
      "margin", .integer(min: 0, max: nil), default: .number(0),
      doc: "pixels between a corner box and the image edge (corner positions only)"),
    ParameterSpec(
      "value", .number(min: -1e6, max: 1e6, minOpen: false, maxOpen: false), default: .number(255),
      doc: "pixel value, raw units before normalisation"),
    ParameterSpec(
      "pixels",
      .array(
        .array(.integer(min: 0, max: nil), minCount: 2, maxCount: 2), minCount: 1, maxCount: nil),
      doc: "[[row, column], ...] for pattern pixels"),
  ]

  /// Named box positions.
  enum Corner: String, CaseIterable {
    case bottomRight = "bottom-right"
    case bottomLeft = "bottom-left"
    case topRight = "top-right"
    case topLeft = "top-left"
    case center
  }

  /// The declarative form, resolved against an image size by ``pixels(height:width:)``.
  struct Design: Sendable, Equatable {
    var pattern: String
    var size: Int
    var corner: String?
    var origin: [Int]?
    var margin: Int
    var value: Double
    var listed: [[Int]]

    /// Parses and cross-checks the `trigger` object.
    init?(_ p: Parameters, validator: inout SchemaValidator) {
      pattern = p.string("pattern") ?? "square"
      size = p.int("size") ?? 3
      margin = p.int("margin") ?? 0
      value = p.double("value") ?? 255
      corner = p.string("position")
      origin = p.ints("position")
      listed = []
      if case .array(let items)? = p["pixels"] {
        listed = items.compactMap { item in
          guard case .array(let pair) = item, pair.count == 2, case .number(let r) = pair[0],
            case .number(let c) = pair[1]
          else { return nil }
          return [Int(r), Int(c)]
        }
      }
      if pattern == "pixels" {
        guard !listed.isEmpty else {
          validator.fail(
            p.path("pixels"), "pattern \"pixels\" needs a pixels list [[row, column], ...]")
          return nil
        }
        // Their defaults (which `validate` writes out) are harmless.
        let otherThanDefault = [
          "size": size != 3, "position": corner != "bottom-right", "margin": margin != 0,
        ]
        for key in ["size", "position", "margin"]
        where p.given.contains(key) && otherThanDefault[key] == true {
          validator.fail(
            p.path(key), "does not apply to pattern \"pixels\" (its pixels are absolute positions)")
          return nil
        }
      } else if p.given.contains("pixels") {
        validator.fail(p.path("pixels"), "applies only to pattern \"pixels\", not \"\(pattern)\"")
        return nil
      } else if p.given.contains("margin"), margin != 0, corner == nil || corner == "center" {
        validator.fail(
          p.path("margin"),
          "applies only to a corner position (bottom-right, bottom-left, top-right, top-left), not "
            + (corner == "center" ? "\"center\"" : "[row, column]"))
        return nil
      }
    }

    /// The trigger for images of `height x width`, or a message saying why it does not fit.
    func resolve(height: Int, width: Int) -> Result<Trigger, TriggerFitError> {
      var points: [(Int, Int)] = []
      if pattern == "pixels" {
        points = listed.map { ($0[0], $0[1]) }
      } else {
        guard size <= height && size <= width else {
          return .failure(
            TriggerFitError(
              message: "a \(size)x\(size) trigger does not fit \(height)x\(width) images"))
        }
        let (top, left): (Int, Int)
        switch corner {
        case "bottom-right"?: (top, left) = (height - size - margin, width - size - margin)
        case "bottom-left"?: (top, left) = (height - size - margin, margin)
        case "top-right"?: (top, left) = (margin, width - size - margin)
        case "top-left"?: (top, left) = (margin, margin)
        case "center"?: (top, left) = ((height - size) / 2, (width - size) / 2)
        default: (top, left) = (origin?[0] ?? 0, origin?[1] ?? 0)
        }
        for r in 0..<size {
          for c in 0..<size where pattern == "square" || c == r || c == size - 1 - r {
            points.append((top + r, left + c))
          }
        }
      }
      for (r, c) in points where r < 0 || c < 0 || r >= height || c >= width {
        return .failure(
          TriggerFitError(
            message: "trigger pixel (\(r), \(c)) is outside \(height)x\(width) images"))
      }
      return .success(Trigger(pixels: points, value: Float(value)))
    }
  }

  /// The trigger split into `parts` local triggers (DBA).
  ///
  /// The pixels, in the order they were resolved (row-major for square and cross), cut into
  /// `parts` contiguous runs of sizes differing by at most one. A 4x4 square
  /// in 4 parts gives its 4 rows.
  /// - Parameter parts: the number of pieces, 1...pixels.count.
  /// - Returns: the local triggers; together they are this trigger.
  public func split(into parts: Int) -> [Trigger] {
    let k = max(1, min(parts, pixels.count))
    return (0..<k).map { i in
      Trigger(
        pixels: Array(pixels[(i * pixels.count / k)..<((i + 1) * pixels.count / k)]), value: value)
    }
  }

  /// Writes the trigger into sample `index` of `data` (all channels).
  /// - Parameters:
  ///   - data: an image dataset.
  ///   - index: the sample.
  public func stamp(_ data: inout Dataset, sample index: Int) {
    let (w, c) = (data.shape.width, data.shape.channels)
    let base = index * data.shape.count
    for (r, col) in pixels {
      for ch in 0..<c { data.features[base + (r * w + col) * c + ch] = value }
    }
  }
}

/// Why a trigger does not fit the images.
struct TriggerFitError: Error {
  var message: String
}
