import Foundation
import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// API keys and tenant limits, credentials never forwarded, the per-IP connection cap, the
/// media allow-list, and TLS on both sides.
@Suite struct SecurityTests {
    static let keyA = "sk-team-a-0123456789"
    static let keyB = "sk-team-b-0123456789"

    static func withKeys(_ config: inout SwitchyardConfig) {
        config.auth.keys = [
            APIKey(key: keyA, tenant: "team-a", limits: TenantLimits(maxConcurrent: 1)),
            APIKey(key: keyB, tenant: "team-b", limits: TenantLimits(requestsPerMinute: 2)),
        ]
    }

    @Test func withKeysConfiguredOnlyValidKeysGetThrough() async throws {
        try await withProxy(configure: Self.withKeys) { proxy in
            let missing = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(missing.status == 401)
            #expect(missing.header("x-switchyard-reason") == "missing_api_key")
            #expect((try missing.json()["error"] as? [String: Any])?["type"] as? String == "AuthenticationError")
            let wrong = try await proxy.post(
                "/v1/chat/completions", chatRequest(stream: false),
                headers: [("authorization", "Bearer sk-team-a-0123456788")])
            #expect(wrong.status == 401)
            #expect(wrong.header("x-switchyard-reason") == "invalid_api_key")
            #expect(try await proxy.request("GET", "/v1/models").status == 401)
            // Neither refusal reached the backend.
            #expect(proxy.sims[0].stats.generationsStarted == 0)

            let good = try await proxy.post(
                "/v1/chat/completions", chatRequest(stream: false), headers: [("authorization", "Bearer \(Self.keyA)")])
            #expect(good.status == 200)
            let viaHeader = try await proxy.post(
                "/v1/chat/completions", chatRequest(stream: false), headers: [("x-api-key", Self.keyB)])
            #expect(viaHeader.status == 200)
            // Probes and scrapes need no key.
            #expect(try await proxy.request("GET", "/health").status == 200)
            #expect(try await proxy.request("GET", "/metrics").status == 200)
            // The client's key never reaches the backend.
            #expect(proxy.sims[0].stats.lastAuthorization == nil)
        }
    }

    @Test func theAccessLogNamesTheKeysTenantNeverTheKey() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString).log").path
        try await withProxy(configure: {
            Self.withKeys(&$0)
            $0.telemetry.accessLog = .file(path)
        }) { proxy in
            let response = try await proxy.post(
                "/v1/chat/completions", chatRequest(stream: false), headers: [("authorization", "Bearer \(Self.keyA)")])
            #expect(response.status == 200)
            let refused = try await proxy.post(
                "/v1/chat/completions", chatRequest(stream: false),
                headers: [("authorization", "Bearer sk-wrong-key-1")])
            #expect(refused.status == 401)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(Self.keyA) && !text.contains("sk-wrong-key-1"))
        let lines = try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let served = lines.first { $0["status"] as? Int == 200 }
        #expect(served?["tenant"] as? String == "team-a")
        #expect(served?["attempts"] as? Int == 1)
        let refused = lines.first { $0["status"] as? Int == 401 }
        #expect(refused?["reason"] as? String == "invalid_api_key")
        #expect(refused?["attempts"] as? Int == 0)
    }

    @Test func tenantLimitsAnswer429WithTheReasonAndRetryAfter() async throws {
        var slow = fastSim()
        slow.interTokenInterval = .milliseconds(50)
        try await withProxy(sim: slow, configure: Self.withKeys) { proxy in
            let keyA = [("authorization", "Bearer \(Self.keyA)")]
            // Three seconds of stream: the second request comes while it runs, however busy the machine.
            async let first = proxy.post("/v1/chat/completions", chatRequest(maxTokens: 60), headers: keyA)
            #expect(await eventually { proxy.server.backends[0].inFlight == 1 })
            let second = try await proxy.post("/v1/chat/completions", chatRequest(stream: false), headers: keyA)
            #expect(second.status == 429)
            #expect(second.header("x-switchyard-reason") == "tenant_concurrency_limit")
            #expect(second.header("retry-after") != nil)
            #expect(try await first.status == 200)
            let third = try await proxy.post("/v1/chat/completions", chatRequest(stream: false), headers: keyA)
            #expect(third.status == 200)

            let keyB = [("authorization", "Bearer \(Self.keyB)")]
            for _ in 0..<2 {
                #expect(
                    try await proxy.post("/v1/chat/completions", chatRequest(stream: false), headers: keyB).status
                        == 200)
            }
            let overRate = try await proxy.post("/v1/chat/completions", chatRequest(stream: false), headers: keyB)
            #expect(overRate.status == 429)
            #expect(overRate.header("x-switchyard-reason") == "tenant_rate_limit")
            let wait = Int(overRate.header("retry-after") ?? "") ?? 0
            #expect((1...30).contains(wait), "\(wait)")
        }
    }

    @Test func theBackendGetsItsOwnKeyOrNoneNeverTheClients() async throws {
        try await withProxy(
            replicas: 2, customizeSim: { index, sim in if index == 0 { sim.apiKey = "vllm-secret-key" } },
            configure: {
                $0.backends[0].apiKey = "vllm-secret-key"
                $0.routing.policy = .roundRobin
            }
        ) { proxy in
            for _ in 0..<2 {
                let response = try await proxy.post(
                    "/v1/chat/completions", chatRequest(stream: false),
                    headers: [("authorization", "Bearer client-key-should-not-leak")])
                #expect(response.status == 200, "\(response.bodyString)")
            }
            #expect(proxy.sims[0].stats.lastAuthorization == "Bearer vllm-secret-key")
            #expect(proxy.sims[1].stats.generationsStarted == 1)
            #expect(proxy.sims[1].stats.lastAuthorization == nil)
        }
    }

    @Test func connectionsPerAddressAreCapped() async throws {
        try await withProxy(configure: { $0.limits.maxConnectionsPerIP = 2 }) { proxy in
            var held: [any Channel] = []
            for _ in 0..<2 {
                held.append(
                    try await ClientBootstrap(group: proxy.group).connect(host: "127.0.0.1", port: proxy.port).get())
            }
            let refused = try await proxy.request("GET", "/health")
            #expect(refused.status == 429)
            #expect(refused.header("x-switchyard-reason") == "too_many_connections")
            for channel in held { try await channel.close() }
            #expect(await eventually { (try? await proxy.request("GET", "/health").status) == 200 })
        }
    }

    @Test func remoteMediaIsLimitedToAllowedDomains() async throws {
        try await withProxy(configure: { $0.admission.mediaDomains = ["*.example.com"] }) { proxy in
            func request(_ url: String) -> String {
                #"{"model":"glm-4.5v","max_completion_tokens":4,"messages":[{"role":"user","content":["#
                    + #"{"type":"image_url","image_url":{"url":"\#(url)"}},{"type":"text","text":"What?"}]}]}"#
            }
            let refused = try await proxy.post("/v1/chat/completions", request("http://evil.test/a.png"))
            #expect(refused.status == 400)
            #expect(refused.header("x-switchyard-reason") == "media_domain_refused")
            let tricked = try await proxy.post(
                "/v1/chat/completions", request("http://images.example.com@evil.test/a.png"))
            #expect(tricked.header("x-switchyard-reason") == "media_domain_refused")
            #expect(proxy.sims[0].stats.generationsStarted == 0)
        }
    }

    /// Client → proxy B (plain) → proxy A (TLS listener) → sim: B verifies A against the test CA.
    @Test func tlsOnTheListenerAndToHTTPSBackends() async throws {
        let files = try TestCertificates.writeFiles()
        try await withProxy(
            configure: { $0.listen.tls = TLSFiles(certificate: files.certificate, key: files.key) }
        ) { front in
            var logger = Logger(label: "switchyard-test")
            logger.logLevel = .critical
            func outer(_ tls: UpstreamTLSConfig, host: String = "localhost") -> ProxyServer {
                var config = testConfig(backendPorts: [])
                config.backends = [
                    BackendConfig(name: "tls-front", url: BackendURL(host: host, port: front.port, usesTLS: true))
                ]
                config.upstream.tls = tls
                return ProxyServer(config: config, group: front.group, logger: logger)
            }
            var trusting = UpstreamTLSConfig()
            trusting.caFile = files.ca
            let good = outer(trusting)
            try await good.start()
            let goodPort = try #require(good.localAddress?.port)
            let response = try await RawHTTPClient.request(
                port: goodPort, method: "POST", path: "/v1/chat/completions", body: chatRequest(), group: front.group)
            #expect(response.status == 200)
            #expect(RawHTTPClient.events(response.bodyString).last == "[DONE]")
            #expect(good.backends[0].healthy)
            await good.shutdown(gracePeriod: .milliseconds(100))

            // By IP address: no SNI is sent, and the certificate is checked against the address
            // (the test certificate names 127.0.0.1).
            let byAddress = outer(trusting, host: "127.0.0.1")
            try await byAddress.start()
            #expect(byAddress.backends[0].healthy)
            await byAddress.shutdown(gracePeriod: .milliseconds(100))

            // Without the CA, the front's certificate is not trusted: never healthy, a clear 503.
            // (The probe's error names the certificate, or the closed channel the failed
            // handshake left, depending on which side noticed first.)
            let distrusting = outer(UpstreamTLSConfig())
            try await distrusting.start()
            let port = try #require(distrusting.localAddress?.port)
            #expect(!distrusting.backends[0].healthy)
            #expect(distrusting.backends[0].lastError != nil)
            let refused = try await RawHTTPClient.request(
                port: port, method: "POST", path: "/v1/chat/completions", body: chatRequest(), group: front.group)
            #expect(refused.status == 503)
            await distrusting.shutdown(gracePeriod: .milliseconds(100))

            // Plain HTTP to the TLS listener is not answered as HTTP.
            let plain = try? await front.request("GET", "/health")
            #expect(plain == nil || plain?.status != 200)
        }
    }

    /// Mutual TLS: the front's listener demands a client certificate from the test CA; an outer
    /// Switchyard presenting one (upstream.tls.certificate/key) gets through, one without does not.
    @Test func mutualTLSWithAClientCertificate() async throws {
        let files = try TestCertificates.writeFiles()
        try await withProxy(
            configure: {
                $0.listen.tls = TLSFiles(certificate: files.certificate, key: files.key)
                $0.listen.tlsClientCA = files.ca
            }
        ) { front in
            var logger = Logger(label: "switchyard-test")
            logger.logLevel = .critical
            func outer(presenting certificate: Bool) -> ProxyServer {
                var config = testConfig(backendPorts: [])
                config.backends = [
                    BackendConfig(
                        name: "mtls-front", url: BackendURL(host: "localhost", port: front.port, usesTLS: true))
                ]
                config.upstream.tls.caFile = files.ca
                if certificate {
                    config.upstream.tls.clientCertificate = TLSFiles(
                        certificate: files.clientCertificate, key: files.clientKey)
                }
                return ProxyServer(config: config, group: front.group, logger: logger)
            }
            let with = outer(presenting: true)
            try await with.start()
            let port = try #require(with.localAddress?.port)
            let response = try await RawHTTPClient.request(
                port: port, method: "POST", path: "/v1/chat/completions", body: chatRequest(stream: false),
                group: front.group)
            #expect(response.status == 200)
            await with.shutdown(gracePeriod: .milliseconds(100))

            let without = outer(presenting: false)
            try await without.start()
            #expect(!without.backends[0].healthy)
            await without.shutdown(gracePeriod: .milliseconds(100))
        }
    }
}
