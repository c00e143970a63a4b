import Foundation

/// Self-contained SVG charts (no scripts, no external resources): line
/// charts of per-round metrics, in one panel or as small multiples, and
/// heatmaps of attack x defense results.
public enum SVGChart {
  /// One line of a line chart.
  public struct Series: Sendable {
    /// The legend entry.
    public var name: String
    /// `(x, y)` points, in x order.
    public var points: [(Double, Double)]
    /// Dashed lines (a second metric of the same group).
    public var dashed: Bool
    /// `(x, low, high)`: a band around the line (mean ± std over seeds),
    /// shaded for a solid line, outlined by thin dashed edges for a dashed
    /// one (so that two metrics of one group in one colour stay apart).
    public var band: [(Double, Double, Double)]
    /// The style (colour and marker) index; nil: the next one (a dashed
    /// line shares the style of the line before it).
    public var style: Int?
    /// Whether markers are drawn on the points (not on a histogram's steps).
    public var markers: Bool
    /// A neutral dark grey line, outside the palette (a threshold).
    public var neutral: Bool

    /// Creates a series.
    /// - Parameters:
    ///   - name: the legend entry.
    ///   - points: the points.
    ///   - dashed: whether the line is dashed.
    ///   - band: `(x, low, high)` of a band, or empty.
    ///   - style: the colour and marker index, or nil for the next one.
    ///   - markers: whether markers are drawn on the points.
    ///   - neutral: a dark grey line without markers, outside the palette.
    public init(
      name: String, points: [(Double, Double)], dashed: Bool = false,
      band: [(Double, Double, Double)] = [], style: Int? = nil, markers: Bool = true,
      neutral: Bool = false
    ) {
      self.name = name
      self.points = points
      self.dashed = dashed
      self.band = band
      self.style = style
      self.markers = markers && !neutral
      self.neutral = neutral
    }
  }

  /// Something that happened in a run at an x value, marked across the panel.
  public struct Event: Sendable, Equatable {
    /// What happened.
    public enum Kind: Int, Sendable, Comparable {
      /// The first round with an attacker's message or poisoned data: a dotted line.
      case attackStart
      /// A monitor alarm: a solid wine-red line.
      case alarm
      /// A round whose model the validation gate rejected: a grey column.
      case rejected

      public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }
    /// The x value (a round).
    public var x: Double
    /// What happened.
    public var kind: Kind

    /// Creates an event.
    public init(x: Double, kind: Kind) {
      self.x = x
      self.kind = kind
    }
  }

  /// One panel of a figure: its own title and y axis label, shared x and y ranges.
  public struct Panel: Sendable {
    /// The panel's title (empty: none).
    public var title: String
    /// The y axis label (the metric).
    public var yLabel: String
    /// The lines.
    public var series: [Series]
    /// Events marked across the panel.
    public var events: [Event]

    /// Creates a panel.
    public init(title: String, yLabel: String, series: [Series], events: [Event] = []) {
      self.title = title
      self.yLabel = yLabel
      self.series = series
      self.events = events
    }
  }

  /// Twelve colours readable on white.
  ///
  /// Okabe & Ito's set without its pale yellow (the first seven, safe for
  /// colour-blind readers), then Paul Tol's muted colours. Beyond seven
  /// lines the markers (7 shapes, a period coprime to 12) tell apart what
  /// colour alone may not.
  static let palette = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#44AA99", "#999933", "#332288", "#AA4499",
  ]

  /// Marker shapes, cycled with a period coprime to the palette's, so that
  /// colour and shape together tell 9 or more lines apart.
  static let markers = ["circle", "square", "triangle", "diamond", "down", "plus", "cross"]

  /// The colour of event marks and neutral lines (outside the palette's first seven).
  static let alarmColour = "#882255"
  static let neutralColour = "#555555"

  /// The most lines of a panel whose ±1 std bands are drawn at full
  /// strength; beyond it they are drawn lighter, so that overlapping bands
  /// do not hide each other.
  public static let maxBands = 4

  /// The most lines of a panel with bands at all: beyond it the bands
  /// would cover the panel and are left out.
  public static let maxBandedLines = 8

  /// XML-escapes text.
  static func escape(_ s: String) -> String { XMLText.escape(s) }

  static func number(_ x: Double) -> String { String(format: "%.2f", x) }

  /// The width of `text` at `size` pixels in DejaVu Sans, overestimated
  /// (0.62 em per character), so that labels always fit the canvas.
  static func textWidth(_ text: String, size: Double) -> Double {
    Double(text.count) * size * 0.62
  }

  /// A line chart with labelled axes, ticks, grid lines and a legend.
  /// - Parameters:
  ///   - title: the chart title.
  ///   - xLabel: the x axis label.
  ///   - yLabel: the y axis label.
  ///   - series: the lines.
  ///   - yRange: the y axis range (default: 0...1).
  ///   - integerX: x ticks at whole numbers (rounds); false allows tenths, fifths and halves.
  ///   - events: events marked across the chart.
  ///   - subtitle: a line under the title (a run's failure), or nil.
  /// - Returns: the SVG document.
  public static func lines(
    title: String, xLabel: String, yLabel: String, series: [Series],
    yRange: ClosedRange<Double> = 0...1, integerX: Bool = true, events: [Event] = [],
    subtitle: String? = nil
  ) -> String {
    figure(
      title: title, xLabel: xLabel,
      panels: [Panel(title: "", yLabel: yLabel, series: series, events: events)],
      yRange: yRange, integerX: integerX, subtitle: subtitle)
  }

  /// The legend entry of an event kind.
  static func eventName(_ kind: Event.Kind) -> String {
    switch kind {
    case .attackStart: return "first malicious update"
    case .alarm: return "alarm"
    case .rejected: return "rejected by the gate"
    }
  }

  /// Panels side by side (`columns` per row) on shared axes, with one legend
  /// on the right that lists every line name once, in its colour, marker and
  /// dash, then the kinds of events marked.
  /// - Parameters:
  ///   - title: the figure title (wrapped to the figure's width).
  ///   - xLabel: the x axis label of every panel.
  ///   - panels: the panels.
  ///   - columns: panels per row.
  ///   - yRange: the y range of every panel.
  ///   - integerX: x ticks at whole numbers.
  ///   - legendTitle: a heading over the legend (what the line names are), or nil.
  ///   - subtitle: a line under the title, or nil.
  /// - Returns: the SVG document.
  public static func figure(
    title: String, xLabel: String, panels: [Panel], columns: Int = 2,
    yRange: ClosedRange<Double> = 0...1, integerX: Bool = true, legendTitle: String? = nil,
    subtitle: String? = nil
  ) -> String {
    let columns = max(1, min(columns, panels.count))
    let rows = (panels.count + columns - 1) / columns
    let single = panels.count == 1
    let (plotWidth, plotHeight) = single ? (460.0, 340.0) : (300.0, 220.0)
    // Each panel's y label sits in the gap to its left: the gap is wide enough for it.
    let titled = panels.contains { !$0.title.isEmpty }
    // Panel titles wider than a panel wrap onto more lines; the space above
    // each row of panels grows with the longest.
    let titleWidth = plotWidth + 84 - 16
    let titleLines = panels.map { wrap($0.title, width: titleWidth, size: 13).count }.max() ?? 1
    let extra = Double(max(0, titleLines - 2)) * 13
    // Styles: one per line name, in order of first appearance; a dashed
    // line without its own style shares the one before it.
    var styleOf: [String: Int] = [:]
    var legend: [(name: String, style: Int, dashed: Bool, neutral: Bool, markers: Bool)] = []
    var styled = panels
    var next = 0
    for p in styled.indices {
      var last = -1
      for i in styled[p].series.indices {
        let s = styled[p].series[i]
        let style: Int
        if let given = s.style {
          style = given
        } else if let known = styleOf[s.name] {
          style = known
        } else if s.dashed && last >= 0 {
          style = last
        } else if s.neutral {
          style = 0
        } else {
          style = next
          next += 1
        }
        styled[p].series[i].style = style
        if !s.neutral { last = style }
        if styleOf[s.name] == nil {
          styleOf[s.name] = style
          legend.append((s.name, style, s.dashed, s.neutral, s.markers))
        }
      }
    }
    let eventKinds = Set(panels.flatMap { $0.events.map(\.kind) }).sorted()
    let legendNames = legend.map(\.name) + eventKinds.map(eventName) + [legendTitle ?? ""]
    let legendWidth = (legendNames.map { textWidth($0, size: 12) }.max() ?? 0) + 60
    let gridWidth = Double(columns) * plotWidth + Double(columns - 1) * gapXDefault
    let width = 70 + gridWidth + 20 + legendWidth
    // The title wraps to the figure's width instead of widening it.
    let heading = headingOf(title, subtitle: subtitle, width: width - 40)
    let (left, gapX, top, gapY) = (
      70.0, gapXDefault, (single && !titled ? 50.0 : 62.0) + extra + heading.extra, 86.0 + extra
    )
    let legendRows = Double(legend.count + eventKinds.count + (legendTitle == nil ? 0 : 1))
    let height = max(
      top + Double(rows) * plotHeight + Double(rows - 1) * gapY + 60,
      top + legendRows * 18 + 40)
    let xs = panels.flatMap { $0.series.flatMap { $0.points.map(\.0) } + $0.events.map(\.x) }
    var xMin = xs.min() ?? 0
    var xMax = xs.max() ?? 1
    if xMax - xMin < 1e-12 {
      // One x value (a single round): centred in a range one step wide.
      (xMin, xMax) = (xMin - 0.5, xMax + 0.5)
    } else if integerX {
      xMax = max(xMax, xMin + 1)
    }
    var svg = header(width: width, height: height, heading: heading)
    for (p, panel) in styled.enumerated() {
      let ox = left + Double(p % columns) * (plotWidth + gapX)
      let oy = top + Double(p / columns) * (plotHeight + gapY)
      let px = { (x: Double) in ox + (x - xMin) / (xMax - xMin) * plotWidth }
      let py = { (y: Double) in
        oy + plotHeight - (min(max(y, yRange.lowerBound), yRange.upperBound) - yRange.lowerBound)
          / (yRange.upperBound - yRange.lowerBound) * plotHeight
      }
      if !panel.title.isEmpty {
        // A title wider than its panel is wrapped (at spaces) onto as many
        // lines as it needs, smaller, so that it never runs into its
        // neighbour's.
        let lines = wrap(panel.title, width: titleWidth, size: 13)
        let size = lines.count > 1 ? 11.0 : 13.0
        for (k, line) in lines.enumerated() {
          let y = oy - 8 - Double(lines.count - 1 - k) * (size + 2)
          svg +=
            "<text x=\"\(number(ox + plotWidth / 2))\" y=\"\(number(y))\" text-anchor=\"middle\" font-size=\"\(Int(size))\" font-weight=\"bold\">\(escape(line))</text>\n"
        }
      }
      svg +=
        "<rect x=\"\(number(ox))\" y=\"\(number(oy))\" width=\"\(number(plotWidth))\" height=\"\(number(plotHeight))\" fill=\"#ffffff\" stroke=\"#333333\"/>\n"
      // Rejected rounds as grey columns one round wide, under everything else.
      let columnWidth = plotWidth / max(1, (xMax - xMin)) * (integerX ? 1 : 0.02 * (xMax - xMin))
      for event in panel.events where event.kind == .rejected {
        let x0 = max(ox, px(event.x) - columnWidth / 2)
        let x1 = min(ox + plotWidth, px(event.x) + columnWidth / 2)
        svg +=
          "<rect x=\"\(number(x0))\" y=\"\(number(oy + 0.5))\" width=\"\(number(max(1, x1 - x0)))\" height=\"\(number(plotHeight - 1))\" fill=\"#000000\" fill-opacity=\"0.10\" stroke=\"none\"/>\n"
      }
      let (yTicks, yDecimals) = Self.yTicks(yRange.lowerBound, yRange.upperBound)
      for y in yTicks {
        svg +=
          "<line x1=\"\(number(ox))\" y1=\"\(number(py(y)))\" x2=\"\(number(ox + plotWidth))\" y2=\"\(number(py(y)))\" stroke=\"#e4e4e4\"/>\n"
        svg +=
          "<text x=\"\(number(ox - 6))\" y=\"\(number(py(y) + 4))\" text-anchor=\"end\" font-size=\"11\">\(String(format: "%.\(yDecimals)f", y))</text>\n"
      }
      let (ticks, xDecimals) = xTicks(xMin, xMax, integer: integerX)
      for x in ticks {
        svg +=
          "<line x1=\"\(number(px(x)))\" y1=\"\(number(oy + plotHeight))\" x2=\"\(number(px(x)))\" y2=\"\(number(oy + plotHeight + 5))\" stroke=\"#333333\"/>\n"
        svg +=
          "<text x=\"\(number(px(x)))\" y=\"\(number(oy + plotHeight + 18))\" text-anchor=\"middle\" font-size=\"11\">\(String(format: "%.\(xDecimals)f", x))</text>\n"
      }
      svg +=
        "<text x=\"\(number(ox + plotWidth / 2))\" y=\"\(number(oy + plotHeight + 38))\" text-anchor=\"middle\" font-size=\"13\">\(escape(xLabel))</text>\n"
      let ly = oy + plotHeight / 2
      svg +=
        "<text x=\"\(number(ox - 44))\" y=\"\(number(ly))\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 \(number(ox - 44)) \(number(ly)))\">\(escape(panel.yLabel))</text>\n"
      // Attack start and alarms as vertical lines across the panel.
      for event in panel.events.filter({ $0.kind == .alarm })
        + panel.events.filter({ $0.kind == .attackStart })
      {
        let x = number(px(event.x))
        let look =
          event.kind == .alarm
          ? "stroke=\"\(alarmColour)\" stroke-width=\"1.5\""
          : "stroke=\"#333333\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\""
        svg +=
          "<line x1=\"\(x)\" y1=\"\(number(oy + 1))\" x2=\"\(x)\" y2=\"\(number(oy + plotHeight - 1))\" \(look)/>\n"
      }
      // Bands first, so that every line stays on top of every band; with
      // more than `maxBands` lines they are lighter, so that overlapping
      // bands do not hide each other. A dashed line's band is outlined.
      let opacity = panel.series.count <= maxBands ? "0.15" : "0.07"
      for s in panel.series where s.band.count > 1 && panel.series.count <= maxBandedLines {
        let colour = palette[(s.style ?? 0) % palette.count]
        if s.dashed {
          for edge in [s.band.map { ($0.0, $0.1) }, s.band.map { ($0.0, $0.2) }] {
            let path = edge.map { "\(number(px($0.0))),\(number(py($0.1)))" }.joined(
              separator: " ")
            svg +=
              "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"0.8\" stroke-opacity=\"0.6\" stroke-dasharray=\"2 2\"/>\n"
          }
          continue
        }
        let upper = s.band.map { "\(number(px($0.0))),\(number(py($0.2)))" }
        let lower = s.band.reversed().map { "\(number(px($0.0))),\(number(py($0.1)))" }
        svg +=
          "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"\(opacity)\" stroke=\"none\"/>\n"
      }
      for s in panel.series {
        let style = s.style ?? 0
        let colour = s.neutral ? neutralColour : palette[style % palette.count]
        let path = s.points.map { "\(number(px($0.0))),\(number(py($0.1)))" }.joined(
          separator: " ")
        let dash = s.dashed ? " stroke-dasharray=\"7 4\"" : ""
        svg +=
          "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
        guard s.markers else { continue }
        let every = max(1, s.points.count / 12)
        for (k, point) in s.points.enumerated() where k % every == 0 || k == s.points.count - 1 {
          svg += marker(style, x: px(point.0), y: py(point.1), colour: colour, hollow: s.dashed)
        }
      }
    }
    let lx = left + gridWidth + 20
    var y = top + 10
    if let legendTitle {
      svg +=
        "<text x=\"\(number(lx))\" y=\"\(number(y + 4))\" font-size=\"12\" font-style=\"italic\">\(escape(legendTitle))</text>\n"
      y += 18
    }
    for entry in legend {
      let colour = entry.neutral ? neutralColour : palette[entry.style % palette.count]
      let dash = entry.dashed ? " stroke-dasharray=\"7 4\"" : ""
      svg +=
        "<line x1=\"\(number(lx))\" y1=\"\(number(y))\" x2=\"\(number(lx + 34))\" y2=\"\(number(y))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
      if entry.markers {
        svg += marker(entry.style, x: lx + 17, y: y, colour: colour, hollow: entry.dashed)
      }
      svg +=
        "<text x=\"\(number(lx + 42))\" y=\"\(number(y + 4))\" font-size=\"12\">\(escape(entry.name))</text>\n"
      y += 18
    }
    for kind in eventKinds {
      switch kind {
      case .rejected:
        svg +=
          "<rect x=\"\(number(lx + 10))\" y=\"\(number(y - 7))\" width=\"14\" height=\"14\" fill=\"#000000\" fill-opacity=\"0.10\"/>\n"
      case .alarm:
        svg +=
          "<line x1=\"\(number(lx + 17))\" y1=\"\(number(y - 7))\" x2=\"\(number(lx + 17))\" y2=\"\(number(y + 7))\" stroke=\"\(alarmColour)\" stroke-width=\"1.5\"/>\n"
      case .attackStart:
        svg +=
          "<line x1=\"\(number(lx + 17))\" y1=\"\(number(y - 7))\" x2=\"\(number(lx + 17))\" y2=\"\(number(y + 7))\" stroke=\"#333333\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>\n"
      }
      svg +=
        "<text x=\"\(number(lx + 42))\" y=\"\(number(y + 4))\" font-size=\"12\">\(escape(eventName(kind)))</text>\n"
      y += 18
    }
    return svg + "</svg>\n"
  }

  /// The gap between panels side by side.
  static let gapXDefault = 84.0

  /// A title wrapped to `width` at 16 pixels and an optional subtitle
  /// wrapped at 12 pixels (at most 3 lines), with the height they add
  /// beyond one title line.
  struct Heading {
    var lines: [String]
    var subtitle: [String]
    var extra: Double
  }

  /// The words of `text`, a word wider than `width` at `size` pixels cut
  /// into pieces that fit (a name or a path without spaces).
  static func words(_ text: String, width: Double, size: Double) -> [String] {
    let most = max(1, Int(width / (size * 0.62)))
    return text.split(separator: " ", omittingEmptySubsequences: false).flatMap { word in
      let characters = Array(word)
      guard characters.count > most else { return [String(word)] }
      return stride(from: 0, to: characters.count, by: most).map {
        String(characters[$0..<min($0 + most, characters.count)])
      }
    }
  }

  /// `text` broken at spaces (and inside words wider than a line) into
  /// lines that fit `width` at `size` pixels.
  static func fill(_ text: String, width: Double, size: Double) -> [String] {
    guard textWidth(text, size: size) > width else { return [text] }
    var lines: [String] = []
    var line = ""
    for word in words(text, width: width, size: size) {
      let candidate = line.isEmpty ? String(word) : line + " " + word
      if !line.isEmpty && textWidth(candidate, size: size) > width {
        lines.append(line)
        line = String(word)
      } else {
        line = candidate
      }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
  }

  /// The heading of a figure `width` wide.
  static func headingOf(_ title: String, subtitle: String?, width: Double) -> Heading {
    let lines = fill(title, width: width, size: 16)
    var notes = subtitle.map { fill($0, width: width, size: 12) } ?? []
    if notes.count > 3 { notes = Array(notes.prefix(3)) + ["…"] }
    let extra = Double(lines.count - 1) * 20 + Double(notes.count) * 16
    return Heading(lines: lines, subtitle: notes, extra: extra)
  }

  /// The lines of a panel title.
  ///
  /// `text` on one line when it fits `width` at `size` pixels; else broken
  /// at spaces into lines that fit `width` at the smaller wrapped size (11
  /// pixels): two lines split near the middle when two suffice, otherwise
  /// filled greedily. A word wider than `width` is cut into pieces that fit.
  static func wrap(_ text: String, width: Double, size: Double) -> [String] {
    guard textWidth(text, size: size) > width else { return [text] }
    let characters = Array(text)
    let wrapped = 11.0
    // Two lines, broken at the space nearest the middle, when both fit.
    var best: Int?
    for (i, c) in characters.enumerated() where c == " " {
      if best.map({ abs($0 - characters.count / 2) > abs(i - characters.count / 2) }) ?? true {
        best = i
      }
    }
    if let cut = best {
      let halves = [String(characters[..<cut]), String(characters[(cut + 1)...])]
      if halves.allSatisfy({ textWidth($0, size: wrapped) <= width }) { return halves }
    }
    return fill(text, width: width, size: wrapped)
  }

  /// A marker of style `style` centred on `(x, y)`.
  static func marker(_ style: Int, x: Double, y: Double, colour: String, hollow: Bool) -> String {
    let r = 3.5
    let fill = hollow ? "#ffffff" : colour
    let paint = "fill=\"\(fill)\" stroke=\"\(colour)\" stroke-width=\"1.3\""
    func points(_ p: [(Double, Double)]) -> String {
      p.map { "\(number(x + $0.0)),\(number(y + $0.1))" }.joined(separator: " ")
    }
    switch markers[style % markers.count] {
    case "square":
      return
        "<rect x=\"\(number(x - r))\" y=\"\(number(y - r))\" width=\"\(number(2 * r))\" height=\"\(number(2 * r))\" \(paint)/>\n"
    case "triangle":
      return "<polygon points=\"\(points([(0, -r - 1), (r + 1, r), (-r - 1, r)]))\" \(paint)/>\n"
    case "down":
      return "<polygon points=\"\(points([(0, r + 1), (r + 1, -r), (-r - 1, -r)]))\" \(paint)/>\n"
    case "diamond":
      return
        "<polygon points=\"\(points([(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)]))\" \(paint)/>\n"
    case "plus":
      return
        "<path d=\"M\(number(x - r - 1)),\(number(y))H\(number(x + r + 1))M\(number(x)),\(number(y - r - 1))V\(number(y + r + 1))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
    case "cross":
      return
        "<path d=\"M\(number(x - r)),\(number(y - r))L\(number(x + r)),\(number(y + r))M\(number(x - r)),\(number(y + r))L\(number(x + r)),\(number(y - r))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
    default:
      return "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"\(number(r))\" \(paint)/>\n"
    }
  }

  /// Y ticks at multiples of a 1-2-2.5-5 step (at most 6 of them over the
  /// range), and the decimals that print the step exactly: each label is
  /// the value at its grid line, never a rounding of an odd fraction.
  static func yTicks(_ lo: Double, _ hi: Double) -> (ticks: [Double], decimals: Int) {
    let span = hi - lo
    guard span > 0, span.isFinite else { return ([lo], 1) }
    var magnitude = pow(10, (log10(span / 5)).rounded(.down))
    var step = magnitude
    search: while true {
      for factor in [1.0, 2, 2.5, 5] where span / (factor * magnitude) <= 5.0001 {
        step = factor * magnitude
        break search
      }
      magnitude *= 10
    }
    var decimals = 0
    while decimals < 6 {
      let scaled = step * pow(10, Double(decimals))
      if abs(scaled - scaled.rounded()) < 1e-9 { break }
      decimals += 1
    }
    var ticks: [Double] = []
    var k = (lo / step - 1e-9).rounded(.up)
    while k * step <= hi + step * 1e-9 {
      ticks.append(k * step == 0 ? 0 : k * step)
      k += 1
    }
    return (ticks, max(decimals, 1))
  }

  /// X ticks at most 10 steps apart over the range, and the decimals
  /// that print the step exactly (`1.25`, not `1.2`).
  static func xTicks(_ lo: Double, _ hi: Double, integer: Bool = true)
    -> (ticks: [Double], decimals: Int)
  {
    let span = hi - lo
    guard span > 0, span.isFinite else { return ([lo], 0) }
    let step: Double
    if integer {
      step =
        [1.0, 2, 5, 10, 20, 50, 100, 200, 500, 1000].first { span / $0 <= 10 }
        ?? (span / 10).rounded(.up)
    } else {
      // A 1-2-2.5-5 step of any magnitude (entropies, fractions).
      var magnitude = pow(10, (log10(span / 10)).rounded(.down))
      var found: Double?
      while found == nil {
        found = [1.0, 2, 2.5, 5].map { $0 * magnitude }.first { span / $0 <= 10.0001 }
        magnitude *= 10
      }
      step = found ?? span
    }
    var decimals = 0
    while decimals < 6 {
      let scaled = step * pow(10, Double(decimals))
      if abs(scaled - scaled.rounded()) < 1e-9 { break }
      decimals += 1
    }
    var ticks: [Double] = []
    var k = (lo / step - 1e-9).rounded(.up)
    while k * step <= hi + step * 1e-9 {
      ticks.append(k * step == 0 ? 0 : k * step)
      k += 1
    }
    return (ticks, decimals)
  }

  /// One heatmap cell: mean, standard deviation and the number of runs
  /// with a value, and the runs that failed.
  public struct HeatCell: Sendable, Equatable {
    public var mean: Double
    public var std: Double
    /// Runs with a value (0: none; the cell says `failed` or `n/a`).
    public var count: Int
    /// Runs that failed (diverged, or stopped by an error).
    public var failed: Int

    /// Creates a cell.
    public init(mean: Double, std: Double, count: Int, failed: Int = 0) {
      self.mean = mean
      self.std = std
      self.count = count
      self.failed = failed
    }
  }

  /// A value in a heatmap cell: 3 decimals for rates, about 4
  /// significant digits from 0.01 to 10^4, exponent form beyond; `like`
  /// (a mean) sets the form of a standard deviation printed beside it.
  static func short(_ x: Double, like reference: Double? = nil) -> String {
    let a = abs(reference ?? x)
    if a >= 0.01 && a < 10_000 || a == 0 {
      let decimals = a == 0 ? 3 : min(3, max(0, 3 - Int(log10(a).rounded(.down))))
      return String(format: "%.\(decimals)f", x)
    }
    return String(format: "%.2e", x)
  }

  /// A heatmap with mean ± std and n in every cell and a colour bar.
  ///
  /// Column headers are rotated when they would overlap. A cell without a run
  /// says `no run`; one whose runs all failed says `failed` (hatched); one
  /// whose runs have no value of the metric (attack success without a
  /// trigger) says `n/a`; some failed runs beside values are counted under
  /// the value.
  ///
  /// Colours follow the cividis scale (Nuñez, Anderton & Renslow 2018,
  /// readable with colour-vision deficiency) over `range` (rates: 0 to 1,
  /// so that colours compare across figures), else over the observed range
  /// widened to round ticks; the colour bar gives the scale. Bright is
  /// good for the defender (high accuracy, low attack success).
  /// - Parameters:
  ///   - title: the chart title.
  ///   - rowLabel: what the rows are (e.g. `attack.name`).
  ///   - columnLabel: what the columns are (e.g. `defense.name`).
  ///   - rows: row names.
  ///   - columns: column names.
  ///   - cells: `rows x columns` cells (nil: no run).
  ///   - metric: the metric shown (colour bar label).
  ///   - higherIsBetter: bright for high values when true, for low values when false.
  ///   - range: the colour scale's range (nil: the observed values').
  /// - Returns: the SVG document.
  public static func heatmap(
    title: String, rowLabel: String, columnLabel: String, rows: [String], columns: [String],
    cells: [[HeatCell?]], metric: String, higherIsBetter: Bool,
    range: ClosedRange<Double>? = nil
  ) -> String {
    func cellAt(_ r: Int, _ c: Int) -> HeatCell? {
      r < cells.count && c < cells[r].count ? cells[r][c] : nil
    }
    func main(_ value: HeatCell) -> String {
      value.count > 1
        ? "\(short(value.mean)) ± \(short(value.std, like: value.mean))" : short(value.mean)
    }
    func detail(_ value: HeatCell) -> String {
      value.failed > 0 ? "n=\(value.count), \(value.failed) failed" : "n=\(value.count)"
    }
    // Cells as wide as their longest text.
    let texts = cells.flatMap { $0.compactMap { $0 } }.filter { $0.count > 0 }
    let widestText =
      texts.map { max(textWidth(main($0), size: 12), textWidth(detail($0), size: 10)) }.max() ?? 0
    let cell = (w: max(124.0, widestText + 16), h: 44.0)
    let left =
      30 + max(textWidth(rowLabel, size: 13), rows.map { textWidth($0, size: 12) }.max() ?? 0)
    let widest = columns.map { textWidth($0, size: 12) }.max() ?? 0
    let rotate = widest > cell.w - 8
    // A header rotated by 35 degrees reaches cos 35 = 0.82 of its width to
    // the right and sin 35 = 0.57 of it up.
    let headerHeight = rotate ? widest * 0.58 + 20 : 24
    let reach = rotate ? widest * 0.82 : 0
    let values = texts.map(\.mean).filter(\.isFinite)
    var (low, high): (Double, Double)
    if let range {
      (low, high) = (range.lowerBound, range.upperBound)
    } else {
      (low, high) = (values.min() ?? 0, values.max() ?? 1)
      // Values equal to six digits: a band 10% wide around them.
      if !(high / 2 - low / 2 > 5e-7 * max(abs(high), abs(low), 1e-300)) {
        let pad = max(abs(high) * 0.05, 0.05)
        (low, high) = (low - pad, high + pad)
      }
      // Widened to the ticks around it, so that the bar's labels are round
      // (computed on halves: the span of values near double's limits overflows).
      let ticks = yTicks(low / 2, high / 2).ticks.map { $0 * 2 }
      if let first = ticks.first, let last = ticks.last,
        let step = ticks.count > 1 ? ticks[1] - first : nil
      {
        low = first > low ? first - step : first
        high = last < high ? last + step : last
      }
    }
    let (halfTicks, halfDecimals) = yTicks(low / 2, high / 2)
    let (barTicks, barDecimals) =
      (high - low).isFinite ? yTicks(low, high) : (halfTicks.map { $0 * 2 }, halfDecimals)
    // Fixed decimals within 0.01 ... 10^4, exponent form beyond, with as
    // many digits as it takes to tell the ticks apart.
    let fixed = barTicks.allSatisfy { $0 == 0 || (0.01..<10_000).contains(abs($0)) }
    let digits =
      (0...9).first { extra in
        Set(barTicks.map { tick(fixed: fixed, decimals: barDecimals, extra: extra, $0) }).count
          == barTicks.count
      } ?? 9
    func tickText(_ v: Double) -> String {
      tick(fixed: fixed, decimals: barDecimals, extra: digits, v)
    }
    let barLabelWidth = barTicks.map { textWidth(tickText($0), size: 11) }.max() ?? 40
    let gridRight = Double(columns.count) * cell.w
    // The bar stands right of the grid, below the rotated headers, whose
    // reach the canvas holds.
    let barX = gridRight + 30
    let contentWidth = max(
      left + barX + 28 + max(barLabelWidth, textWidth(metric, size: 12)) + 20,
      left + gridRight - cell.w / 2 + reach + 16)
    let heading = headingOf(title, subtitle: nil, width: max(contentWidth, 480) - 40)
    let width = max(contentWidth, 480)
    let top = 70 + headerHeight + heading.extra
    let height = max(top + Double(rows.count) * cell.h + 50, top + 200)
    func shade(_ v: Double) -> Double {
      // Halves: no overflow near double's limits.
      let t = (v / 2 - low / 2) / (high / 2 - low / 2)
      return higherIsBetter ? t : 1 - t
    }
    var svg = header(width: width, height: height, heading: heading)
    svg +=
      "<defs><pattern id=\"failed\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#f2f2f2\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#c8c8c8\" stroke-width=\"3\"/></pattern></defs>\n"
    svg +=
      "<text x=\"\(number(left + gridRight / 2))\" y=\"\(number(52 + heading.extra))\" text-anchor=\"middle\" font-size=\"13\">\(escape(columnLabel))</text>\n"
    svg +=
      "<text x=\"\(number(left - 8))\" y=\"\(number(top - 8))\" text-anchor=\"end\" font-size=\"13\" font-style=\"italic\">\(escape(rowLabel))</text>\n"
    for (c, name) in columns.enumerated() {
      let x = left + (Double(c) + 0.5) * cell.w
      if rotate {
        svg +=
          "<text x=\"\(number(x))\" y=\"\(number(top - 8))\" text-anchor=\"start\" font-size=\"12\" transform=\"rotate(-35 \(number(x)) \(number(top - 8)))\">\(escape(name))</text>\n"
      } else {
        svg +=
          "<text x=\"\(number(x))\" y=\"\(number(top - 8))\" text-anchor=\"middle\" font-size=\"12\">\(escape(name))</text>\n"
      }
    }
    for (r, name) in rows.enumerated() {
      let y = top + Double(r) * cell.h
      svg +=
        "<text x=\"\(number(left - 8))\" y=\"\(number(y + cell.h / 2 + 4))\" text-anchor=\"end\" font-size=\"12\">\(escape(name))</text>\n"
      for c in columns.indices {
        let x = left + Double(c) * cell.w
        let value = cellAt(r, c)
        let t = value.flatMap { $0.count > 0 && $0.mean.isFinite ? shade($0.mean) : nil }
        let fill =
          t.map(cividis)
          ?? (value.map { $0.failed > 0 && $0.count == 0 } == true
            ? "url(#failed)" : "#eeeeee")
        let ink = (t ?? 1) < 0.55 ? "#ffffff" : "#111111"
        svg +=
          "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(cell.w))\" height=\"\(number(cell.h))\" fill=\"\(fill)\" stroke=\"#ffffff\"/>\n"
        let centre = number(x + cell.w / 2)
        if let value, value.count > 0 {
          svg +=
            "<text x=\"\(centre)\" y=\"\(number(y + 19))\" text-anchor=\"middle\" font-size=\"12\" fill=\"\(ink)\">\(main(value))</text>\n"
          svg +=
            "<text x=\"\(centre)\" y=\"\(number(y + 35))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(ink)\">\(detail(value))</text>\n"
        } else {
          let (label, note): (String, String?) =
            value == nil
            ? ("no run", nil)
            : value?.failed ?? 0 > 0 ? ("failed", "\(value?.failed ?? 0) run(s)") : ("n/a", nil)
          let ink = label == "failed" ? "#111111" : "#555555"
          let weight = label == "failed" ? " font-weight=\"bold\"" : ""
          svg +=
            "<text x=\"\(centre)\" y=\"\(number(y + (note == nil ? cell.h / 2 + 4 : 19)))\" text-anchor=\"middle\" font-size=\"12\" fill=\"\(ink)\"\(weight)>\(label)</text>\n"
          if let note {
            svg +=
              "<text x=\"\(centre)\" y=\"\(number(y + 35))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(ink)\">\(note)</text>\n"
          }
        }
      }
    }
    // The colour bar: the metric's value from low (bottom) to high (top).
    let barLeft = left + barX
    let barTop = top
    let barHeight = max(120, min(Double(rows.count) * cell.h, 260))
    let steps = 40
    for k in 0..<steps {
      let v = high - (Double(k) + 0.5) / Double(steps) * (high - low)
      svg +=
        "<rect x=\"\(number(barLeft))\" y=\"\(number(barTop + Double(k) * barHeight / Double(steps)))\" width=\"16\" height=\"\(number(barHeight / Double(steps) + 0.5))\" fill=\"\(cividis(shade(v)))\"/>\n"
    }
    svg +=
      "<rect x=\"\(number(barLeft))\" y=\"\(number(barTop))\" width=\"16\" height=\"\(number(barHeight))\" fill=\"none\" stroke=\"#333333\"/>\n"
    for v in barTicks {
      let y = barTop + (high / 2 - v / 2) / (high / 2 - low / 2) * barHeight
      svg +=
        "<line x1=\"\(number(barLeft + 16))\" y1=\"\(number(y))\" x2=\"\(number(barLeft + 21))\" y2=\"\(number(y))\" stroke=\"#333333\"/>\n"
      svg +=
        "<text x=\"\(number(barLeft + 24))\" y=\"\(number(y + 4))\" font-size=\"11\">\(tickText(v))</text>\n"
    }
    svg +=
      "<text x=\"\(number(barLeft))\" y=\"\(number(barTop + barHeight + 20))\" font-size=\"12\">\(escape(metric))</text>\n"
    return svg + "</svg>\n"
  }

  /// A colour bar tick: `decimals + extra` fixed decimals, or `1 + extra`
  /// digits after the point in exponent form.
  static func tick(fixed: Bool, decimals: Int, extra: Int, _ v: Double) -> String {
    fixed || v == 0
      ? String(format: "%.\(decimals + extra)f", v) : String(format: "%.\(1 + extra)e", v)
  }

  /// The cividis colour scale at `t` in [0, 1] (dark blue to yellow), by
  /// linear interpolation between 9 of its published stops.
  static func cividis(_ t: Double) -> String {
    let stops: [(Double, Double, Double)] = [
      (0, 34, 78), (35, 60, 107), (75, 86, 108), (108, 110, 114), (138, 135, 121),
      (168, 161, 118), (202, 188, 106), (237, 216, 84), (253, 234, 69),
    ]
    let x = (t.isNaN ? 0 : min(max(t, 0), 1)) * Double(stops.count - 1)
    let i = min(Int(x), stops.count - 2)
    let f = x - Double(i)
    let (a, b) = (stops[i], stops[i + 1])
    return String(
      format: "#%02X%02X%02X", Int(a.0 + (b.0 - a.0) * f), Int(a.1 + (b.1 - a.1) * f),
      Int(a.2 + (b.2 - a.2) * f))
  }

  /// The document's opening, white background and heading.
  private static func header(width: Double, height: Double, heading: Heading) -> String {
    var text = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Arial, sans-serif">
      <rect width="100%" height="100%" fill="#ffffff"/>

      """
    for (k, line) in heading.lines.enumerated() {
      text +=
        "<text x=\"\(Int(width / 2))\" y=\"\(26 + 20 * k)\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(escape(line))</text>\n"
    }
    for (k, line) in heading.subtitle.enumerated() {
      text +=
        "<text x=\"\(Int(width / 2))\" y=\"\(26 + 20 * (heading.lines.count - 1) + 19 + 16 * k)\" text-anchor=\"middle\" font-size=\"12\" fill=\"\(alarmColour)\">\(escape(line))</text>\n"
    }
    return text
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
