/// The allow-list for `http(s)://` media (`admission.media_domains`): vLLM fetches those URLs
/// from the GPU host, so an operator may want to name where they can point.
public struct MediaDomains: Sendable, Equatable {
    /// Exact host names, and suffixes from `*.domain` entries (with their leading dot).
    var exact: Set<String> = []
    var suffixes: [String] = []

    public init(_ entries: [String]) {
        // "example.com." names example.com: the trailing dot is dropped, as for URLs.
        for entry in entries.map({ String($0.lowercased().reversed().drop { $0 == "." }.reversed()) }) {
            if entry.hasPrefix("*.") { suffixes.append(String(entry.dropFirst(1))) } else { exact.insert(entry) }
        }
    }

    public var isEmpty: Bool { exact.isEmpty && suffixes.isEmpty }

    /// Whether `url` (decoded) may be fetched: its host is listed, or below a `*.` entry. A URL
    /// whose authority has anything parsers disagree on (backslashes, percent signs, spaces,
    /// non-ASCII) is refused rather than guessed at.
    public func allows(_ url: String) -> Bool {
        guard let host = Self.host(of: url) else { return false }
        if exact.contains(host) { return true }
        return suffixes.contains { host.hasSuffix($0) && host.count > $0.count }
    }

    /// The lower-cased host of an `http(s)://` URL, without user info, port or brackets.
    static func host(of url: String) -> String? {
        // The "://" must end the scheme: one later in the URL (`http:/evil/?x=://allowed/`) is not
        // where the authority starts.
        guard let schemeEnd = url.range(of: "://"),
            ["http", "https"].contains(url[..<schemeEnd.lowerBound].lowercased())
        else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard authority.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\\" && $0 != "%" }) else { return nil }
        var host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        while host.hasSuffix(".") { host.removeLast() }  // "example.com." is example.com
        return host.isEmpty ? nil : host.lowercased()
    }
}
