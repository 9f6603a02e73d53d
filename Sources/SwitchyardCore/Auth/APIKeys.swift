import Crypto

/// What one tenant may use. Nil: no limit of that kind.
public struct TenantLimits: Sendable, Equatable {
    public var maxConcurrent: Int?
    public var requestsPerMinute: Int?
    /// Tokens as admission estimates them: prompt (text and images) plus the output reserved.
    public var tokensPerMinute: Int?
    public init(maxConcurrent: Int? = nil, requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.maxConcurrent = maxConcurrent
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    public var isEmpty: Bool { maxConcurrent == nil && requestsPerMinute == nil && tokensPerMinute == nil }
}

/// One accepted API key, kept only as its SHA-256.
public struct APIKey: Sendable, Equatable {
    public var sha256: [UInt8]
    public var tenant: String
    public var limits: TenantLimits

    public init(sha256: [UInt8], tenant: String, limits: TenantLimits = TenantLimits()) {
        self.sha256 = sha256
        self.tenant = tenant
        self.limits = limits
    }

    public init(key: String, tenant: String, limits: TenantLimits = TenantLimits()) {
        self.init(sha256: APIKey.hash(key), tenant: tenant, limits: limits)
    }

    public static func hash(_ key: String) -> [UInt8] { Array(SHA256.hash(data: Array(key.utf8))) }

    /// Lower-case hex of 64 digits, as `sha256sum` prints it.
    public static func parseHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.lowercased().utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// API keys for the client listener. With none configured, anyone may call.
public struct AuthConfig: Sendable, Equatable {
    public var keys: [APIKey] = []
    public init() {}

    public var enabled: Bool { !keys.isEmpty }

    /// The key a client presented in `Authorization: Bearer …` (or `x-api-key`), hashed and
    /// compared with every configured hash in constant time: neither which key matched nor how
    /// much of it can be learned from the time taken. Nil: no such key.
    public func tenant(presenting key: some StringProtocol) -> APIKey? {
        let presented = APIKey.hash(String(key))
        var match: APIKey?
        for candidate in keys where Self.constantTimeEqual(candidate.sha256, presented) && match == nil {
            match = candidate
        }
        return match
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// `SWITCHYARD_API_KEYS`: `key=tenant` pairs separated by commas (a key alone is its own
    /// tenant's hash prefix).
    public static func parseEnvironment(_ text: String) throws(ConfigError) -> [APIKey] {
        var keys: [APIKey] = []
        for (position, item) in text.split(separator: ",").enumerated() {
            let trimmed = item.trimmingCharacters(in: " ")
            guard !trimmed.isEmpty else { continue }
            // Empty parts are kept: "=tenant" is an empty key, not the key "tenant".
            let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard key.count >= 8 else {
                throw ConfigError("SWITCHYARD_API_KEYS: key \(position + 1) is shorter than 8 characters")
            }
            let tenant =
                parts.count == 2 && !parts[1].isEmpty
                ? String(parts[1]) : "key-" + APIKey.hash(key).prefix(4).hexString
            keys.append(APIKey(key: key, tenant: tenant))
        }
        return keys
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> Substring {
        var slice = Substring(self)
        while slice.first == set { slice.removeFirst() }
        while slice.last == set { slice.removeLast() }
        return slice
    }
}

extension Collection<UInt8> {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
