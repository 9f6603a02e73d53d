/// A slot on a backend, held from dispatch until the last response byte or the client's
/// disconnect. It carries what was reserved so that releasing it gives back exactly that.
public struct Ticket: Sendable, Equatable, Hashable {
    public var request: UInt64
    public var backend: Int
    /// Prompt tokens (text estimate plus image tokens).
    public var prompt: Int
    /// Output tokens reserved: the request's budget, or the configured default.
    public var output: Int
    public var dispatchedAt: Duration
    /// When the first response body byte arrived (prefill done); set by `Scheduler.firstToken`.
    public var firstTokenAt: Duration?

    public init(request: UInt64, backend: Int, prompt: Int, output: Int, dispatchedAt: Duration) {
        self.request = request
        self.backend = backend
        self.prompt = prompt
        self.output = output
        self.dispatchedAt = dispatchedAt
    }

    public var tokens: Int { prompt + output }
}

/// The work one backend has in hand, kept exactly from Switchyard's own dispatches, plus what its
/// scraped `/metrics` said about work from elsewhere.
public struct BackendLoad: Sendable, Equatable {
    /// What a backend's `/metrics` reported at one moment.
    public struct Scrape: Sendable, Equatable {
        public var running: Int
        public var waiting: Int
        public var kvCacheUsage: Double
        public var at: Duration
        /// Switchyard's own requests in flight there at that moment.
        public var localInFlight: Int

        public init(running: Int, waiting: Int, kvCacheUsage: Double, at: Duration, localInFlight: Int) {
            self.running = running
            self.waiting = waiting
            self.kvCacheUsage = kvCacheUsage
            self.at = at
            self.localInFlight = localInFlight
        }

        /// Requests the backend holds that Switchyard did not send (other clients, other proxies).
        public var external: Int { max(0, running + waiting - localInFlight) }
    }

    public var inFlight = 0
    /// Prompt + output reserved by every request in flight (the `max_inflight_tokens` measure).
    public var reservedTokens = 0
    /// Prompt tokens of requests that have not produced their first byte yet.
    public var pendingPrompt = 0
    /// Output reserved by every request in flight.
    public var reservedOutput = 0
    /// Requests past their first byte: how many, the sum of their first-byte times (seconds) and
    /// of their output reservations. Together with the TPOT estimate they give the output still
    /// to decode without visiting each request.
    public var decoding = 0
    public var decodingStartSum = 0.0
    public var decodingOutput = 0
    /// Exponentially weighted mean time per output token, in seconds (nil until measured).
    public var tpot: Double?
    /// Exponentially weighted mean of time to first byte ÷ prompt tokens, in seconds per token
    /// (nil until measured): how fast this backend turns a prompt into a first token.
    public var ttftPerPromptToken: Double?
    public var scrape: Scrape?

    public init() {}

    mutating func take(_ ticket: Ticket) {
        inFlight += 1
        reservedTokens += ticket.tokens
        pendingPrompt += ticket.prompt
        reservedOutput += ticket.output
    }

    mutating func started(_ ticket: Ticket, at time: Duration) {
        if ticket.prompt > 0 {
            let sample = (time - ticket.dispatchedAt).inSeconds / Double(ticket.prompt)
            if sample.isFinite, sample >= 0 {
                ttftPerPromptToken = ttftPerPromptToken.map { $0 + 0.2 * (sample - $0) } ?? sample
            }
        }
        pendingPrompt -= ticket.prompt
        decoding += 1
        decodingStartSum += time.inSeconds
        decodingOutput += ticket.output
    }

    mutating func release(_ ticket: Ticket) {
        inFlight -= 1
        reservedTokens -= ticket.tokens
        reservedOutput -= ticket.output
        if let first = ticket.firstTokenAt {
            decoding -= 1
            decodingStartSum -= first.inSeconds
            decodingOutput -= ticket.output
            if decoding == 0 { decodingStartSum = 0 }  // no float residue once idle
        } else {
            pendingPrompt -= ticket.prompt
        }
    }

    mutating func recordTPOT(_ seconds: Double, smoothing: Double = 0.2) {
        guard seconds.isFinite, seconds > 0 else { return }
        tpot = tpot.map { $0 + smoothing * (seconds - $0) } ?? seconds
    }

    /// Output tokens still to decode: the reservations, less what the decoding requests have
    /// produced by now at the measured TPOT (`fallbackTPOT` until measured).
    public func remainingOutput(now: Duration, fallbackTPOT: Double) -> Int {
        let tpot = self.tpot ?? fallbackTPOT
        guard decoding > 0, tpot > 0 else { return reservedOutput }
        let elapsed = max(0, Double(decoding) * now.inSeconds - decodingStartSum)
        let produced = min(Double(decodingOutput), elapsed / tpot)
        return reservedOutput - Int(produced)
    }

    /// Outstanding work in tokens: prompt still to prefill plus output still to decode.
    public func outstandingTokens(now: Duration, fallbackTPOT: Double) -> Int {
        pendingPrompt + remainingOutput(now: now, fallbackTPOT: fallbackTPOT)
    }

    /// The scrape, if it is recent enough to trust.
    public func freshScrape(now: Duration, maxAge: Duration) -> Scrape? {
        guard let scrape, now - scrape.at <= maxAge else { return nil }
        return scrape
    }
}

extension Duration {
    /// Seconds as a floating-point number.
    public var inSeconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
