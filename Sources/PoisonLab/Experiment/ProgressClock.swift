import Foundation

/// Elapsed time and the estimate of what is left, for progress lines.
public enum ProgressClock {
  /// `m:ss` (or `h:mm:ss`) of a duration.
  /// - Parameter duration: the duration.
  /// - Returns: the text.
  public static func duration(_ duration: Duration) -> String {
    let total = max(0, Int(duration.components.seconds))
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    return h > 0
      ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
  }

  /// A run's duration: `4.2 s` under a minute, else `m:ss`.
  /// - Parameter duration: the duration.
  /// - Returns: the text.
  public static func short(_ duration: Duration) -> String {
    let seconds = duration.inSeconds
    return seconds < 60 ? String(format: "%.1f s", seconds) : self.duration(duration)
  }

  /// `elapsed m:ss, ETA m:ss` once a share `fraction` of the work is done
  /// (the remaining time extrapolated from the elapsed one; no ETA before
  /// 1% is done).
  /// - Parameters:
  ///   - elapsed: the time so far.
  ///   - fraction: the share done, 0...1.
  /// - Returns: the text.
  public static func status(elapsed: Duration, fraction: Double) -> String {
    var text = "\(duration(elapsed)) elapsed"
    if fraction >= 0.01 && fraction < 1 {
      let seconds = elapsed.inSeconds
      text += ", ETA " + duration(.seconds(seconds * (1 - fraction) / fraction))
    }
    return text
  }
}

extension Duration {
  /// The duration in seconds.
  public var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) * 1e-18
  }
}
