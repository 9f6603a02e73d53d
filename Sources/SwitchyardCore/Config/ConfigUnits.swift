/// Parsing of the human units used in the config file: durations (`500ms`, `2s`, `1m`, or a
/// bare number of seconds) and sizes (`64MiB`, `512KiB`, `1GB`, or a bare number of bytes).
public enum ConfigUnits {
    public static func parseDuration(_ text: String) -> Duration? {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count).trimmingWhitespace()
            // "ms" ends with "s": only accept the shortest parse that leaves a number.
            if let value = Double(number), value >= 0, value.isFinite {
                return .milliseconds(Int64((value * scale * 1000).rounded()))
            }
        }
        if let value = Double(t), value >= 0, value.isFinite {
            return .milliseconds(Int64((value * 1000).rounded()))
        }
        return nil
    }

    public static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingWhitespace()
        let units: [(String, Int)] = [
            ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let value = Double(t.dropLast(suffix.count).trimmingWhitespace()), value >= 0 {
                return Int(value * Double(scale))
            }
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// `2s`, `500ms`, `1.5s`: the shortest exact spelling, for printing the effective config.
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
