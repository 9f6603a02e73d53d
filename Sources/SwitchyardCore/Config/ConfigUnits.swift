/// Parsing of the human units used in the config file: durations (`500ms`, `2s`, `1m`, or a
/// bare number of seconds) and sizes (`64MiB`, `512KiB`, `1GB`, or a bare number of bytes).
public enum ConfigUnits {
    public static func parseDuration(_ text: String) -> Duration? {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            // "ms" also ends with "s": a suffix counts only if what is left is a number.
            if let value = Double(t.dropLast(suffix.count).trimmingWhitespace()) {
                return milliseconds(seconds: value * scale).map { .milliseconds($0) }
            }
        }
        return Double(t).flatMap { milliseconds(seconds: $0) }.map { .milliseconds($0) }
    }

    /// Durations above a century are typos, and beyond Int64 milliseconds they would overflow.
    private static func milliseconds(seconds: Double) -> Int64? {
        guard seconds.isFinite, seconds >= 0, seconds <= 100 * 365 * 86400 else { return nil }
        return Int64((seconds * 1000).rounded())
    }

    public static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let value = Double(t.dropLast(suffix.count).trimmingWhitespace()) {
                return bytes(value * scale)
            }
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    private static func bytes(_ value: Double) -> Int? {
        guard value.isFinite, value >= 0, value < 0x1p62 else { return nil }
        return Int(value.rounded(.down))
    }

    /// Whole seconds as `2s`, anything else in milliseconds (`1500ms`): exact, for printing the
    /// effective config.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    public static func formatSize(_ bytes: Int) -> String {
        for (suffix, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(suffix)"
        }
        return "\(bytes)"
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = String(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
