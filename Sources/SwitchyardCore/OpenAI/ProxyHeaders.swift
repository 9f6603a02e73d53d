/// Header rules of a forwarding proxy (RFC 9110 §7.6.1), on plain name/value pairs so they
/// are testable without NIO.
public enum ProxyHeaders {
    /// Headers that describe one connection, never forwarded in either direction.
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "proxy-authenticate", "proxy-authorization",
    ]

    /// Drops hop-by-hop headers, any header named in `Connection:`, and `extraDropped` (lowercase).
    public static func forwardable(
        _ headers: [(name: String, value: String)], alsoDropping extraDropped: Set<String> = []
    ) -> [(name: String, value: String)] {
        var dropped = hopByHop.union(extraDropped)
        for (name, value) in headers where name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                dropped.insert(token.trimmingWhitespace().lowercased())
            }
        }
        return headers.filter { !dropped.contains($0.name.lowercased()) }
    }

    /// `X-Forwarded-For` after this hop: the client's address appended to any existing list.
    public static func forwardedFor(existing: [String], clientAddress: String?) -> String? {
        let prior = existing.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard let clientAddress else { return prior.isEmpty ? nil : prior.joined(separator: ", ") }
        return (prior + [clientAddress]).joined(separator: ", ")
    }

    /// A request id in vLLM's style when the client sent none: 32 lowercase hex digits.
    public static func makeRequestID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let high = UInt64.random(in: .min ... .max, using: &generator)
        let low = UInt64.random(in: .min ... .max, using: &generator)
        return hex16(high) + hex16(low)
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
