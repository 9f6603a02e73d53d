/// The routing policies: which backend, among those with room, runs a request.
extension Scheduler {
    /// Chooses a backend among `candidates` (eligible, with room) and takes a slot there.
    mutating func place(_ request: ScheduleRequest, among candidates: [Int], now: Duration) -> Ticket {
        let backend = choose(request, among: candidates, now: now)
        let ticket = Ticket(
            request: request.id, backend: backend, prompt: request.prompt, output: request.output, dispatchedAt: now)
        table.backends[backend].load.take(ticket)
        rotation = (backend + 1) % max(1, table.backends.count)
        return ticket
    }

    /// The policy's choice. Local counts are exact and primary; with `routing.kv_aware`, fresh
    /// scrapes add the work other clients gave a backend, and a backend at the KV-cache high
    /// watermark is chosen only when every candidate is.
    public func choose(_ request: ScheduleRequest, among candidates: [Int], now: Duration) -> Int {
        precondition(!candidates.isEmpty, "choose needs a candidate")
        var pool = rotated(candidates)
        if routing.kvAware {
            let cool = pool.filter {
                scrape(of: $0, now: now).map { $0.kvCacheUsage < routing.kvHighWatermark } ?? true
            }
            if !cool.isEmpty { pool = cool }
        }
        guard pool.count > 1 else { return pool[0] }
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
                (outstanding(of: backend, now: now) + Double(request.tokens)) * relativeTPOT(of: backend)
            }
            return score(pool[second]) < score(pool[first]) ? pool[second] : pool[first]
        case .sessionAffinity:
            guard let key = request.sessionKey else { return lowest(pool) { outstanding(of: $0, now: now) } }
            let loads = pool.map { outstanding(of: $0, now: now) }
            let average = (loads.reduce(0, +) + Double(request.tokens)) / Double(pool.count)
            let bound = routing.affinityLoadFactor * average
            let inPool = Set(pool)
            for backend in ring.walk(from: key) where inPool.contains(backend) {
                if outstanding(of: backend, now: now) + Double(request.tokens) <= bound { return backend }
            }
            return lowest(pool) { outstanding(of: $0, now: now) }
        }
    }

    /// Candidates starting at the rotation point, so ties go to each backend in turn.
    func rotated(_ candidates: [Int]) -> [Int] {
        let sorted = candidates.sorted()
        let start = sorted.firstIndex { $0 >= rotation } ?? 0
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

    /// Tokens of work a backend still has: prompt not yet prefilled plus output not yet decoded,
    /// plus (kv-aware) the work of requests it holds that Switchyard did not send, at the mean
    /// cost of Switchyard's own.
    public func outstanding(of backend: Int, now: Duration) -> Double {
        let load = table.backends[backend].load
        let own = Double(load.outstandingTokens(now: now, fallbackTPOT: fallbackTPOT))
        let others = external(of: backend, now: now)
        guard others > 0 else { return own }
        return own + Double(others) * meanRequestTokens
    }

    func external(of backend: Int, now: Duration) -> Int {
        guard routing.kvAware else { return 0 }
        return scrape(of: backend, now: now)?.external ?? 0
    }

    func scrape(of backend: Int, now: Duration) -> BackendLoad.Scrape? {
        table.backends[backend].load.freshScrape(now: now, maxAge: scrapeMaxAge)
    }

    /// Mean TPOT over backends that have measured one (50 ms before any has).
    var fallbackTPOT: Double {
        let known = table.backends.compactMap(\.load.tpot)
        return known.isEmpty ? 0.05 : known.reduce(0, +) / Double(known.count)
    }

    /// A backend's TPOT relative to the mean: 2 for one decoding at half speed, 1 when unknown.
    func relativeTPOT(of backend: Int) -> Double {
        guard let tpot = table.backends[backend].load.tpot else { return 1 }
        return tpot / fallbackTPOT
    }

    var meanRequestTokens: Double {
        let requests = table.backends.reduce(0) { $0 + $1.load.inFlight }
        let tokens = table.backends.reduce(0) { $0 + $1.load.reservedTokens }
        return requests > 0 ? Double(tokens) / Double(requests) : 1024
    }
}
