import Foundation

/// The pictures an audit leaves for a person to look at (`--audit-dir`).
extension AuditFindings {
  /// What the audit drew, as file names and contents.
  ///
  /// - strip: `strip-entropy.svg`, the entropy histograms;
  /// - neural-cleanse: `neural-cleanse.svg`, every class's reversed trigger
  ///   side by side with its mask norm and anomaly index, and per class
  ///   `neural-cleanse-class-K-{mask,pattern,fusion}.{png,svg}` (the mask in
  ///   grey, the pattern, and the mask times the pattern as it would be
  ///   painted on a black image), enlarged 8 times in the PNG files.
  /// - Parameter title: the scenario's name, for titles.
  /// - Returns: the files, none for methods without pictures.
  public func pictures(title: String) -> [(name: String, bytes: [UInt8])] {
    if method == STRIP.descriptor.name {
      let svg = STRIP.histogram(
        self, title: "STRIP on \(title): prediction entropy of blended inputs")
      return [("strip-entropy.svg", Array(svg.utf8))]
    }
    guard !triggers.isEmpty else { return [] }
    var files: [(name: String, bytes: [UInt8])] = [
      ("neural-cleanse.svg", Array(triggerOverview(title: title).utf8))
    ]
    for trigger in triggers {
      let stem = "neural-cleanse-class-\(trigger.target)"
      for (part, image) in [
        ("mask", trigger.maskImage), ("pattern", trigger.patternImage),
        ("fusion", trigger.fusionImage),
      ] {
        files.append(("\(stem)-\(part).png", image.enlarged(8).png()))
        files.append(("\(stem)-\(part).svg", Array(image.svg().utf8)))
      }
    }
    return files
  }

  /// Whether `name` (a file name, or its `.partial`) is one an audit may
  /// write into `--audit-dir`.
  /// - Parameter name: the file name, without its folder.
  /// - Returns: whether an audit's pictures could take that name.
  public static func isPictureName(_ name: String) -> Bool {
    let base = name.hasSuffix(".partial") ? String(name.dropLast(".partial".count)) : name
    return base == "strip-entropy.svg" || base == "neural-cleanse.svg"
      || base.hasPrefix("neural-cleanse-class-")
  }

  /// Every class's reversed trigger (mask times pattern) above its mask,
  /// labelled with the class, |m|₁ and the anomaly index, at most 10
  /// classes to a row; flagged classes framed and labelled in vermillion.
  func triggerOverview(title: String) -> String {
    let cell = 112
    let gap = 16
    let left = 70
    let perRow = min(10, max(1, triggers.count))
    let blockHeight = 2 * (cell + gap) + 64
    let flagged = Set(flaggedClasses ?? [])
    let flagColour = SVGChart.palette[1]
    let gridWidth = left + perRow * (cell + gap) + 10
    let heading = SVGChart.headingOf(
      "Neural Cleanse on \(title): reversed trigger per class (smallest mask = most suspicious)",
      subtitle: nil, width: Double(max(gridWidth, 480)) - 40)
    let width = max(gridWidth, 480)
    let top = 52 + Int(heading.extra)
    let blocks = (triggers.count + perRow - 1) / perRow
    let height = top + blocks * blockHeight
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Arial, sans-serif">
      <rect width="100%" height="100%" fill="#ffffff"/>

      """
    for (k, line) in heading.lines.enumerated() {
      svg +=
        "<text x=\"\(width / 2)\" y=\"\(26 + 20 * k)\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(SVGChart.escape(line))</text>\n"
    }
    for block in 0..<blocks {
      let y0 = top + block * blockHeight
      svg += """
        <text x="\(left - 8)" y="\(y0 + cell / 2)" font-size="12" text-anchor="end" fill="#444444">m ⊙ Δ</text>
        <text x="\(left - 8)" y="\(y0 + cell + gap + cell / 2)" font-size="12" text-anchor="end" fill="#444444">mask m</text>

        """
    }
    for (index, trigger) in triggers.enumerated() {
      let x = left + (index % perRow) * (cell + gap)
      let y0 = top + (index / perRow) * blockHeight
      let isFlagged = flagged.contains(trigger.target)
      for (row, image) in [trigger.fusionImage, trigger.maskImage].enumerated() {
        let y = y0 + row * (cell + gap)
        let scale = max(1, cell / max(image.width, image.height))
        let data = Data(image.enlarged(scale).png()).base64EncodedString()
        svg +=
          "<image x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" image-rendering=\"pixelated\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,\(data)\"/>\n"
        // The frame sits outside the image, so it never hides a trigger at the edge.
        let (stroke, widthOf) = isFlagged ? (flagColour, 3) : ("#999999", 1)
        let pad = widthOf / 2 + 1
        svg +=
          "<rect x=\"\(x - pad)\" y=\"\(y - pad)\" width=\"\(cell + 2 * pad)\" height=\"\(cell + 2 * pad)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(widthOf)\"/>\n"
      }
      let textY = y0 + 2 * (cell + gap) + 4
      let anomaly = anomalyIndices.map { $0[index] } ?? 0
      let colour = isFlagged ? flagColour : "#222222"
      let weight = isFlagged ? " font-weight=\"bold\"" : ""
      svg += """
        <text x="\(x + cell / 2)" y="\(textY)" font-size="13" text-anchor="middle" fill="\(colour)"\(weight)>class \(trigger.target)\(isFlagged ? " (flagged)" : "")</text>
        <text x="\(x + cell / 2)" y="\(textY + 18)" font-size="12" text-anchor="middle" fill="#444444">|m|₁ \(String(format: "%.1f", trigger.norm))</text>
        <text x="\(x + cell / 2)" y="\(textY + 36)" font-size="12" text-anchor="middle" fill="#444444">index \(String(format: "%.2f", anomaly))</text>

        """
    }
    return svg + "</svg>\n"
  }
}
