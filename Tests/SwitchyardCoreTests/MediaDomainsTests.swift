import Testing

@testable import SwitchyardCore

private let domains = MediaDomains(["images.example.com", "*.cdn.example.net", "10.0.0.7", "UPPER.Example.ORG"])

private func profile(_ body: String, domains: [String], allowFileMedia: Bool = false) -> Result<
    RequestProfile, OpenAIError
> {
    let costs = ProfileCosts(allowFileMedia: allowFileMedia, mediaDomains: domains)
    return Array(body.utf8).withUnsafeBytes { RequestProfiler.profile($0, costs: costs) }
}

/// A chat body whose single user message holds `parts` (raw JSON objects).
private func chat(_ parts: String...) -> String {
    #"{"model":"glm","messages":[{"role":"user","content":["# + parts.joined(separator: ",") + "]}]}"
}

/// An image part with `url` spliced in raw (already JSON-escaped as the test wants it).
private func image(_ url: String) -> String { #"{"type":"image_url","image_url":{"url":"\#(url)"}}"# }

private let allowList = ["images.example.com", "*.cdn.example.net"]

@Suite("MediaDomains")
struct MediaDomainsTests {
    @Test("an empty list is empty (and the profiler then allows any host)")
    func emptyList() {
        #expect(MediaDomains([]).isEmpty)
        #expect(!MediaDomains(["a.com"]).isEmpty)
        #expect(!MediaDomains(["*.a.com"]).isEmpty)
    }

    @Test(
        "listed hosts are allowed, whatever the case, port, path, user info or trailing dot",
        arguments: [
            "https://images.example.com/x.png", "http://images.example.com", "https://IMAGES.Example.COM/x.png",
            "HTTPS://images.example.com/x.png", "https://images.example.com:8443/x.png",
            "https://images.example.com./x.png", "https://images.example.com?x=1", "https://images.example.com#f",
            "https://user:pass@images.example.com/x.png", "https://evil.com@images.example.com/x.png",
            "https://images.example.com/redirect?to=https://evil.com/", "https://a.cdn.example.net/x.png",
            "https://a.b.cdn.example.net:443/x.png", "http://10.0.0.7/x.png", "http://10.0.0.7:8080/x.png",
            "https://upper.example.org/x.png",
        ])
    func allowed(url: String) {
        #expect(domains.allows(url))
    }

    @Test(
        "other hosts are refused",
        arguments: [
            "https://evil.com/x.png", "https://example.com/x.png", "https://images.example.com.evil.com/x.png",
            "https://evilimages.example.com/x.png", "https://x.images.example.com/x.png",
            // `*.domain` covers subdomains only, not the domain itself or look-alikes.
            "https://cdn.example.net/x.png", "https://evilcdn.example.net/x.png",
            "https://cdn.example.net.evil.com/x.png", "https://a.cdn.example.net.evil.com/",
            "http://10.0.0.8/x.png", "http://10.0.0.70/", "http://0x0a000007/", "http://167772167/",
            "http://[::1]/x.png", "http://[::ffff:10.0.0.7]/",
        ])
    func refused(url: String) {
        #expect(!domains.allows(url))
    }

    @Test(
        "authority tricks are refused: the real host is the one after the last @, and anything parsers disagree on is not guessed at",
        arguments: [
            // User info: the host is evil.com.
            "http://images.example.com@evil.com/", "https://images.example.com:443@evil.com/x.png",
            "https://a@images.example.com@evil.com/", "https://@evil.com/",
            // The authority ends at /, ? or #: what follows is not the host.
            "https://evil.com/@images.example.com/", "https://evil.com?@images.example.com/",
            "https://evil.com#@images.example.com/",
            // Backslashes (WHATWG reads them as /), percent signs, spaces, non-ASCII.
            "https://evil.com\\@images.example.com/", "https://images.example.com\\@evil.com/",
            "https://evil.com\\.images.example.com/", "https://images.example.com%40evil.com/",
            "https://evil.com%2F@images.example.com/", "https://images%2Eexample.com/",
            "https://images.example.com %40evil.com/", "https://images.example.com\t/", "https://imäges.example.com/",
            "https://images.example.com\u{3002}evil.com/",
            // No host, or no authority at all.
            "https:///images.example.com/x.png", "https://", "https://:443/", "https://[images.example.com/",
            "https:images.example.com/x.png", "https:/images.example.com/x.png", "images.example.com/x.png",
            "",
        ])
    func authorityTricks(url: String) {
        #expect(!domains.allows(url))
    }

    @Test(
        "the :// must follow the scheme: one later in the URL is not the authority",
        arguments: [
            "http:/evil.com/?next=://images.example.com/x.png", "https:evil.com#://images.example.com/",
            "http:\\\\evil.com/?://images.example.com/",
        ])
    func schemeAnchored(url: String) {
        #expect(!domains.allows(url))
    }

    @Test("host(of:) strips user info, port, brackets and trailing dots")
    func hostOf() {
        #expect(MediaDomains.host(of: "https://u:p@Host.Example:8443/p?q#f") == "host.example")
        #expect(MediaDomains.host(of: "http://[2001:db8::1]:8000/x") == "2001:db8::1")
        #expect(MediaDomains.host(of: "http://example.com../") == "example.com")
        #expect(MediaDomains.host(of: "http://.../") == nil)
        #expect(MediaDomains.host(of: "http://[::1/") == nil)
    }
}

@Suite("admission.media_domains in the request profile")
struct MediaDomainsProfileTests {
    @Test("an image from an allowed host is accepted and priced as remote")
    func allowedImage() throws {
        let result = profile(chat(image("https://images.example.com/x.png")), domains: allowList)
        let media = try result.get().media
        #expect(media.count == 1 && media[0].source == .remote && media[0].kind == .image)
        #expect(media[0].tokens == ProfileCosts().remoteImageTokens)
    }

    @Test("an image from any other host is a 400 naming the part")
    func refusedImage() throws {
        let body = chat(#"{"type":"text","text":"look"}"#, image("https://evil.com/x.png"))
        guard case .failure(let error) = profile(body, domains: allowList) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.status == 400 && error.reason == "media_domain_refused" && error.param == "messages")
        #expect(
            error.message
                == "Image 0 (messages[0].content[1]) is fetched from a host that is not allowed "
                + "(admission.media_domains); send it inline as a data: URL or from an allowed host.")
        #expect(error.type == "BadRequestError")
    }

    @Test("the first refused part among several is the one named")
    func secondPartRefused() {
        let body = chat(image("https://images.example.com/a.png"), image("https://evil.com/b.png"))
        guard case .failure(let error) = profile(body, domains: allowList) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.message.hasPrefix("Image 1 (messages[0].content[1]) is fetched from a host"))
    }

    @Test("with no list, any host is accepted")
    func noList() throws {
        #expect(try profile(chat(image("https://evil.com/x.png")), domains: []).get().media.count == 1)
    }

    @Test(
        "JSON escapes are undone before the host is read",
        arguments: [
            (#"https:\/\/images.example.com\/x.png"#, true), (#"https:\/\/a.cdn.example.net\/x.png"#, true),
            (#"https:\/\/images.example.com\u0040evil.com\/x.png"#, false),
            (#"https:\/\/evil.com\/x.png"#, false), (#"https://evil.com\\@images.example.com/"#, false),
            (#"\u0068ttps://images.example.com/x.png"#, true), (#"\u0068ttps://evil.com/x.png"#, false),
            (#"https://images.example.com\u0025@evil.com/"#, false),
            (#"https://images.example.com\u0009/x.png"#, false),
        ])
    func escapedURLs(url: String, allowed: Bool) {
        let result = profile(chat(image(url)), domains: allowList)
        switch result {
        case .success: #expect(allowed, "\(url) was accepted")
        case .failure(let error):
            #expect(!allowed, "\(url) was refused: \(error.reason)")
            #expect(error.reason == "media_domain_refused")
        }
    }

    @Test("user info, backslashes and percent signs in the authority are refused in a body too")
    func authorityTricksInBody() {
        for url in [
            "http://images.example.com@evil.com/", #"https://images.example.com\\@evil.com/"#,
            "https://images.example.com%2F@evil.com/", "HTTPS://EVIL.COM/x.png",
        ] {
            guard case .failure(let error) = profile(chat(image(url)), domains: allowList) else {
                Issue.record("\(url) was accepted")
                continue
            }
            #expect(error.reason == "media_domain_refused", "\(url)")
        }
    }

    @Test("video and audio URLs are checked as well; inline data is not")
    func otherKinds() {
        let video = #"{"type":"video_url","video_url":{"url":"https://evil.com/v.mp4"}}"#
        let audio = #"{"type":"audio_url","audio_url":{"url":"https://evil.com/a.wav"}}"#
        let videoString = #"{"type":"video_url","video_url":"https://evil.com/v.mp4"}"#
        for part in [video, audio, videoString] {
            guard case .failure(let error) = profile(chat(part), domains: allowList) else {
                Issue.record("accepted: \(part)")
                continue
            }
            #expect(error.reason == "media_domain_refused")
        }
        let allowedVideo = #"{"type":"video_url","video_url":{"url":"https://x.cdn.example.net/v.mp4"}}"#
        let inlineAudio = #"{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}"#
        let dataVideo = #"{"type":"video_url","video_url":{"url":"data:video/mp4;base64,AAAA"}}"#
        for part in [allowedVideo, inlineAudio, dataVideo] {
            #expect((try? profile(chat(part), domains: allowList).get()) != nil, "refused: \(part)")
        }
    }

    @Test("file:// media is still governed by allow_file_media, not by the list")
    func fileMedia() {
        let part = image("file:///srv/images/x.png")
        guard case .failure(let error) = profile(chat(part), domains: allowList) else {
            Issue.record("file media was accepted")
            return
        }
        #expect(error.reason == "file_media_refused")
        #expect((try? profile(chat(part), domains: allowList, allowFileMedia: true).get()) != nil)
    }

    @Test("the URL checked is the one vLLM fetches: the member the part's type names")
    func typeNamesTheMember() {
        // vLLM reads part["image_url"]["url"] for type image_url, whatever else the part holds.
        let smuggled =
            #"{"type":"image_url","image_url":{"url":"https://evil.com/x.png"},"#
            + #""video_url":{"url":"https://images.example.com/v.mp4"}}"#
        guard case .failure(let error) = profile(chat(smuggled), domains: allowList) else {
            Issue.record("the image from evil.com was accepted")
            return
        }
        #expect(error.reason == "media_domain_refused")
        // The same for file:// media.
        let file =
            #"{"type":"image_url","image_url":{"url":"file:///etc/passwd"},"#
            + #""audio_url":{"url":"https://images.example.com/a.wav"}}"#
        guard case .failure(let fileError) = profile(chat(file), domains: []) else {
            Issue.record("the file:// image was accepted")
            return
        }
        #expect(fileError.reason == "file_media_refused")
        // Order does not matter, and the allowed member alone is fine.
        let reversed =
            #"{"video_url":{"url":"https://images.example.com/v.mp4"},"type":"image_url","#
            + #""image_url":{"url":"https://evil.com/x.png"}}"#
        #expect((try? profile(chat(reversed), domains: allowList).get()) == nil)
        let fine =
            #"{"type":"image_url","image_url":{"url":"https://images.example.com/x.png"},"#
            + #""video_url":{"url":"https://evil.com/v.mp4"}}"#
        #expect((try? profile(chat(fine), domains: allowList).get())?.media.map(\.kind) == [.image])
    }

    @Test("without a type, the member vLLM reads first (image_url, then audio_url, then video_url) is checked")
    func untypedPrecedence() {
        let smuggled =
            #"{"image_url":{"url":"https://evil.com/x.png"},"#
            + #""video_url":{"url":"https://images.example.com/v.mp4"}}"#
        guard case .failure(let error) = profile(chat(smuggled), domains: allowList) else {
            Issue.record("the image from evil.com was accepted")
            return
        }
        #expect(error.reason == "media_domain_refused")
        let audioFirst =
            #"{"video_url":{"url":"https://images.example.com/v.mp4"},"#
            + #""audio_url":{"url":"https://evil.com/a.wav"}}"#
        #expect((try? profile(chat(audioFirst), domains: allowList).get()) == nil)
        let fine =
            #"{"video_url":{"url":"https://evil.com/v.mp4"},"#
            + #""image_url":{"url":"https://images.example.com/x.png"}}"#
        #expect((try? profile(chat(fine), domains: allowList).get())?.media.map(\.kind) == [.image])
    }

    @Test("a repeated member: the last one counts, as in Python's json")
    func repeatedMember() {
        let part =
            #"{"type":"image_url","image_url":{"url":"https://images.example.com/x.png"},"#
            + #""image_url":{"url":"https://evil.com/x.png"}}"#
        #expect((try? profile(chat(part), domains: allowList).get()) == nil)
        let emptied =
            #"{"type":"image_url","image_url":{"url":"https://images.example.com/x.png"},"#
            + #""image_url":{}}"#
        guard case .failure(let error) = profile(chat(emptied), domains: allowList) else {
            Issue.record("accepted")
            return
        }
        #expect(error.message == "Image 0 (messages[0].content[0]) has no URL.")
    }

    @Test("a part with a type but without its own member has no URL")
    func typeWithoutMember() {
        let part = #"{"type":"image_url","video_url":{"url":"https://images.example.com/v.mp4"}}"#
        guard case .failure(let error) = profile(chat(part), domains: []) else {
            Issue.record("accepted")
            return
        }
        #expect(error.reason == "invalid_image")
        #expect(error.message == "Image 0 (messages[0].content[0]) has no URL.")
    }
}

@Suite("RequestProfile: the Responses API's input_image parts")
struct InputImagePartTests {
    static func body(_ url: String) -> String {
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"input_image","image_url":"\#(url)"}]}]}"#
    }

    static func profile(_ text: String, costs: ProfileCosts) -> Result<RequestProfile, OpenAIError> {
        Array(text.utf8).withUnsafeBytes { RequestProfiler.profile($0, costs: costs) }
    }

    @Test("an input_image is priced like an image and passes the same checks as image_url")
    func inputImage() throws {
        let remote = try Self.profile(Self.body("https://img.example.com/a.png"), costs: ProfileCosts()).get()
        #expect(remote.media.count == 1 && remote.media.first?.kind == .image)
        #expect(remote.mediaTokens == ProfileCosts().remoteImageTokens)
        guard case .failure(let file) = Self.profile(Self.body("file:///etc/passwd"), costs: ProfileCosts()) else {
            Issue.record("file:// in an input_image was accepted")
            return
        }
        #expect(file.reason == "file_media_refused")
        let limited = ProfileCosts(mediaDomains: ["*.example.com"])
        guard case .failure(let domain) = Self.profile(Self.body("https://evil.test/a.png"), costs: limited) else {
            Issue.record("a disallowed host in an input_image was accepted")
            return
        }
        #expect(domain.reason == "media_domain_refused")
        #expect((try? Self.profile(Self.body("https://img.example.com/a.png"), costs: limited).get()) != nil)
    }
}
