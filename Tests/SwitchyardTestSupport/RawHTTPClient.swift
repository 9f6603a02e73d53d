import Foundation
import NIOCore
import NIOPosix

/// One parsed HTTP/1.1 response.
public struct RawResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [(String, String)]
    /// The body; for a chunked response, the concatenated chunks.
    public var body: [UInt8]
    /// The HTTP chunks of a chunked response, one string each (empty when not chunked).
    public var chunks: [String]

    public var bodyString: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.0 == name.lowercased() }?.1
    }

    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw RawHTTPClient.ParseError(description: "body is not a JSON object: \(bodyString)")
        }
        return object
    }
}

/// A raw HTTP/1.1 client over NIO: writes the request bytes, records every byte the server sends
/// until it closes the connection (requests default to `connection: close`), then parses the
/// responses itself, so tests see the exact wire format including chunk boundaries.
public enum RawHTTPClient {
    public static func request(
        port: Int, method: String = "GET", path: String, headers: [(String, String)] = [],
        body: String? = nil, group: any EventLoopGroup
    ) async throws -> RawResponse {
        let bytes = try await exchange(
            port: port, requests: [requestBytes(method: method, path: path, headers: headers, body: body)],
            group: group)
        guard let response = try parseResponses(bytes).first else {
            throw ParseError(description: "the server closed the connection without answering")
        }
        return response
    }

    public static func requestBytes(
        method: String, path: String, headers: [(String, String)] = [], body: String? = nil, keepAlive: Bool = false
    ) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n" }
        if !keepAlive { text += "connection: close\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    /// Sends `requests` back to back on one connection and returns everything received until close.
    public static func exchange(port: Int, requests: [String], group: any EventLoopGroup) async throws -> [UInt8] {
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: requests.joined())).get()
        return try await promise.futureResult.get()
    }

    /// Opens a connection, sends one request and closes the connection as soon as `marker`
    /// has been received. Returns the bytes received.
    public static func sendAndHangUp(
        port: Int, request: String, after marker: String, group: any EventLoopGroup
    ) async throws -> [UInt8] {
        let promise = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        CollectingHandler(promise: promise, closeAfter: marker))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return try await promise.futureResult.get()
    }

    /// Opens a connection and sends one request without waiting for anything: the caller closes
    /// the returned channel (a client that gives up while its request waits).
    public static func sendAndKeepOpen(port: Int, request: String, group: any EventLoopGroup) async throws
        -> any Channel
    {
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return channel
    }

    // MARK: Parsing

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parseResponses(_ bytes: [UInt8]) throws -> [RawResponse] {
        var responses: [RawResponse] = []
        var index = 0
        while index < bytes.count {
            let (response, next) = try parseResponse(bytes, from: index)
            responses.append(response)
            index = next
        }
        return responses
    }

    private static func line(_ bytes: [UInt8], from start: Int) throws -> (String, Int) {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10 {
                return (String(decoding: bytes[start..<i], as: UTF8.self), i + 2)
            }
            i += 1
        }
        throw ParseError(description: "unterminated line at \(start)")
    }

    private static func parseResponse(_ bytes: [UInt8], from start: Int) throws -> (RawResponse, Int) {
        var (statusLine, index) = try line(bytes, from: start)
        let statusParts = statusLine.split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw ParseError(description: "bad status line \(statusLine)")
        }
        var headers: [(String, String)] = []
        while true {
            let (headerLine, next) = try line(bytes, from: index)
            index = next
            if headerLine.isEmpty { break }
            guard let colon = headerLine.firstIndex(of: ":") else { throw ParseError(description: headerLine) }
            let name = headerLine[..<colon].lowercased()
            let value = headerLine[headerLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
        var response = RawResponse(status: status, headers: headers, body: [], chunks: [])
        if (100..<200).contains(status) || status == 204 || status == 304 {
            return (response, index)  // no body by definition
        }
        if let length = response.header("content-length").flatMap(Int.init) {
            guard index + length <= bytes.count else { throw ParseError(description: "short body") }
            response.body = Array(bytes[index..<index + length])
            return (response, index + length)
        }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                let (sizeLine, next) = try line(bytes, from: index)
                guard let size = Int(sizeLine, radix: 16) else {
                    throw ParseError(description: "chunk size \(sizeLine)")
                }
                index = next
                if size == 0 {
                    let (_, afterTrailer) = try line(bytes, from: index)
                    return (response, afterTrailer)
                }
                guard index + size + 2 <= bytes.count else { throw ParseError(description: "short chunk") }
                let chunk = Array(bytes[index..<index + size])
                response.body += chunk
                response.chunks.append(String(decoding: chunk, as: UTF8.self))
                index += size + 2
            }
        }
        // No length: the body runs to the end of the connection.
        response.body = Array(bytes[index...])
        return (response, bytes.count)
    }

    /// The SSE events of a stream body: the text after `data: ` of each event.
    public static func events(_ body: String) -> [String] {
        body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : event
        }
    }
}

/// Collects inbound bytes until the channel closes (or closes it once `closeAfter` was seen).
private final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<[UInt8]>
    private let closeAfter: [UInt8]?
    private var received: [UInt8] = []

    init(promise: EventLoopPromise<[UInt8]>, closeAfter: String? = nil) {
        self.promise = promise
        self.closeAfter = closeAfter.map { Array($0.utf8) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        if let closeAfter, contains(received, closeAfter) {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(received)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}
