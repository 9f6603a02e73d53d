// libFuzzer target: the fuzz input is a request body, as a client sends it.
//
// Exercises JSONScanner (both visitors), RequestInspector, RequestProfiler (with and without a
// media-domain allow-list), data: URL probing through JSON escapes and BodyRewrite, and checks
// what their documentation promises:
// - the profiler (for either endpoint) reads model/stream/include_usage/output budget exactly
//   as the inspector does, and refuses as invalid JSON exactly the bodies the inspector refuses;
// - deep events nest (every start has its end, spanning the value's bytes) and string ranges
//   lie between quotes inside the body;
// - a data: URL without escapes is probed exactly like `DataURLImage.probe` of its text, and
//   one with escapes never disagrees with it on dimensions both find;
// - a rewritten valid body is still a valid JSON object with the rewrite applied.
// Any trap (overflow, out-of-bounds index, failed precondition) or ASan report is a finding.

import CFuzzerDriver

@testable import SwitchyardCore

/// The entry point. SwiftPM (tools 5.5+, Linux) compiles an executable's `main` as
/// `<module>_main` and links `main` to that name, so libFuzzer's own `main` is never linked in;
/// this starts libFuzzer's driver exactly as that `main` would.
@_cdecl("FuzzRequestProfile_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The buffer libFuzzer hands over is exactly `size` bytes: ASan sees any read past it.
    let body = UnsafeRawBufferPointer(start: data, count: size)
    checkInspectorAndProfiler(body)
    checkDeepScan(body)
    checkRewrite(body)
    return 0
}

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

private let plainCosts = ProfileCosts()
private let restrictedCosts = ProfileCosts(allowFileMedia: true, mediaDomains: ["*.example.com"])

private func checkInspectorAndProfiler(_ body: UnsafeRawBufferPointer) {
    let inspected = RequestInspector.inspect(body)
    _ = RequestInspector.model(in: body)
    for (costs, endpoint) in [
        (plainCosts, RequestProfiler.Endpoint.chatCompletions), (restrictedCosts, .chatCompletions),
        (plainCosts, .completions),
    ] {
        let profiled = RequestProfiler.profile(body, costs: costs, endpoint: endpoint)
        switch (inspected, profiled) {
        case (.success(let summary), .success(let profile)):
            require(profile.summary == summary, "profile summary \(profile.summary) != inspector's \(summary)")
            require(profile.textBytes >= 0 && profile.promptTokenIDs >= 0, "negative text counts")
            require(profile.textTokens >= 1, "textTokens \(profile.textTokens) < 1")
            for (index, part) in profile.media.enumerated() {
                require(part.index == index, "media index \(part.index) at position \(index)")
                require(part.tokens >= 0, "negative media tokens")
                if let width = part.width, let height = part.height {
                    require(width > 0 && height > 0, "image size \(width)x\(height)")
                }
            }
            _ = profile.promptTokens
        case (.success, .failure(let error)):
            // Only fields of the wrong type, a missing `messages`/`prompt` or media can make a
            // syntactically valid body fail.
            require(error.reason != "invalid_json", "inspector accepts, profiler calls it invalid JSON")
        case (.failure(let error), .failure(let profileError)):
            require(error == profileError, "inspector and profiler refuse invalid JSON differently")
        case (.failure, .success):
            require(false, "profiler accepted a body the inspector refuses")
        }
    }
}

private func checkDeepScan(_ body: UnsafeRawBufferPointer) {
    var open: [(path: [JSONScanner.PathComponent], start: Int)] = []
    var strings: [Range<Int>] = []
    var ends: [(path: [JSONScanner.PathComponent], bytes: Range<Int>)] = []
    var scanner = JSONScanner(body)
    do {
        try scanner.scanObject(
            decodedStrings: ["model", "role"], visit: { path, _ in require(!path.isEmpty && path.count <= 2, "path") },
            deep: { path, event in
                switch event {
                case .objectStart, .arrayStart: open.append((path, 0))
                case .containerEnd(let bytes):
                    require(!open.isEmpty, "containerEnd without a start")
                    require(open.removeLast().path == path, "containerEnd at another path")
                    ends.append((path, bytes))
                case .string(let bytes, _): strings.append(bytes)
                case .number, .bool, .null: break
                }
            })
    } catch {
        require(error.offset >= 0 && error.offset <= body.count, "error offset \(error.offset) outside the body")
        return
    }
    require(open.isEmpty, "unclosed containers after a successful scan")
    for (path, bytes) in ends {
        require(bytes.lowerBound >= 0 && bytes.upperBound <= body.count, "container range out of bounds")
        let first = body[bytes.lowerBound]
        let last = body[bytes.upperBound - 1]
        require(
            (first == UInt8(ascii: "{") && last == UInt8(ascii: "}"))
                || (first == UInt8(ascii: "[") && last == UInt8(ascii: "]")), "container bytes at \(path)")
    }
    for range in strings {
        require(range.lowerBound >= 1 && range.upperBound < body.count, "string range out of bounds")
        require(body[range.lowerBound - 1] == UInt8(ascii: "\""), "string does not follow a quote")
        require(body[range.upperBound] == UInt8(ascii: "\""), "string does not end at a quote")
        let raw = UnsafeRawBufferPointer(rebasing: body[range])
        let decoded = JSONScanner.decodeValidatedString(raw)
        require(decoded.utf8.count <= raw.count * 3, "decoded string longer than its escapes allow")
        _ = RequestProfiler.scheme(of: raw)
        if RequestProfiler.scheme(of: raw) == "data" { checkDataURL(raw, decoded: decoded) }
    }
}

private func checkDataURL(_ raw: UnsafeRawBufferPointer, decoded: String) {
    let hasEscapes = raw.contains(UInt8(ascii: "\\"))
    let viaBody = RequestProfiler.probeDataImage(raw, hasEscapes: hasEscapes).result
    if !hasEscapes {
        // Documented: without escapes the first check for them may be skipped.
        let skipped = RequestProfiler.probeDataImage(raw, hasEscapes: false).result
        require(skipped == viaBody, "hasEscapes: false changes the result of an escape-free URL")
    }
    let viaString = DataURLImage.probe(decoded[...]).result
    // EscapedBytes reads only the header's first 4096 bytes for its comma.
    let shortHeader =
        (decoded.utf8.firstIndex(of: UInt8(ascii: ",")).map {
            decoded.utf8.distance(from: decoded.utf8.startIndex, to: $0) < 4095
        }) ?? false
    if !hasEscapes && shortHeader {
        require(viaBody == viaString, "data URL probe in the body \(viaBody) != probe of its text \(viaString)")
    }
    if case .success(let a) = viaBody, case .success(let b) = viaString {
        require(a == b, "data URL dimensions \(a) != \(b)")
    }
}

private func checkRewrite(_ body: UnsafeRawBufferPointer) {
    guard case .success(let summary) = RequestInspector.inspect(body) else {
        // Only run on validated bodies (the server's contract), but member listing must not
        // trap on anything.
        return
    }
    let members = BodyRewrite.members(body)
    for member in members {
        require(member.member.lowerBound <= member.value.lowerBound, "member ranges")
        require(member.value.upperBound <= body.count, "member value out of bounds")
    }
    let names = Set(members.map(\.name))
    let clamps = ["max_tokens": 77, "max_completion_tokens": 77]
    let hasUsageOption = names.contains("stream_options")
    let appending: [(name: String, rawJSON: String)] =
        hasUsageOption ? [] : [("stream_options", #"{"include_usage":true}"#)]
    let rewritten = BodyRewrite.rewrite(body, removing: ["priority"], settingIntegers: clamps, appending: appending)
    rewritten.withUnsafeBytes { out in
        switch RequestInspector.inspect(out) {
        case .failure(let error):
            require(false, "rewrite made invalid JSON: \(error.message)")
        case .success(let after):
            require(after.model == summary.model, "rewrite changed the model")
            require(after.stream == summary.stream, "rewrite changed stream")
            if names.contains("max_tokens") || names.contains("max_completion_tokens") {
                require(after.outputBudget == 77, "clamped budget is \(String(describing: after.outputBudget))")
            } else {
                require(after.outputBudget == summary.outputBudget, "rewrite changed an absent budget")
            }
            if !hasUsageOption { require(after.includeUsage == true, "appended stream_options not read") }
        }
        if case .success(let profile) = RequestProfiler.profile(out, costs: plainCosts) {
            require(profile.priority == nil, "priority survived its removal")
        }
        require(!BodyRewrite.members(out).contains { $0.name == "priority" }, "priority member survived")
    }
}
