/// The routing policies: which backend, among those with room, runs a request.
extension Scheduler {
    /// Chooses a backend among `candidates` (eligible, with room) and takes a slot there.
    mutating func place(_ request: ScheduleRequest, among candidates: [Int], now: Duration) -> Ticket {
        let backend = choose(request, among: candidates, now: now)
        let ticket = Ticket(
            request: request.id, backend: backend, prompt: request.prompt, output: request.output, dispatchedAt: now)
        table.backends[backend].load.take(ticket)
        rotation[request.model ?? ""] = (backend + 1) % max(1, table.backends.count)
        return ticket
    }

    /// The policy's choice. Local counts are exact and primary; with `routing.kv_aware`, fresh
    /// scrapes add the work other clients gave a backend, and a backend at the KV-cache high
    /// watermark is chosen only when every candidate is.
    public func choose(_ request: ScheduleRequest, among candidates: [Int], now: Duration) -> Int {
        precondition(!candidates.isEmpty, "choose needs a candidate")
        var pool = rotated(candidates, model: request.model)
        if routing.kvAware {
            let cool = pool.filter {
                scrape(of: $0, now: now).map { $0.kvCacheUsage < routing.kvHighWatermark } ?? true
            }
            if !cool.isEmpty { pool = cool }
        }
        guard pool.count > 1 else { return pool[0] }
        let signals = Signals(self)
        func outstanding(of backend: Int, now: Duration) -> Double {
            self.outstanding(of: backend, now: now, signals: signals)
        }
        switch routing.policy(for: request.model) {
        case .roundRobin:
            return pool[0]
        case .leastRequests:
            return lowest(pool) { Double(table.backends[$0].load.inFlight + external(of: $0, now: now)) }
        case .leastTokens:
            return lowest(pool) { outstanding(of: $0, now: now) }
        case .powerOfTwo:
            var generator = random.fork(request.id)
            let first = Int(generator.next() % UInt64(pool.count))
            var second = Int(generator.next() % UInt64(pool.count - 1))
            if second >= first { second += 1 }
            let score = { (backend: Int) in
                (outstanding(of: backend, now: now) + Double(request.tokens)) * relativeTPOT(of: backend, signals)
            }
            return score(pool[second]) < score(pool[first]) ? pool[second] : pool[first]
        case .leastTTFT:
            return lowest(pool) {
                let load = table.backends[$0].load
                return Double(load.pendingPrompt + request.prompt)
                    * (load.ttftPerPromptToken ?? signals.meanTTFTPerToken)
            }
        case .leastTime:
            return lowest(pool) {
                (outstanding(of: $0, now: now) + Double(request.tokens)) * relativeTPOT(of: $0, signals)
            }
        case .sessionAffinity:
            guard let key = request.sessionKey else { return lowest(pool) { outstanding(of: $0, now: now) } }
            // Bounded loads: a backend takes the key while its load is at most the factor times
            // the average (counting this request), as in Mirrokni et al., where a bin accepts
            // while under capacity. Its load is compared before adding the request: after it, an
            // idle cluster of n ≥ 2 would exceed 1.25 × tokens / n and never keep a key.
            var loads = [Double](repeating: 0, count: table.backends.count)
            for backend in pool { loads[backend] = outstanding(of: backend, now: now) }
            let average = (pool.reduce(0) { $0 + loads[$1] } + Double(request.tokens)) / Double(pool.count)
            let bound = routing.affinityLoadFactor * average
            let chosen = ring.nearest(to: key, among: pool) { loads[$0] <= bound }
            return chosen ?? lowest(pool) { loads[$0] }
        }
    }

    /// Candidates starting at the rotation point, so ties go to each backend in turn.
    func rotated(_ candidates: [Int], model: String?) -> [Int] {
        let sorted = candidates.sorted()
        let point = rotation[model ?? "", default: 0]
        let start = sorted.firstIndex { $0 >= point } ?? 0
        return Array(sorted[start...] + sorted[..<start])
    }

    func lowest(_ pool: [Int], by score: (Int) -> Double) -> Int {
        var best = pool[0]
        var bestScore = score(best)
        for backend in pool.dropFirst() {
            let value = score(backend)
            if value < bestScore { (best, bestScore) = (backend, value) }
        }
        return best
    }

    /// Cluster-wide figures the policies use, computed once per decision.
    struct Signals {
        /// Mean TPOT over backends that have measured one (50 ms before any has).
        var meanTPOT: Double
        /// Mean tokens of Switchyard's requests in flight (1 024 when there are none).
        var meanRequestTokens: Double
        /// Mean TTFT per prompt token over backends that have measured it (0.5 ms before any has).
        var meanTTFTPerToken: Double

        init(_ scheduler: Scheduler) {
            var tpotSum = 0.0
            var tpotCount = 0
            var requests = 0
            var tokens = 0
            var perTokenSum = 0.0
            var perTokenCount = 0
            for backend in scheduler.table.backends {
                if let perToken = backend.load.ttftPerPromptToken {
                    perTokenSum += perToken
                    perTokenCount += 1
                }
                if let tpot = backend.load.tpot {
                    tpotSum += tpot
                    tpotCount += 1
                }
                requests += backend.load.inFlight
                tokens += backend.load.reservedTokens
            }
            meanTPOT = tpotCount > 0 ? tpotSum / Double(tpotCount) : 0.05
            meanRequestTokens = requests > 0 ? Double(tokens) / Double(requests) : 1024
            meanTTFTPerToken = perTokenCount > 0 ? perTokenSum / Double(perTokenCount) : 0.0005
        }
    }

    /// Tokens of work a backend still has: prompt not yet prefilled plus output not yet decoded,
    /// plus (kv-aware) the work of requests it holds that Switchyard did not send, at the mean
    /// cost of Switchyard's own.
    public func outstanding(of backend: Int, now: Duration) -> Double {
        outstanding(of: backend, now: now, signals: Signals(self))
    }

    func outstanding(of backend: Int, now: Duration, signals: Signals) -> Double {
        let load = table.backends[backend].load
        let own = Double(load.outstandingTokens(now: now, fallbackTPOT: signals.meanTPOT))
        let others = external(of: backend, now: now)
        guard others > 0 else { return own }
        return own + Double(others) * signals.meanRequestTokens
    }

    func external(of backend: Int, now: Duration) -> Int {
        guard routing.kvAware else { return 0 }
        return scrape(of: backend, now: now)?.external ?? 0
    }

    func scrape(of backend: Int, now: Duration) -> BackendLoad.Scrape? {
        table.backends[backend].load.freshScrape(now: now, maxAge: scrapeMaxAge)
    }

    /// A backend's TPOT relative to the mean: 2 for one decoding at half speed, 1 when unknown.
    func relativeTPOT(of backend: Int, _ signals: Signals) -> Double {
        guard let tpot = table.backends[backend].load.tpot else { return 1 }
        return tpot / signals.meanTPOT
    }
}
