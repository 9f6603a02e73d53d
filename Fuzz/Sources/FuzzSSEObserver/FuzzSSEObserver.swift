// libFuzzer target: the fuzz input is a response byte stream, split into relayed parts.
//
// The first byte gives how many cuts to make (0–7) and the next bytes where; the rest is the
// stream. Checks what StreamObserver.swift and ResponseMeter.swift document:
// - SSEObserver: "buffers may split anywhere" — the events found and their classification are
//   the same whole or split; `events` counts the events returned; each returned offset is just
//   past the blank line, so it lies after the start and follows a `\n`;
// - JSONMemberWatcher: the same classification whole or split (it keeps no buffer);
// - token counts are read from digits only, so they are never negative;
// - ResponseMeter: the events its parts end add up to the observer's count, and every range it
//   reports lies within its part.
// Any trap or ASan report is a finding.

import CFuzzerDriver

@testable import SwitchyardCore

/// The entry point. SwiftPM (tools 5.5+, Linux) compiles an executable's `main` as
/// `<module>_main` and links `main` to that name, so libFuzzer's own `main` is never linked in;
/// this starts libFuzzer's driver exactly as that `main` would.
@_cdecl("FuzzSSEObserver_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let cutCount = Int(input[0] & 7)
    let headerEnd = min(size, 1 + cutCount)
    let stream = UnsafeRawBufferPointer(rebasing: input[headerEnd...])
    var cuts = input[1..<headerEnd].map { stream.isEmpty ? 0 : Int($0) * stream.count / 256 }
    cuts.sort()
    let bounds = [0] + cuts + [stream.count]
    // Each part copied into its own allocation of exactly its size: reads past a part's end are
    // reads past an allocation, which ASan reports.
    let parts = (0..<(bounds.count - 1)).map { Array(stream[bounds[$0]..<bounds[$0 + 1]]) }

    let whole = observe([Array(stream)])
    let split = observe(parts)
    require(whole == split, "SSE events differ whole \(whole) and split at \(cuts): \(split)")
    for event in whole { checkCounts(event) }

    let watchedWhole = watch([Array(stream)])
    let watchedSplit = watch(parts)
    require(watchedWhole == watchedSplit, "watcher \(watchedWhole) whole, \(watchedSplit) split at \(cuts)")
    checkCounts(watchedWhole)

    checkMeter(parts, events: whole.count)
    return 0
}

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

private func checkCounts(_ event: ObservedEvent) {
    require((event.promptTokens ?? 0) >= 0, "negative prompt_tokens \(event.promptTokens!)")
    require((event.completionTokens ?? 0) >= 0, "negative completion_tokens \(event.completionTokens!)")
}

/// Every event found in `parts`, fed in order to one observer.
private func observe(_ parts: [[UInt8]]) -> [ObservedEvent] {
    var observer = SSEObserver()
    var found: [ObservedEvent] = []
    for part in parts {
        part.withUnsafeBytes { bytes in
            var offset = 0
            while let end = observer.nextEvent(in: bytes, from: offset) {
                require(end > offset && end <= bytes.count, "event end \(end) after \(offset) in \(bytes.count)")
                require(bytes[end - 1] == 0x0A, "event end \(end) not just past a line feed")
                found.append(observer.lastEvent)
                offset = end
            }
        }
    }
    require(observer.events == found.count, "events \(observer.events) != \(found.count) returned")
    return found
}

private func watch(_ parts: [[UInt8]]) -> ObservedEvent {
    var watcher = JSONMemberWatcher()
    for part in parts { part.withUnsafeBytes { watcher.consume($0) } }
    watcher.finish()
    return watcher.result
}

private func checkMeter(_ parts: [[UInt8]], events: Int) {
    var meter = ResponseMeter(arrival: 0)
    meter.responseBegins(eventStream: true)
    var ended = 0
    var bytes = 0
    for (index, part) in parts.enumerated() {
        let found = part.withUnsafeBytes { meter.observe($0, at: Double(index + 1)) }
        ended += found.eventsEnded
        bytes += part.count
        require(found.unfinishedFrom >= 0 && found.unfinishedFrom <= part.count, "unfinishedFrom out of the part")
        if let usage = found.usageEvent {
            require(usage.lowerBound >= 0 && usage.upperBound <= part.count, "usage event out of the part")
        }
    }
    require(ended == events, "meter ended \(ended) events, observer found \(events)")
    require(meter.bytesOut == bytes, "bytesOut \(meter.bytesOut) != \(bytes)")
    require(meter.timeline.contentEvents <= events, "more content events than events")
    require(meter.gaps.count == max(0, meter.timeline.contentEvents - 1), "one gap between content events")
    meter.responseEnded(at: Double(parts.count + 1))

    // The same bytes as a non-streamed body: only its usage is taken.
    var body = ResponseMeter(arrival: 0)
    body.responseBegins(eventStream: false)
    for part in parts { part.withUnsafeBytes { _ = body.observe($0, at: 1) } }
    body.responseEnded(at: 2)
    require(body.timeline.contentEvents == 0, "a non-streamed body has no content events")
    _ = body.takeGapStorage()
}
