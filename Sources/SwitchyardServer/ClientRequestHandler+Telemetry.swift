import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// What is measured of the request in progress, from its head to its end (one per request).
struct RequestMeasurement {
    /// The timeline, the gaps and the response's observers (one mutation per relayed part).
    var meter: ResponseMeter
    var requestID: String
    var method: String
    var path: String
    var tenant: String?
    /// A generation request: it feeds `/stats` and the latency histograms. Set when it was
    /// profiled (and `LiveStats.began` called), so every such request is also finished there.
    var inference = false
    /// The `model` label: a model some backend serves, else "unknown" (labels stay bounded).
    var model = "unknown"
    /// Set exactly when an inference request was dispatched (and `LiveStats.dispatched` called).
    var backend: String?
    /// Where any request was sent (for the access log).
    var forwardedTo: String?
    /// Dispatches so far (retries add to it).
    var attempts = 0
    var streamed = false
    var status: Int?
    var reason: String?
    var bytesIn = 0
    /// Bytes of local answers (relayed bytes are the meter's).
    var bytesWritten = 0
    var images = 0
    var imageTokens = 0
    var estimatedPromptTokens: Int?
    /// Local endpoints (health, metrics, stats, status) are not access-logged.
    var logged = true
}

/// The relay's telemetry: events observed as they pass, the `include_usage` rewrite's stripping
/// of the usage event, and the single place a request's measurement ends.
extension ClientRequestHandler {
    /// Starts measuring at the request head.
    func beginMeasurement(_ head: HTTPRequestHead, requestID: String) {
        guard proxy.telemetry.enabled else { return }
        let path = head.uri.prefix { $0 != "?" }
        let telemetry = proxy.telemetry.config
        let local =
            path == "/health" || path == "/switchyard/status" || path == telemetry.metricsPath[...]
            || path == telemetry.statsPath[...]
        measurement = RequestMeasurement(
            meter: ResponseMeter(arrival: proxy.seconds, gaps: spareGaps), requestID: requestID,
            method: head.method.rawValue,
            path: String(path), tenant: Self.loggedTenant(head.headers, header: proxy.config.queue.tenantHeader),
            logged: !local)
    }

    /// A generation request was profiled: it counts as in flight from now.
    func measureInference(model: String?, profile: RequestProfile?) {
        guard measurement != nil else { return }
        let label = model.flatMap { name in proxy.withTable { $0.knows(model: name) } ? name : nil }
        measurement!.model = label ?? "unknown"
        measurement!.inference = true
        measurement!.meter.timeline.bodyComplete = measurement!.meter.timeline.bodyComplete ?? proxy.seconds
        if let profile {
            measurement!.streamed = profile.summary.stream
            measurement!.images = profile.media.count
            measurement!.imageTokens = profile.mediaTokens
            measurement!.estimatedPromptTokens = profile.promptTokens
        }
        proxy.telemetry.began(model: measurement!.model, at: measurement!.meter.timeline.arrival)
    }

    func measureAdmitted(queued: Bool) {
        guard measurement != nil else { return }
        measurement!.meter.timeline.admitted = proxy.seconds
        measurement!.meter.timeline.queued = queued
    }

    func measureDispatch(backend: String) {
        guard measurement != nil else { return }
        let now = proxy.seconds
        measurement!.meter.timeline.dispatched = now
        measurement!.forwardedTo = backend
        measurement!.attempts += 1
        guard measurement!.inference else { return }
        if measurement!.meter.timeline.admitted == nil { measurement!.meter.timeline.admitted = now }
        let previous = measurement!.backend
        measurement!.backend = backend
        proxy.telemetry.dispatched(backend: backend, previous: previous, model: measurement!.model, at: now)
    }

    /// Observes one relayed part: every complete SSE event (or the JSON body), at one clock read
    /// and one access to the measurement.
    func observe(_ buffer: ByteBuffer) {
        guard measurement != nil else { return }
        let now = proxy.seconds
        buffer.withUnsafeReadableBytes { _ = measurement!.meter.observe($0, at: now) }
    }

    /// Relays a part of a stream whose usage event the client did not ask for: everything is
    /// written except that event. An event that is still incomplete at the part's end is held
    /// back (a slice, not a copy) until its end shows what it is.
    func relayStrippingUsage(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        let now = proxy.seconds
        guard let part = buffer.withUnsafeReadableBytes({ measurement?.meter.observe($0, at: now) }) else {
            writeRelayed(buffer, context: context)
            return
        }
        if var held = heldBack {
            guard part.eventsEnded > 0 else {
                // The held event goes on through this whole part (rare: an event split three
                // ways): the two are joined, the one copy on this path.
                held.writeImmutableBuffer(buffer)
                heldBack = held
                return
            }
            if !part.usageEventBeganEarlier { writeRelayed(held, context: context) }
            heldBack = nil
        }
        let tail = part.unfinishedFrom
        let cut = part.usageEvent ?? tail..<tail
        for piece in [0..<cut.lowerBound, cut.upperBound..<tail] where !piece.isEmpty {
            writeRelayed(
                buffer.getSlice(at: buffer.readerIndex + piece.lowerBound, length: piece.count)!, context: context)
        }
        if tail < buffer.readableBytes {
            heldBack = buffer.getSlice(at: buffer.readerIndex + tail, length: buffer.readableBytes - tail)
        }
    }

    func writeRelayed(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        // One flush per part as it arrives: SSE events are never held back or coalesced.
        context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    /// `GET /stats`: the live report, as text or `?format=json`.
    func answerStats(_ request: IncomingRequest, context: ChannelHandlerContext) {
        let uri = request.head.uri
        let query = uri.firstIndex(of: "?").map { uri[uri.index(after: $0)...] } ?? ""
        switch StatsQuery.parse(query, backends: proxy.withTable { $0.backends.map(\.name) }) {
        case .failure(let error):
            respond(error, to: request, context: context)
        case .success(let parsed):
            let report = proxy.telemetry.report(
                parsed, now: proxy.seconds, date: BenchmarkRunInfo.dateString(Date()))
            writeLocal(
                status: 200, contentType: parsed.json ? "application/json" : "text/plain; charset=utf-8", body: report,
                request: request, context: context)
        }
    }

    /// Ends the measurement (once): statistics, Prometheus, access log.
    func finishMeasurement(completed: Bool, clientDisconnected: Bool = false) {
        guard var measurement else { return }
        self.measurement = nil
        let now = proxy.seconds
        measurement.meter.responseEnded(at: now)
        // An error event inside a 200 stream; a backend's error answer (its body also carries an
        // `error` member) is counted as http_5xx or passed through as a 4xx, not here.
        if measurement.meter.timeline.sawErrorEvent, measurement.status == 200, let backend = measurement.backend {
            proxy.telemetry.upstreamError(backend: backend, kind: "stream_error")
        }
        let ending = RequestEnding(
            status: measurement.status, reason: measurement.reason, completed: completed,
            clientDisconnected: clientDisconnected)
        var entry = AccessLogEntry(
            time: Date().timeIntervalSince1970, requestID: measurement.requestID, method: measurement.method,
            path: measurement.path, durationMs: (now - measurement.meter.timeline.arrival) * 1000)
        entry.tenant = measurement.tenant
        entry.status = measurement.status
        entry.reason = measurement.reason
        entry.bytesIn = measurement.bytesIn
        entry.bytesOut = measurement.bytesWritten + measurement.meter.bytesOut
        entry.clientDisconnected = clientDisconnected
        entry.backend = measurement.forwardedTo
        entry.attempts = measurement.attempts
        if measurement.inference {
            let record = RequestRecord(
                timeline: measurement.meter.timeline, model: measurement.model, backend: measurement.backend,
                streamed: measurement.streamed && measurement.meter.eventStream, ending: ending, end: now,
                estimatedPromptTokens: measurement.estimatedPromptTokens)
            proxy.telemetry.finished(record, gaps: measurement.meter.gaps)
            entry.take(record)
            entry.images = measurement.images
            entry.imageTokens = measurement.imageTokens
        }
        spareGaps = measurement.meter.takeGapStorage()
        if measurement.logged { proxy.telemetry.log(entry) }
    }

    /// The tenant as the access log may show it: the configured header's value, or a hash of
    /// the API key (never the key itself).
    static func loggedTenant(_ headers: HTTPHeaders, header: String?) -> String? {
        if let header, let value = headers.first(name: header), !value.isEmpty { return value }
        guard headers.first(name: "authorization") != nil else { return nil }
        let key = tenant(of: headers, header: nil)
        return "key-" + String(HashRing.key(key) & 0xFFFF_FFFF_FFFF, radix: 16)
    }
}
