import Testing

@testable import SwitchyardCore

private func pairs(_ headers: [(name: String, value: String)]) -> [String] {
    headers.map { "\($0.name): \($0.value)" }
}

@Suite("ProxyHeaders")
struct ProxyHeadersTests {
    @Test("drops every hop-by-hop header, keeps the rest in order")
    func dropsHopByHop() {
        let headers: [(name: String, value: String)] = [
            ("Host", "proxy"), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
            ("Authorization", "Bearer k"), ("Proxy-Connection", "keep-alive"), ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"), ("Trailer", "x-checksum"), ("Upgrade", "h2c"), ("Content-Type", "application/json"),
            ("Proxy-Authenticate", "Basic"), ("Proxy-Authorization", "Basic eA=="), ("X-Request-Id", "r1"),
            ("Accept", "text/event-stream"),
        ]
        #expect(
            pairs(ProxyHeaders.forwardable(headers)) == [
                "Host: proxy", "Authorization: Bearer k", "Content-Type: application/json", "X-Request-Id: r1",
                "Accept: text/event-stream",
            ])
    }

    @Test(
        "hop-by-hop names match case-insensitively",
        arguments: [
            "connection", "CONNECTION", "Keep-alive", "KEEP-ALIVE", "proxy-connection", "TRANSFER-ENCODING", "te", "Te",
            "TRAILER", "upgrade", "PROXY-AUTHENTICATE", "proxy-Authorization",
        ])
    func caseInsensitive(name: String) {
        #expect(pairs(ProxyHeaders.forwardable([("a", "1"), (name, "x"), ("b", "2")])) == ["a: 1", "b: 2"])
    }

    @Test("headers named in Connection are dropped too")
    func connectionTokens() {
        let headers: [(name: String, value: String)] = [
            ("CONNECTION", " Keep-Alive ,X-Trace,, x-debug "), ("X-Trace", "1"), ("x-DEBUG", "2"), ("X-Other", "3"),
            ("connection", "X-Second"), ("x-second", "4"), ("Content-Length", "10"),
        ]
        #expect(pairs(ProxyHeaders.forwardable(headers)) == ["X-Other: 3", "Content-Length: 10"])
    }

    @Test("Connection: close alone drops nothing else")
    func connectionClose() {
        let headers: [(name: String, value: String)] = [("Connection", "close"), ("Close", "odd"), ("X", "1")]
        #expect(pairs(ProxyHeaders.forwardable(headers)) == ["X: 1"])
    }

    @Test("extra dropped names, repeated headers kept in order")
    func extraAndRepeated() {
        let headers: [(name: String, value: String)] = [
            ("Host", "a"), ("X-Forwarded-For", "1.1.1.1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ("x-forwarded-for", "2.2.2.2"),
        ]
        #expect(
            pairs(ProxyHeaders.forwardable(headers, alsoDropping: ["host", "x-forwarded-for"]))
                == ["Set-Cookie: a=1", "Set-Cookie: b=2"])
        #expect(ProxyHeaders.forwardable([]).isEmpty)
    }

    @Test(
        "X-Forwarded-For appends the client",
        arguments: [
            ([String](), "10.0.0.1", "10.0.0.1"),
            (["1.1.1.1"], "10.0.0.1", "1.1.1.1, 10.0.0.1"),
            (["1.1.1.1, 2.2.2.2"], "10.0.0.1", "1.1.1.1, 2.2.2.2, 10.0.0.1"),
            ([" 1.1.1.1 ", "", "  ", "2.2.2.2"], "::1", "1.1.1.1, 2.2.2.2, ::1"),
            (["1.1.1.1"], nil, "1.1.1.1"),
            ([" a ", "b"], nil, "a, b"),
            ([], nil, nil),
            (["", " "], nil, nil),
        ] as [([String], String?, String?)])
    func forwardedFor(existing: [String], client: String?, expected: String?) {
        #expect(ProxyHeaders.forwardedFor(existing: existing, clientAddress: client) == expected)
    }

    @Test("request ids are 32 lowercase hex digits and differ across calls")
    func requestIDs() {
        var generator = SystemRandomNumberGenerator()
        var seen = Set<String>()
        for _ in 0..<200 {
            let id = ProxyHeaders.makeRequestID(using: &generator)
            #expect(id.count == 32)
            #expect(
                id.utf8.allSatisfy {
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
                })
            seen.insert(id)
        }
        #expect(seen.count == 200)
    }

    @Test("request ids are zero-padded: high word then low word")
    func requestIDPadding() {
        var small = ReplayGenerator(values: [0x1, 0xABC])
        #expect(ProxyHeaders.makeRequestID(using: &small) == "0000000000000001" + "0000000000000abc")
        var zero = ReplayGenerator(values: [0])
        #expect(ProxyHeaders.makeRequestID(using: &zero) == String(repeating: "0", count: 32))
        var full = ReplayGenerator(values: [.max])
        #expect(ProxyHeaders.makeRequestID(using: &full) == String(repeating: "f", count: 32))
    }
}
