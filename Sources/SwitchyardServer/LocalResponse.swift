import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Answers the proxy writes itself: its own endpoints and every refusal.
enum LocalResponse {
    static func head(
        status: Int, contentType: String?, contentLength: Int, requestID: String?, keepAlive: Bool,
        reason: String? = nil, retryAfter: Int? = nil
    ) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "content-type", value: contentType) }
        headers.add(name: "content-length", value: String(contentLength))
        if let requestID { headers.add(name: "x-request-id", value: requestID) }
        if let reason { headers.add(name: "x-switchyard-reason", value: reason) }
        if let retryAfter { headers.add(name: "retry-after", value: String(retryAfter)) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
    }

    static func errorHead(_ error: OpenAIError, bodyLength: Int, requestID: String?, keepAlive: Bool)
        -> HTTPResponseHead
    {
        head(
            status: error.status, contentType: "application/json", contentLength: bodyLength,
            requestID: requestID, keepAlive: keepAlive, reason: error.reason, retryAfter: error.retryAfterSeconds)
    }

    /// A complete `Connection: close` HTTP/1.1 error response as text, for layers below the encoder.
    static func rawHTTP(_ error: OpenAIError) -> String {
        let body = error.jsonBody
        let phrase = HTTPResponseStatus(statusCode: error.status).reasonPhrase
        var text = "HTTP/1.1 \(error.status) \(phrase)\r\ncontent-type: application/json\r\n"
        text += "content-length: \(body.utf8.count)\r\nx-switchyard-reason: \(error.reason)\r\n"
        text += "connection: close\r\n\r\n\(body)"
        return text
    }
}
