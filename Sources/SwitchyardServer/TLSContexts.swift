import NIOCore
import NIOSSL
import SwitchyardCore

/// TLS to `https://` backends: one client context (trust roots, optional client certificate),
/// a handler per connection naming the backend's host for SNI and certificate checks.
struct UpstreamTLS: Sendable {
    let context: NIOSSLContext

    init(_ config: UpstreamTLSConfig) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        if let caFile = config.caFile { tls.trustRoots = .file(caFile) }
        if let client = config.clientCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.key, format: .pem))
        }
        if !config.verify { tls.certificateVerification = .none }
        context = try NIOSSLContext(configuration: tls)
    }

    /// The handler for one connection to `url`. IP addresses are not sent as SNI (RFC 6066).
    func handler(for url: BackendURL) throws -> NIOSSLClientHandler {
        let isAddress = (try? SocketAddress(ipAddress: url.host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : url.host)
    }

    /// Adds TLS in front of a connection to `url` when it is `https://` (nil `tls`: the trust
    /// settings could not be loaded, and the connection fails rather than trust something else).
    static func secure(_ channel: any Channel, to url: BackendURL, with tls: UpstreamTLS?) throws {
        guard url.usesTLS else { return }
        guard let tls else { throw TLSUnavailable() }
        try channel.pipeline.syncOperations.addHandler(tls.handler(for: url))
    }

    struct TLSUnavailable: Error, CustomStringConvertible {
        var description: String { "TLS to https:// backends is unavailable: upstream.tls could not be loaded" }
    }
}

/// The client listener's TLS: TLS 1.2 and 1.3, ALPN `http/1.1`; with `clientCA`, clients must
/// present a certificate that CA signed (mutual TLS).
enum ListenerTLS {
    static func context(_ files: TLSFiles, clientCA: String? = nil) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw ConfigError("listen.tls.certificate: \(files.certificate) could not be read as PEM: \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw ConfigError("listen.tls.key: \(files.key) could not be read as a PEM private key: \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        if let clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(clientCA)
        }
        return try NIOSSLContext(configuration: tls)
    }
}
