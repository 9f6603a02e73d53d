/// Context-length admission for one generation request: whether it fits, must be counted
/// exactly first, is clamped, or is refused. Eligibility per backend is the table's job; this
/// decides against the largest context among the healthy backends serving the model.
public enum ContextAdmission {
    public enum Verdict: Sendable, Equatable {
        /// Go on with this need. `clampedFrom` is the client's budget when `clamp` mode lowered it.
        case admit(ContextNeed, clampedFrom: Int?)
        /// The estimate is within the margin of `limit`: ask `backend`'s `/tokenize` first.
        case countExactly(backend: Int, limit: Int)
        case refuse(OpenAIError)
    }

    public static func evaluate(
        _ need: ContextNeed, model: String?, table: BackendTable, config: AdmissionConfig
    ) -> Verdict {
        let limits = table.serving(model).compactMap { index in
            table.contextLimit(of: index, model: model).map { (index, $0) }
        }
        // Nothing known to check against: the scheduler refuses or vLLM counts.
        guard let (largest, limit) = limits.max(by: { $0.1 < $1.1 }) else { return .admit(need, clampedFrom: nil) }
        let total = Double(need.total)
        let near = total > Double(limit) * (1 - config.margin) && total <= Double(limit) * (1 + config.margin)
        if near && config.exactCheck { return .countExactly(backend: largest, limit: limit) }
        if need.total <= limit { return .admit(need, clampedFrom: nil) }
        return overflow(need, limit: limit, config: config, withinMargin: near)
    }

    /// The verdict once `/tokenize` has counted the prompt exactly (`promptTokens`).
    public static func evaluateExact(
        _ need: ContextNeed, promptTokens: Int, limit: Int, config: AdmissionConfig
    ) -> Verdict {
        var exact = need
        exact.textTokens = max(0, promptTokens - need.mediaTokens)
        exact.mediaTokens = promptTokens - exact.textTokens
        if exact.total <= limit { return .admit(exact, clampedFrom: nil) }
        return overflow(exact, limit: limit, config: config, withinMargin: false)
    }

    private static func overflow(_ need: ContextNeed, limit: Int, config: AdmissionConfig, withinMargin: Bool)
        -> Verdict
    {
        if config.mode == .clamp, let budget = need.outputBudget, need.prompt < limit {
            var clamped = need
            clamped.outputBudget = limit - need.prompt
            return .admit(clamped, clampedFrom: budget)
        }
        // Without an exact count, a near miss is left to vLLM: the estimate may be high.
        if withinMargin { return .admit(need, clampedFrom: nil) }
        return .refuse(BackendTable.contextLengthExceeded(need, limit: limit))
    }

    /// The `count` of a `/tokenize` answer.
    public static func tokenizeCount(_ body: UnsafeRawBufferPointer) -> Int? {
        var count: Int?
        var scanner = JSONScanner(body)
        do {
            try scanner.scanObject(decodedStrings: []) { path, value in
                if path == ["count"], case .number(let number, true) = value, number >= 0, number < 1e12 {
                    count = Int(number)
                }
            }
        } catch { return nil }
        return count
    }
}
