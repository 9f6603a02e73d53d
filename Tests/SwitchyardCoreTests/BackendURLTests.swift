import Testing

@testable import SwitchyardCore

struct URLCase: Sendable, CustomTestStringConvertible {
    var text: String
    var host: String
    var port: Int
    var prefix: String
    var hostHeader: String
    var description: String
    var testDescription: String { text }
}

@Suite("BackendURL")
struct BackendURLTests {
    static let valid: [URLCase] = [
        URLCase(
            text: "http://h:1234", host: "h", port: 1234, prefix: "", hostHeader: "h:1234", description: "http://h:1234"
        ),
        URLCase(text: "http://h", host: "h", port: 80, prefix: "", hostHeader: "h", description: "http://h"),
        URLCase(text: "http://h:80", host: "h", port: 80, prefix: "", hostHeader: "h", description: "http://h"),
        URLCase(text: "http://h/", host: "h", port: 80, prefix: "", hostHeader: "h", description: "http://h"),
        URLCase(
            text: "http://h:8000///", host: "h", port: 8000, prefix: "", hostHeader: "h:8000",
            description: "http://h:8000"),
        URLCase(
            text: "http://10.0.0.5:8000/replica-a", host: "10.0.0.5", port: 8000, prefix: "/replica-a",
            hostHeader: "10.0.0.5:8000", description: "http://10.0.0.5:8000/replica-a"),
        URLCase(
            text: "http://10.0.0.5:8000/replica-a//", host: "10.0.0.5", port: 8000, prefix: "/replica-a",
            hostHeader: "10.0.0.5:8000", description: "http://10.0.0.5:8000/replica-a"),
        URLCase(
            text: "http://gw/a/b/", host: "gw", port: 80, prefix: "/a/b", hostHeader: "gw", description: "http://gw/a/b"
        ),
        URLCase(
            text: "http://[::1]:8000", host: "::1", port: 8000, prefix: "", hostHeader: "[::1]:8000",
            description: "http://[::1]:8000"),
        URLCase(
            text: "http://[::1]", host: "::1", port: 80, prefix: "", hostHeader: "[::1]", description: "http://[::1]"),
        // Host names are case-insensitive and stored lowercased, so duplicates are found.
        URLCase(
            text: "HTTP://Host:1", host: "host", port: 1, prefix: "", hostHeader: "host:1", description: "http://host:1"
        ),
        URLCase(
            text: "http://h:65535", host: "h", port: 65535, prefix: "", hostHeader: "h:65535",
            description: "http://h:65535"),
        URLCase(
            text: "http://vllm-0.vllm.svc.cluster.local:8000", host: "vllm-0.vllm.svc.cluster.local", port: 8000,
            prefix: "", hostHeader: "vllm-0.vllm.svc.cluster.local:8000",
            description: "http://vllm-0.vllm.svc.cluster.local:8000"),
    ]

    @Test(arguments: valid)
    func parses(_ c: URLCase) throws {
        let url = try BackendURL(parsing: c.text)
        #expect(url.host == c.host)
        #expect(url.port == c.port)
        #expect(url.pathPrefix == c.prefix)
        #expect(url.hostHeader == c.hostHeader)
        #expect(url.description == c.description)
        // The description is itself a parseable URL naming the same backend.
        #expect(try BackendURL(parsing: url.description) == url)
    }

    @Test(
        "rejections say what is wrong",
        arguments: [
            ("ftp://h", "must look like http://host:port[/prefix]"),
            ("h:8000", "must look like http://host:port[/prefix]"),
            ("", "must look like http://host:port[/prefix]"),
            ("http:/h", "must look like http://host:port[/prefix]"),
            ("http://", "has no host"),
            ("http:///prefix", "has no host"),
            ("http://:8000", "has no host"),
            ("http://[]:8000", "has no host"),
            ("http://h:0", "port must be 1-65535, got 0"),
            ("http://h:70000", "port must be 1-65535, got 70000"),
            ("http://h:-1", "port must be 1-65535, got -1"),
            ("http://[::1]:0", "port must be 1-65535, got 0"),
            ("http://h:abc", "has an invalid port"),
            ("http://h:", "has an invalid port"),
            ("http://h:99999999999999999999999", "has an invalid port"),
            ("http://[::1]x", "has an invalid port"),
            ("http://[::1]:", "has an invalid port"),
            ("http://[::1", "has an unterminated IPv6 address"),
            ("http://[fe80::1%25eth0]:9000", "IPv6 zone identifiers are not supported"),
            ("http://[not-ipv6]:9000", "has an invalid IPv6 address"),
            ("http://bad_host!:9000", "has an invalid host name"),
            ("http://h:8000?x=1", "must not have a query or fragment"),
            ("http://h:8000/v1?x=1", "must not have a query or fragment"),
            ("http://h/p#frag", "must not have a query or fragment"),
            ("http://h#frag", "must not have a query or fragment"),
            ("http://h?", "must not have a query or fragment"),
        ])
    func rejects(text: String, messagePart: String) {
        #expect {
            _ = try BackendURL(parsing: text)
        } throws: { error in
            (error as? ConfigError)?.message.contains(messagePart) == true
        }
    }

    @Test("https URLs use TLS, default to port 443 and keep the scheme in their description")
    func httpsURLs() throws {
        let plain = try BackendURL(parsing: "HTTPS://Vllm.example")
        #expect(plain.usesTLS && plain.port == 443 && plain.hostHeader == "vllm.example")
        #expect(plain.description == "https://vllm.example")
        let custom = try BackendURL(parsing: "https://h:8443/prefix/")
        #expect(custom.usesTLS && custom.port == 8443 && custom.pathPrefix == "/prefix")
        #expect(try BackendURL(parsing: custom.description) == custom)
        // The same host and port over http and https are different backends.
        #expect(try BackendURL(parsing: "http://h:8443") != custom)
    }

    @Test(
        "userinfo and unbracketed colons are not accepted as part of the host",
        arguments: ["http://user:pw@h:8000", "http://user@h:8000", "http://h:80:80", "http://::1:8000"])
    func malformedAuthority(text: String) {
        #expect(throws: ConfigError.self) { _ = try BackendURL(parsing: text) }
    }

    @Test("hostHeader and description from the memberwise init")
    func memberwise() {
        #expect(BackendURL(host: "h", port: 80).hostHeader == "h")
        #expect(BackendURL(host: "h", port: 81).hostHeader == "h:81")
        #expect(BackendURL(host: "2001:db8::1", port: 80).hostHeader == "[2001:db8::1]")
        #expect(
            BackendURL(host: "2001:db8::1", port: 8000, pathPrefix: "/x").description == "http://[2001:db8::1]:8000/x")
    }
}
