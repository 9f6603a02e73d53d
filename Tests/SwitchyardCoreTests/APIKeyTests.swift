import Testing

@testable import SwitchyardCore

/// SHA-256("abc"), FIPS 180-2's test vector, as `sha256sum` prints it.
private let abcHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

@Suite("API keys")
struct APIKeyTests {
    @Test("keys are kept as their SHA-256")
    func hashing() {
        #expect(APIKey.hash("abc").hexString == abcHex)
        #expect(APIKey.hash("").hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let key = APIKey(key: "abc", tenant: "t")
        #expect(key.sha256 == APIKey.hash("abc") && key.sha256.count == 32)
        #expect(key.limits.isEmpty)
    }

    @Test("hexString is lower-case, two digits a byte")
    func hexString() {
        #expect([UInt8]([0x00, 0x0f, 0xa0, 0xff]).hexString == "000fa0ff")
        #expect([UInt8]().hexString == "")
    }

    @Test("parseHex reads sha256sum's output, either case")
    func parseHex() {
        #expect(APIKey.parseHex(abcHex) == APIKey.hash("abc"))
        #expect(APIKey.parseHex(abcHex.uppercased()) == APIKey.hash("abc"))
        #expect(APIKey.parseHex(String(repeating: "0", count: 64)) == [UInt8](repeating: 0, count: 32))
    }

    @Test(
        "parseHex refuses anything but 64 hex digits",
        arguments: [
            "", String(abcHex.dropLast()), abcHex + "0", "0x" + String(abcHex.dropFirst(2)),
            String(abcHex.dropLast()) + "g", " " + String(abcHex.dropLast()), abcHex + "  -",
            String(repeating: "é", count: 32), String(abcHex.dropLast(2)) + "é",
        ])
    func parseHexRefuses(text: String) {
        #expect(APIKey.parseHex(text) == nil)
    }

    @Test("constantTimeEqual: equal bytes only, of equal length")
    func constantTimeEqual() {
        let a = APIKey.hash("one")
        var lastDiffers = a
        lastDiffers[31] ^= 1
        var firstDiffers = a
        firstDiffers[0] ^= 0x80
        #expect(AuthConfig.constantTimeEqual(a, a))
        #expect(!AuthConfig.constantTimeEqual(a, lastDiffers))
        #expect(!AuthConfig.constantTimeEqual(a, firstDiffers))
        #expect(!AuthConfig.constantTimeEqual(a, Array(a.prefix(16))))
        #expect(!AuthConfig.constantTimeEqual(Array(a.prefix(16)), a))
        #expect(AuthConfig.constantTimeEqual([], []))
    }

    @Test("the presented key names its tenant; any other key, none")
    func tenantPresenting() throws {
        var auth = AuthConfig()
        #expect(!auth.enabled)
        #expect(auth.tenant(presenting: "anything") == nil)
        let limits = TenantLimits(maxConcurrent: 2)
        auth.keys = [
            APIKey(key: "sk-alpha-000001", tenant: "alpha", limits: limits),
            APIKey(sha256: try #require(APIKey.parseHex(abcHex)), tenant: "by-hash"),
            APIKey(key: "sk-beta-0000002", tenant: "beta"),
        ]
        #expect(auth.enabled)
        #expect(auth.tenant(presenting: "sk-alpha-000001")?.tenant == "alpha")
        #expect(auth.tenant(presenting: "sk-alpha-000001")?.limits == limits)
        #expect(auth.tenant(presenting: "sk-beta-0000002")?.tenant == "beta")
        #expect(auth.tenant(presenting: "abc")?.tenant == "by-hash")
        // A substring of a header value works as well as a String.
        let header = "Bearer sk-beta-0000002"
        #expect(auth.tenant(presenting: header.dropFirst("Bearer ".count))?.tenant == "beta")
        for wrong in ["", "sk-alpha-00000", "sk-alpha-0000011", "SK-ALPHA-000001", " sk-alpha-000001", abcHex] {
            #expect(auth.tenant(presenting: wrong) == nil, "\(wrong)")
        }
    }

    @Test("the same key listed twice: the first entry wins")
    func duplicateKey() {
        var auth = AuthConfig()
        auth.keys = [APIKey(key: "sk-same-key-1", tenant: "first"), APIKey(key: "sk-same-key-1", tenant: "second")]
        #expect(auth.tenant(presenting: "sk-same-key-1")?.tenant == "first")
    }
}

@Suite("SWITCHYARD_API_KEYS")
struct APIKeyEnvironmentTests {
    @Test("key=tenant pairs, separated by commas, spaces around them ignored")
    func pairs() throws {
        let keys = try AuthConfig.parseEnvironment(" sk-alpha-000001=alpha , sk-beta-0000002=beta,")
        #expect(keys.map(\.tenant) == ["alpha", "beta"])
        #expect(keys.map(\.sha256) == [APIKey.hash("sk-alpha-000001"), APIKey.hash("sk-beta-0000002")])
        #expect(keys.allSatisfy { $0.limits.isEmpty })
    }

    @Test("nothing, or only separators, is no keys")
    func empty() throws {
        #expect(try AuthConfig.parseEnvironment("").isEmpty)
        #expect(try AuthConfig.parseEnvironment(",, ,").isEmpty)
    }

    @Test("a key alone is its own tenant, named from its hash")
    func keyAlone() throws {
        let keys = try AuthConfig.parseEnvironment("sk-lonely-key")
        let hash = APIKey.hash("sk-lonely-key")
        #expect(keys == [APIKey(sha256: hash, tenant: "key-" + hash.prefix(4).hexString)])
        #expect(keys[0].tenant.count == 12)
        // Different keys, different tenants.
        let other = try AuthConfig.parseEnvironment("sk-other-key")
        #expect(other[0].tenant != keys[0].tenant)
    }

    @Test("only the first = splits key from tenant")
    func equalsInTenant() throws {
        let keys = try AuthConfig.parseEnvironment("sk-0123456789=team=a")
        #expect(keys.map(\.tenant) == ["team=a"])
        #expect(keys[0].sha256 == APIKey.hash("sk-0123456789"))
    }

    @Test("a key shorter than 8 characters is refused, naming its position")
    func shortKey() {
        #expect(throws: ConfigError("SWITCHYARD_API_KEYS: key 2 is shorter than 8 characters")) {
            _ = try AuthConfig.parseEnvironment("sk-long-enough=a,short=b")
        }
        #expect(throws: ConfigError("SWITCHYARD_API_KEYS: key 1 is shorter than 8 characters")) {
            _ = try AuthConfig.parseEnvironment("1234567")
        }
        #expect(throws: Never.self) { _ = try AuthConfig.parseEnvironment("12345678") }
    }

    @Test("an empty key is refused: its tenant name must not become a key")
    func emptyKey() {
        // `SWITCHYARD_API_KEYS="$KEY=production-team"` with KEY unset.
        #expect(throws: ConfigError("SWITCHYARD_API_KEYS: key 1 is shorter than 8 characters")) {
            _ = try AuthConfig.parseEnvironment("=production-team")
        }
    }

    @Test("an empty tenant after = is named from the key's hash, like a key alone")
    func emptyTenant() throws {
        #expect(try AuthConfig.parseEnvironment("sk-lonely-key=") == AuthConfig.parseEnvironment("sk-lonely-key"))
    }
}
