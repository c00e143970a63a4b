/// A greyscale or RGB raster image, 8 bits per channel, row-major.
public struct RasterImage: Sendable, Equatable {
  /// Pixels per row.
  public var width: Int
  /// Rows.
  public var height: Int
  /// 1 (grey) or 3 (RGB).
  public var channels: Int
  /// `height x width x channels` bytes.
  public var pixels: [UInt8]

  /// Creates an image from floats in [0, 255] (clipped and rounded; NaN is 0).
  /// - Parameters:
  ///   - width: pixels per row.
  ///   - height: rows.
  ///   - channels: 1 or 3.
  ///   - values: `height x width x channels` intensities.
  public init(width: Int, height: Int, channels: Int, values: [Float]) {
    self.width = width
    self.height = height
    self.channels = channels
    // NaN paints black; everything else is clipped to 0...255.
    pixels = values.map { $0.isNaN ? 0 : UInt8(min(max($0, 0), 255).rounded()) }
  }

  /// The image enlarged `factor` times by repeating pixels (nearest
  /// neighbour), so that a 28 x 28 trigger is visible without smoothing.
  /// - Parameter factor: the enlargement (>= 1).
  /// - Returns: the enlarged image.
  public func enlarged(_ factor: Int) -> RasterImage {
    guard factor > 1 else { return self }
    var out = RasterImage(
      width: width * factor, height: height * factor, channels: channels, values: [])
    out.pixels = [UInt8](repeating: 0, count: out.width * out.height * channels)
    for y in 0..<out.height {
      for x in 0..<out.width {
        let source = ((y / factor) * width + x / factor) * channels
        let target = (y * out.width + x) * channels
        for c in 0..<channels { out.pixels[target + c] = pixels[source + c] }
      }
    }
    return out
  }

  /// The image as a PNG file (ISO/IEC 15948): signature, IHDR (bit depth
  /// 8, colour type 0 grey or 2 RGB, no interlace), one zlib-compressed
  /// IDAT whose scanlines use filter type 0, and IEND.
  /// - Returns: the file's bytes.
  public func png() -> [UInt8] {
    var raw: [UInt8] = []
    raw.reserveCapacity(height * (width * channels + 1))
    for y in 0..<height {
      raw.append(0)
      raw.append(contentsOf: pixels[(y * width * channels)..<((y + 1) * width * channels)])
    }
    var header: [UInt8] = []
    header += Self.bigEndian(UInt32(width))
    header += Self.bigEndian(UInt32(height))
    header += [8, channels == 3 ? 2 : 0, 0, 0, 0]
    var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    file += Self.chunk("IHDR", header)
    file += Self.chunk("IDAT", Zlib.compress(raw))
    file += Self.chunk("IEND", [])
    return file
  }

  /// The image as an SVG document of one rectangle per pixel (exact
  /// intensities, crisp at any zoom), `scale` user units per pixel.
  /// - Parameter scale: the size of a pixel.
  /// - Returns: the SVG document.
  public func svg(scale: Int = 8) -> String {
    var out =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width * scale)\" height=\"\(height * scale)\" viewBox=\"0 0 \(width) \(height)\" shape-rendering=\"crispEdges\">\n"
    for y in 0..<height {
      for x in 0..<width {
        let p = (y * width + x) * channels
        let (r, g, b) =
          channels == 3
          ? (pixels[p], pixels[p + 1], pixels[p + 2]) : (pixels[p], pixels[p], pixels[p])
        out +=
          "<rect x=\"\(x)\" y=\"\(y)\" width=\"1\" height=\"1\" fill=\"#\(Self.hex(r))\(Self.hex(g))\(Self.hex(b))\"/>\n"
      }
    }
    return out + "</svg>\n"
  }

  static func hex(_ v: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(v >> 4)], digits[Int(v & 15)]])
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
  }

  static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(Zlib.crc32(body))
  }
}
