import Testing

@testable import SwitchyardCore

/// Backends serving `model` with the given `max_model_len`s; all healthy unless listed.
private func table(_ limits: [Int?], unhealthy: Set<Int> = [], model: String = "m") -> BackendTable {
    var table = BackendTable(
        limits.indices.map { BackendConfig(name: "b\($0)", url: BackendURL(host: "10.0.0.\($0)", port: 8000)) })
    for (backend, limit) in limits.enumerated() {
        if !unhealthy.contains(backend) { table.probeSucceeded(backend: backend) }
        table.modelsDiscovered(backend: backend, [card(model, maxModelLen: limit)])
    }
    return table
}

private func config(_ mode: AdmissionMode = .reject, exactCheck: Bool = true) -> AdmissionConfig {
    var config = AdmissionConfig()
    config.margin = 0.05
    config.mode = mode
    config.exactCheck = exactCheck
    return config
}

private func need(_ text: Int, _ media: Int = 0, budget: Int?) -> ContextNeed {
    ContextNeed(textTokens: text, mediaTokens: media, outputBudget: budget)
}

/// What a verdict should be, with the need it is about.
enum Expected: Sendable, Equatable {
    case admit
    case clamp(to: Int, from: Int)
    case countExactly
    case refuse
}

struct AdmissionCase: Sendable, CustomTestStringConvertible {
    var need: ContextNeed
    var mode: AdmissionMode = .reject
    var exactCheck = true
    var expected: Expected
    var testDescription: String {
        "\(need.prompt)+\(need.outputBudget.map(String.init) ?? "–") \(mode) exact:\(exactCheck) → \(expected)"
    }
}

private func check(_ verdict: ContextAdmission.Verdict, _ expected: Expected, need: ContextNeed, limit: Int) {
    switch (expected, verdict) {
    case (.admit, .admit(let admitted, let clampedFrom)):
        #expect(admitted == need && clampedFrom == nil)
    case (.clamp(let to, let from), .admit(let admitted, let clampedFrom)):
        #expect(admitted.outputBudget == to && clampedFrom == from)
        #expect(admitted.prompt == need.prompt && admitted.total <= limit)
    case (.countExactly, .countExactly):
        break
    case (.refuse, .refuse(let error)):
        #expect(error == BackendTable.contextLengthExceeded(need, limit: limit))
        #expect(error.status == 400 && error.reason == "context_length_exceeded" && error.retryAfterSeconds == nil)
    default:
        Issue.record("expected \(expected), got \(verdict)")
    }
}

@Suite("ContextAdmission: fits, exact count, clamp or refuse")
struct ContextAdmissionTests {
    /// One backend with `max_model_len` 1000 and a 5 % margin: estimates in (950, 1050] are near.
    @Test(
        "evaluate against a 1000-token context",
        arguments: [
            AdmissionCase(need: need(500, budget: 100), expected: .admit),
            AdmissionCase(need: need(849, 100, budget: nil), expected: .admit),  // 949 + 1 token
            AdmissionCase(need: need(850, 0, budget: 100), expected: .admit),  // 950: not near
            AdmissionCase(need: need(900, 0, budget: 80), expected: .countExactly),  // 980 fits, near
            AdmissionCase(need: need(900, 100, budget: 30), expected: .countExactly),  // 1030 over, near
            AdmissionCase(need: need(999, budget: nil), expected: .countExactly),  // 999 + 1 token
            AdmissionCase(need: need(1000, budget: 50), expected: .countExactly),  // 1050
            AdmissionCase(need: need(1000, budget: 51), expected: .refuse),  // 1051: beyond the margin
            // Without the exact check a near estimate is left to vLLM.
            AdmissionCase(need: need(900, 0, budget: 80), exactCheck: false, expected: .admit),
            AdmissionCase(need: need(900, 100, budget: 30), exactCheck: false, expected: .admit),
            AdmissionCase(need: need(600, 0, budget: 500), expected: .refuse),
            AdmissionCase(need: need(600, 0, budget: 500), exactCheck: false, expected: .refuse),
            // Clamp mode lowers the budget to what fits.
            AdmissionCase(need: need(600, 0, budget: 500), mode: .clamp, expected: .clamp(to: 400, from: 500)),
            AdmissionCase(need: need(300, 300, budget: 9000), mode: .clamp, expected: .clamp(to: 400, from: 9000)),
            AdmissionCase(
                need: need(900, 80, budget: 70), mode: .clamp, exactCheck: false, expected: .clamp(to: 20, from: 70)),
            // The prompt fills the context, but only by the margin: left to vLLM.
            AdmissionCase(need: need(900, 100, budget: 30), mode: .clamp, exactCheck: false, expected: .admit),
            AdmissionCase(
                need: need(999, budget: 5), mode: .clamp, exactCheck: false, expected: .clamp(to: 1, from: 5)),
            AdmissionCase(need: need(900, 0, budget: 80), mode: .clamp, expected: .countExactly),
            AdmissionCase(need: need(500, budget: 100), mode: .clamp, expected: .admit),
            // The prompt alone does not fit: nothing to clamp.
            AdmissionCase(need: need(1200, budget: 100), mode: .clamp, expected: .refuse),
            AdmissionCase(need: need(1100, budget: nil), mode: .clamp, expected: .refuse),
        ])
    func evaluate(_ c: AdmissionCase) {
        let verdict = ContextAdmission.evaluate(
            c.need, model: "m", table: table([1000]), config: config(c.mode, exactCheck: c.exactCheck))
        if c.expected == .countExactly {
            #expect(verdict == .countExactly(backend: 0, limit: 1000))
        } else {
            check(verdict, c.expected, need: c.need, limit: 1000)
        }
    }

    @Test("the refusal is vLLM's message with the estimate's parts")
    func refusalWording() throws {
        let verdict = ContextAdmission.evaluate(
            need(550, 50, budget: 500), model: "m", table: table([1000]), config: config())
        guard case .refuse(let error) = verdict else {
            Issue.record("expected a refusal, got \(verdict)")
            return
        }
        #expect(
            error.message.hasPrefix(
                "This model's maximum context length is 1000 tokens. However, you requested 1100 tokens "
                    + "(600 in the messages, 500 in the completion). Please reduce the length of the messages or "
                    + "completion."))
        #expect(error.message.contains("550 text tokens and 50 image tokens"))
        #expect(error.type == "BadRequestError")
    }

    @Test("the largest context among healthy backends serving the model decides")
    func largestHealthyContext() {
        var backends = table([1000, 4000, 1500, nil], unhealthy: [1])
        backends.modelsDiscovered(backend: 3, [card("m", maxModelLen: nil), card("other", maxModelLen: 9000)])
        let near = ContextAdmission.evaluate(need(1450, budget: nil), model: "m", table: backends, config: config())
        #expect(near == .countExactly(backend: 2, limit: 1500))
        let over = ContextAdmission.evaluate(need(1600, budget: 100), model: "m", table: backends, config: config())
        check(over, .refuse, need: need(1600, budget: 100), limit: 1500)
        // A request without a model is checked against every healthy backend's first model.
        let any = ContextAdmission.evaluate(need(1450, budget: nil), model: nil, table: backends, config: config())
        #expect(any == .countExactly(backend: 2, limit: 1500))
    }

    @Test("nothing known to check against: admitted as is")
    func nothingKnown() {
        let huge = need(1_000_000, budget: 1)
        let unknownLimit = ContextAdmission.evaluate(huge, model: "m", table: table([nil, nil]), config: config())
        #expect(unknownLimit == .admit(huge, clampedFrom: nil))
        let unknownModel = ContextAdmission.evaluate(huge, model: "zzz", table: table([1000]), config: config())
        #expect(unknownModel == .admit(huge, clampedFrom: nil))
        let allDown = ContextAdmission.evaluate(
            huge, model: "m", table: table([1000], unhealthy: [0]), config: config())
        #expect(allDown == .admit(huge, clampedFrom: nil))
    }

    @Test(
        "evaluateExact: the exact count decides, without a margin",
        arguments: [
            AdmissionCase(need: need(850, 100, budget: 100), expected: .admit),  // exactly 900 + 100
            AdmissionCase(need: need(850, 100, budget: 101), expected: .refuse),
            AdmissionCase(need: need(850, 100, budget: 101), mode: .clamp, expected: .clamp(to: 100, from: 101)),
            AdmissionCase(need: need(850, 100, budget: nil), expected: .admit),
        ])
    func evaluateExact(_ c: AdmissionCase) {
        let verdict = ContextAdmission.evaluateExact(c.need, promptTokens: 900, limit: 1000, config: config(c.mode))
        // The counted prompt replaces the estimate: the image tokens stay, the text is the rest.
        let exact = ContextNeed(textTokens: 800, mediaTokens: 100, outputBudget: c.need.outputBudget)
        check(verdict, c.expected, need: exact, limit: 1000)
    }

    @Test("evaluateExact: a prompt that alone fills the context is refused, clamp or not")
    func exactPromptTooLong() {
        for mode in AdmissionMode.allCases {
            for budget in [nil, 10] as [Int?] {
                let estimate = need(900, 100, budget: budget)
                let verdict = ContextAdmission.evaluateExact(
                    estimate, promptTokens: 1000, limit: 1000, config: config(mode))
                check(verdict, .refuse, need: need(900, 100, budget: budget), limit: 1000)
            }
        }
        // Fewer tokens counted than the images were estimated at: all of it is image tokens.
        let small = ContextAdmission.evaluateExact(
            need(10, 500, budget: 5), promptTokens: 300, limit: 1000, config: config())
        #expect(small == .admit(ContextNeed(textTokens: 0, mediaTokens: 300, outputBudget: 5), clampedFrom: nil))
    }

    @Test(
        "the count in a /tokenize answer",
        arguments: [
            (#"{"count":123,"max_model_len":4096,"tokens":[1,2,3]}"#, 123), (#"{"tokens":[],"count":0}"#, 0),
            (#"{"count":-1}"#, nil), (#"{"count":1.5}"#, nil), (#"{"count":"7"}"#, nil),
            (#"{"tokens":{"count":5}}"#, nil),
            (#"{"max_model_len":4096}"#, nil), ("not json", nil), (#"{"count":12"#, nil),
        ] as [(String, Int?)])
    func tokenizeCount(body: String, count: Int?) {
        #expect(Array(body.utf8).withUnsafeBytes { ContextAdmission.tokenizeCount($0) } == count)
    }
}
