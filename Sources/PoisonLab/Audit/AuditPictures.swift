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

  /// Every class's reversed trigger (mask times pattern) and mask in a row,
  /// labelled with the class, |m|₁ and the anomaly index; flagged classes
  /// framed in red.
  func triggerOverview(title: String) -> String {
    let cell = 112
    let gap = 16
    let left = 70
    let top = 48
    let columns = triggers.count
    let width = left + columns * (cell + gap)
    let height = top + 2 * (cell + gap) + 60
    let flagged = Set(flaggedClasses ?? [])
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
      viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(left)" y="24" font-size="16" fill="#222">\(SVGChart.escape(
        "Neural Cleanse on \(title): reversed trigger per class (smallest mask = most suspicious)"))</text>
      <text x="\(left - 8)" y="\(top + cell / 2)" font-size="12" text-anchor="end" fill="#444">m ⊙ Δ</text>
      <text x="\(left - 8)" y="\(top + cell + gap + cell / 2)" font-size="12" text-anchor="end" fill="#444">mask m</text>

      """
    for (column, trigger) in triggers.enumerated() {
      let x = left + column * (cell + gap)
      for (row, image) in [trigger.fusionImage, trigger.maskImage].enumerated() {
        let y = top + row * (cell + gap)
        let scale = max(1, cell / max(image.width, image.height))
        let data = Data(image.enlarged(scale).png()).base64EncodedString()
        svg +=
          "<image x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" href=\"data:image/png;base64,\(data)\"/>\n"
        // The frame sits outside the image, so it never hides a trigger at the edge.
        let (stroke, widthOf) = flagged.contains(trigger.target) ? ("#d62728", 3) : ("#999", 1)
        let pad = widthOf / 2 + 1
        svg +=
          "<rect x=\"\(x - pad)\" y=\"\(y - pad)\" width=\"\(cell + 2 * pad)\" height=\"\(cell + 2 * pad)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(widthOf)\"/>\n"
      }
      let textY = top + 2 * (cell + gap) + 4
      let index = anomalyIndices.map { $0[column] } ?? 0
      let colour = flagged.contains(trigger.target) ? "#d62728" : "#222"
      svg += """
        <text x="\(x + cell / 2)" y="\(textY)" font-size="13" text-anchor="middle" fill="\(colour)">class \(trigger.target)\(flagged.contains(trigger.target) ? " (flagged)" : "")</text>
        <text x="\(x + cell / 2)" y="\(textY + 18)" font-size="12" text-anchor="middle" fill="#444">|m|₁ \(String(format: "%.1f", trigger.norm))</text>
        <text x="\(x + cell / 2)" y="\(textY + 36)" font-size="12" text-anchor="middle" fill="#444">index \(String(format: "%.2f", index))</text>

        """
    }
    return svg + "</svg>\n"
  }
}
