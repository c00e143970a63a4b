import Foundation

/// Self-contained SVG charts (no scripts, no external resources): line
/// charts of per-round metrics and heatmaps of attack x defense results.
public enum SVGChart {
  /// One line of a line chart.
  public struct Series: Sendable {
    /// The legend entry.
    public var name: String
    /// `(x, y)` points, in x order.
    public var points: [(Double, Double)]
    /// Dashed lines (for a second metric of the same group).
    public var dashed: Bool

    /// Creates a series.
    /// - Parameters:
    ///   - name: the legend entry.
    ///   - points: the points.
    ///   - dashed: whether the line is dashed.
    public init(name: String, points: [(Double, Double)], dashed: Bool = false) {
      self.name = name
      self.points = points
      self.dashed = dashed
    }
  }

  /// Twelve distinct colours readable on white: Okabe & Ito's colour-blind-safe
  /// set (without its pale yellow), then Paul Tol's muted colours.
  static let palette = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#44AA99", "#999933",
    "#332288", "#AA4499",
  ]

  /// XML-escapes text.
  static func escape(_ s: String) -> String { XMLText.escape(s) }

  static func number(_ x: Double) -> String { String(format: "%.2f", x) }

  /// A line chart with labelled axes, ticks, grid lines and a legend.
  /// - Parameters:
  ///   - title: the chart title.
  ///   - xLabel: the x axis label.
  ///   - yLabel: the y axis label.
  ///   - series: the lines (colours repeat after twelve; a dashed line shares the colour of the line before it).
  ///   - yRange: the y axis range (default: 0...1).
  ///   - integerX: x ticks at whole numbers (rounds); false allows tenths, fifths and halves.
  /// - Returns: the SVG document.
  public static func lines(
    title: String, xLabel: String, yLabel: String, series: [Series],
    yRange: ClosedRange<Double> = 0...1, integerX: Bool = true
  ) -> String {
    let legendRows = series.count
    let (width, plotHeight) = (760.0, 360.0)
    let (left, right, top) = (70.0, 230.0, 50.0)
    let height = max(top + plotHeight + 60, top + Double(legendRows) * 18 + 40)
    let plotWidth = width - left - right
    let xs = series.flatMap { $0.points.map(\.0) }
    let xMin = xs.min() ?? 0
    let xMax = max(xs.max() ?? 1, xMin + 1)
    let px = { (x: Double) in left + (x - xMin) / (xMax - xMin) * plotWidth }
    let py = { (y: Double) in
      top + plotHeight - (min(max(y, yRange.lowerBound), yRange.upperBound) - yRange.lowerBound)
        / (yRange.upperBound - yRange.lowerBound) * plotHeight
    }
    var svg = header(width: width, height: height, title: title)
    svg +=
      "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(plotWidth))\" height=\"\(number(plotHeight))\" fill=\"#ffffff\" stroke=\"#333333\"/>\n"
    for i in 0...5 {
      let y = yRange.lowerBound + Double(i) / 5 * (yRange.upperBound - yRange.lowerBound)
      svg +=
        "<line x1=\"\(number(left))\" y1=\"\(number(py(y)))\" x2=\"\(number(left + plotWidth))\" y2=\"\(number(py(y)))\" stroke=\"#dddddd\"/>\n"
      svg +=
        "<text x=\"\(number(left - 8))\" y=\"\(number(py(y) + 4))\" text-anchor=\"end\" font-size=\"12\">\(String(format: "%.1f", y))</text>\n"
    }
    let ticks = xTicks(xMin, xMax, integer: integerX)
    let fractional = ticks.contains { $0 != $0.rounded() }
    for x in ticks {
      svg +=
        "<line x1=\"\(number(px(x)))\" y1=\"\(number(top + plotHeight))\" x2=\"\(number(px(x)))\" y2=\"\(number(top + plotHeight + 5))\" stroke=\"#333333\"/>\n"
      svg +=
        "<text x=\"\(number(px(x)))\" y=\"\(number(top + plotHeight + 20))\" text-anchor=\"middle\" font-size=\"12\">\(fractional ? String(format: "%.2g", x) : String(Int(saturating: x)))</text>\n"
    }
    svg +=
      "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(number(top + plotHeight + 42))\" text-anchor=\"middle\" font-size=\"14\">\(escape(xLabel))</text>\n"
    svg +=
      "<text x=\"18\" y=\"\(number(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 18 \(number(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"
    var colourIndex = -1
    for (i, s) in series.enumerated() {
      if !s.dashed || colourIndex < 0 { colourIndex += 1 }
      let colour = palette[colourIndex % palette.count]
      let path = s.points.map { "\(number(px($0.0))),\(number(py($0.1)))" }.joined(separator: " ")
      let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
      svg +=
        "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
      for p in s.points where s.points.count <= 40 {
        svg +=
          "<circle cx=\"\(number(px(p.0)))\" cy=\"\(number(py(p.1)))\" r=\"2.5\" fill=\"\(colour)\"/>\n"
      }
      let ly = top + 10 + Double(i) * 18
      let lx = left + plotWidth + 15
      svg +=
        "<line x1=\"\(number(lx))\" y1=\"\(number(ly))\" x2=\"\(number(lx + 24))\" y2=\"\(number(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
      svg +=
        "<text x=\"\(number(lx + 30))\" y=\"\(number(ly + 4))\" font-size=\"12\">\(escape(s.name))</text>\n"
    }
    return svg + "</svg>\n"
  }

  private static func xTicks(_ lo: Double, _ hi: Double, integer: Bool = true) -> [Double] {
    let span = hi - lo
    let steps =
      (integer ? [] : [0.1, 0.2, 0.25, 0.5]) + [1.0, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    let step = steps.first { span / $0 <= 10 } ?? (span / 10).rounded(.up)
    var ticks: [Double] = []
    var x = (lo / step).rounded(.up) * step
    while x <= hi + 1e-9 {
      ticks.append(x)
      x += step
    }
    return ticks
  }

  /// A heatmap with the value written in every cell (blank cells say "n/a").
  /// - Parameters:
  ///   - title: the chart title.
  ///   - rowLabel: what the rows are (e.g. `attack.name`).
  ///   - columnLabel: what the columns are (e.g. `defense.name`).
  ///   - rows: row names.
  ///   - columns: column names.
  ///   - values: `rows x columns` values in 0...1 (nil: no run).
  ///   - higherIsBetter: green for high values when true, for low values when false.
  /// - Returns: the SVG document.
  public static func heatmap(
    title: String, rowLabel: String, columnLabel: String, rows: [String], columns: [String],
    values: [[Double?]], higherIsBetter: Bool
  ) -> String {
    let cell = (w: 110.0, h: 36.0)
    let left = 40 + Double(rows.map(\.count).max() ?? 4) * 7.5
    let top = 90.0
    let width = left + Double(columns.count) * cell.w + 30
    let height = top + Double(rows.count) * cell.h + 40
    var svg = header(width: width, height: height, title: title)
    svg +=
      "<text x=\"\(number(left + Double(columns.count) * cell.w / 2))\" y=\"52\" text-anchor=\"middle\" font-size=\"13\">\(escape(columnLabel))</text>\n"
    svg += "<text x=\"10\" y=\"\(number(top - 8))\" font-size=\"13\">\(escape(rowLabel))</text>\n"
    for (c, name) in columns.enumerated() {
      svg +=
        "<text x=\"\(number(left + (Double(c) + 0.5) * cell.w))\" y=\"\(number(top - 8))\" text-anchor=\"middle\" font-size=\"12\">\(escape(name))</text>\n"
    }
    for (r, name) in rows.enumerated() {
      let y = top + Double(r) * cell.h
      svg +=
        "<text x=\"\(number(left - 8))\" y=\"\(number(y + cell.h / 2 + 4))\" text-anchor=\"end\" font-size=\"12\">\(escape(name))</text>\n"
      for c in columns.indices {
        let x = left + Double(c) * cell.w
        let value = r < values.count && c < values[r].count ? values[r][c] : nil
        let fill = value.map { colour(higherIsBetter ? $0 : 1 - $0) } ?? "#eeeeee"
        svg +=
          "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(cell.w))\" height=\"\(number(cell.h))\" fill=\"\(fill)\" stroke=\"#ffffff\"/>\n"
        let text = value.map { String(format: "%.3f", $0) } ?? "n/a"
        svg +=
          "<text x=\"\(number(x + cell.w / 2))\" y=\"\(number(y + cell.h / 2 + 5))\" text-anchor=\"middle\" font-size=\"13\">\(text)</text>\n"
      }
    }
    return svg + "</svg>\n"
  }

  /// Red (0) to yellow (0.5) to green (1).
  static func colour(_ t: Double) -> String {
    let x = min(max(t, 0), 1)
    let (r, g, b): (Double, Double, Double) =
      x < 0.5
      ? (244, 109 + (x / 0.5) * (224 - 109), 67 + (x / 0.5) * (139 - 67))
      : (
        254 - ((x - 0.5) / 0.5) * (254 - 102), 224 - ((x - 0.5) / 0.5) * (224 - 189),
        139 - ((x - 0.5) / 0.5) * (139 - 99)
      )
    return String(format: "#%02X%02X%02X", Int(r), Int(g), Int(b))
  }

  private static func header(width: Double, height: Double, title: String) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Arial, sans-serif">
    <rect width="100%" height="100%" fill="#ffffff"/>
    <text x="\(Int(width / 2))" y="26" text-anchor="middle" font-size="16" font-weight="bold">\(escape(title))</text>

    """
  }
}

/// Text for XML (SVG, JUnit, HTML) from any string.
public enum XMLText {
  /// `s` with `&`, `<`, `>`, `"` and `'` escaped, and the characters XML 1.0
  /// forbids (control characters other than tab, newline and carriage
  /// return; lone surrogates cannot occur in a Swift string) replaced by
  /// U+FFFD, so that the document stays well-formed whatever a scenario's
  /// name holds.
  /// - Parameter s: the text.
  /// - Returns: the escaped text.
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
      default:
        let v = scalar.value
        if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0xFFFE || v == 0xFFFF {
          out += "\u{FFFD}"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }
}
