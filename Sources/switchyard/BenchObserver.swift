import ArgumentParser
import Foundation
import SwitchyardCore

/// `switchyard bench observer`: what the relay's telemetry costs per SSE event, without the
/// network: vLLM-shaped chunks (one event per buffer, as they arrive) through the observer and
/// the timeline, beside a plain pass that only looks for blank lines (the work with telemetry off).
struct BenchObserver: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observer", abstract: "Microbenchmark of the SSE observer and timeline (ns per event).")

    @Option(help: "Events per measurement.") var events = 2_000_000
    @Option(help: "Characters of content per event.") var contentLength = 4

    func run() throws {
        let chunks = Self.chunks(contentLength: contentLength)
        let bytes = chunks.reduce(0) { $0 + $1.count } / chunks.count
        // Three rounds each, the best kept: the machine is shared.
        let plain = (0..<3).map { _ in measure(chunks) { Self.plainPass($0) } }.min()!
        let observed = (0..<3).map { _ in measureObserver(chunks) }.min()!
        print("| pass | ns/event | bytes/event |")
        print("|---|---|---|")
        print("| blank lines only (telemetry off) | \(String(format: "%.1f", plain)) | \(bytes) |")
        print("| SSEObserver + RequestTimeline | \(String(format: "%.1f", observed)) | \(bytes) |")
        let perRequest = (0..<3).map { _ in measureLiveStats(tokens: 256) }.min()!
        print(
            "| LiveStats.finished, one 256-token request (per event) | \(String(format: "%.1f", perRequest / 257)) | |")
    }

    /// Nanoseconds to add one finished request with `tokens` content events to the live statistics.
    private func measureLiveStats(tokens: Int) -> Double {
        var stats = LiveStats()
        let gaps = (0..<(tokens - 1)).map { 0.01 + Double($0 % 7) * 0.001 }
        let requests = 20_000
        let start = ContinuousClock.now
        for index in 0..<requests {
            let arrival = Double(index) * 0.05
            var timeline = RequestTimeline(arrival: arrival)
            timeline.admitted = arrival
            timeline.dispatched = arrival
            timeline.firstContent = arrival + 0.2
            timeline.lastContent = arrival + 0.2 + gaps.reduce(0, +)
            timeline.contentEvents = tokens
            timeline.promptTokens = 1000
            timeline.completionTokens = tokens
            let record = RequestRecord(
                timeline: timeline, model: "glm-4.5v", backend: "b\(index % 4)", streamed: true,
                ending: RequestEnding(status: 200, completed: true), end: arrival + 3)
            stats.began(model: "glm-4.5v", at: arrival)
            stats.dispatched(backend: record.backend!, model: "glm-4.5v", at: arrival)
            stats.finished(record, gaps: gaps)
        }
        let elapsed = ContinuousClock.now - start
        return elapsed.inSeconds * 1e9 / Double(requests)
    }

    /// A chat stream's events as vLLM writes them.
    static func chunks(contentLength: Int) -> [[UInt8]] {
        let prefix =
            #"data: {"id":"chatcmpl-5712f0ec055548c95a64cc8d3a0fc848","object":"chat.completion.chunk","created":1795961485,"model":"glm-4.5v","#
        var chunks: [[UInt8]] = []
        for index in 0..<64 {
            let text = String(repeating: "abcdefgh", count: contentLength / 8 + 1).prefix(contentLength)
            let finish = index == 63 ? #""length""# : "null"
            let event =
                prefix
                + #""choices":[{"index":0,"delta":{"content":"\#(text)\#(index)"},"logprobs":null,"finish_reason":\#(finish)}]}"#
                + "\n\n"
            chunks.append(Array(event.utf8))
        }
        return chunks
    }

    static func plainPass(_ bytes: UnsafeRawBufferPointer) -> Int {
        var blank = 0
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0A && previous == 0x0A { blank += 1 }
            previous = byte
        }
        return blank
    }

    private func measure(_ chunks: [[UInt8]], _ pass: (UnsafeRawBufferPointer) -> Int) -> Double {
        var sink = 0
        let start = ContinuousClock.now
        for index in 0..<events {
            sink &+= chunks[index & 63].withUnsafeBytes { pass($0) }
        }
        let elapsed = ContinuousClock.now - start
        precondition(sink == events)
        return elapsed.inSeconds * 1e9 / Double(events)
    }

    private func measureObserver(_ chunks: [[UInt8]]) -> Double {
        var observer = SSEObserver()
        var timeline = RequestTimeline(arrival: 0)
        var gaps: [Double] = []
        gaps.reserveCapacity(1024)
        let start = ContinuousClock.now
        for index in 0..<events {
            let time = Double(index) * 1e-3
            chunks[index & 63].withUnsafeBytes { bytes in
                var offset = 0
                while let end = observer.nextEvent(in: bytes, from: offset) {
                    timeline.observe(observer.lastEvent, at: time, gaps: &gaps)
                    offset = end
                }
            }
            if gaps.count >= 1024 { gaps.removeAll(keepingCapacity: true) }
        }
        let elapsed = ContinuousClock.now - start
        precondition(timeline.contentEvents == events)
        return elapsed.inSeconds * 1e9 / Double(events)
    }
}
