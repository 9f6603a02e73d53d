/// A request waiting for a slot.
public struct QueuedRequest: Sendable, Equatable {
    public var request: ScheduleRequest
    public var enqueuedAt: Duration
    public var deadline: Duration
}

/// The waiting room, in three layers:
/// 1. Priority bands, lowest first (vLLM's convention). Anti-starvation by aging: a request that
///    has waited `w` is ranked as priority `p - floor(w / agingInterval)`, so a later arrival of
///    priority `q` can pass it only while `p - q > w / agingInterval`.
/// 2. Within a band, deficit round robin across tenants on token cost: each turn credits a tenant
///    `quantum × weight` tokens, and it may start requests while its credit covers their cost.
///    Over any backlogged period, tenants' served tokens stay proportional to their weights
///    within one request's cost plus one quantum.
/// 3. Within a tenant, first come first served.
/// Only requests that can run now (`canRun`) are considered, so one model's full backends never
/// hold up another model's requests.
public struct FairQueue: Sendable {
    public private(set) var entries: [QueuedRequest] = []
    /// Tokens (prompt + output budget) of everything waiting.
    public private(set) var tokens = 0
    public private(set) var tenantTokens: [String: Int] = [:]

    private let quantum: Double
    private let agingInterval: Duration
    private let weights: [String: Double]
    /// Tenants with waiting requests, in the order they became active (the DRR ring).
    private var ring: [String] = []
    private var deficits: [String: Double] = [:]
    /// The tenant whose turn is in progress (its credit for this turn already given).
    private var turn: String?
    /// Where the next turn starts when no turn is in progress.
    private var nextIndex = 0

    public init(quantum: Int = 4096, agingInterval: Duration = .seconds(5), weights: [String: Double] = [:]) {
        self.quantum = Double(max(1, quantum))
        self.agingInterval = agingInterval
        self.weights = weights
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func weight(of tenant: String) -> Double { max(weights[tenant] ?? 1, 1e-6) }

    /// Effective priority after aging.
    public func band(of entry: QueuedRequest, now: Duration) -> Int {
        guard agingInterval > .zero else { return entry.request.priority }
        let waited = max(.zero, now - entry.enqueuedAt)
        return entry.request.priority - Int(waited / agingInterval)
    }

    /// Tokens that would be served before a new request of `priority` arriving now.
    public func tokensAhead(ofPriority priority: Int, now: Duration) -> Int {
        entries.reduce(0) { $0 + (band(of: $1, now: now) <= priority ? $1.request.tokens : 0) }
    }

    public mutating func append(_ entry: QueuedRequest) {
        let tenant = entry.request.tenant
        if tenantTokens[tenant] == nil {
            ring.append(tenant)
            deficits[tenant] = 0
        }
        entries.append(entry)
        tokens += entry.request.tokens
        tenantTokens[tenant, default: 0] += entry.request.tokens
    }

    /// Removes a waiting request (cancelled or expired).
    public mutating func remove(id: UInt64) -> QueuedRequest? {
        guard let index = entries.firstIndex(where: { $0.request.id == id }) else { return nil }
        return remove(at: index)
    }

    /// Removes and returns the request to start next, if any can run now.
    public mutating func next(now: Duration, canRun: (ScheduleRequest) -> Bool) -> QueuedRequest? {
        guard !entries.isEmpty else { return nil }
        let bands = entries.map { band(of: $0, now: now) }
        for band in Set(bands).sorted() {
            // Each tenant's first request in this band that can run now (FIFO within a tenant,
            // among requests that can run: one model's full backends do not stall another's).
            var heads: [String: Int] = [:]
            for index in entries.indices where bands[index] == band {
                let request = entries[index].request
                if heads[request.tenant] == nil, canRun(request) { heads[request.tenant] = index }
            }
            guard !heads.isEmpty else { continue }
            let winner = pickTenant(heads)
            return remove(at: heads[winner]!)
        }
        return nil
    }

    /// Deficit round robin among the tenants in `heads` (tenant → index of its head request).
    /// Rather than looping turn by turn (a cost far above the quantum would take many turns), it
    /// computes how many turns each tenant needs and jumps there, crediting every tenant the
    /// turns it would have had.
    private mutating func pickTenant(_ heads: [String: Int]) -> String {
        func cost(_ tenant: String) -> Double { Double(entries[heads[tenant]!].request.tokens) }
        if let turn, heads[turn] != nil, deficits[turn, default: 0] >= cost(turn) {
            deficits[turn, default: 0] -= cost(turn)
            return turn
        }
        let start = turn.flatMap { ring.firstIndex(of: $0) }.map { $0 + 1 } ?? nextIndex
        let order = (0..<ring.count).map { ring[(start + $0) % ring.count] }.filter { heads[$0] != nil }
        var winner = order[0]
        var winnerPosition = 0
        var winnerTurns = Int.max
        for (position, tenant) in order.enumerated() {
            let credit = quantum * weight(of: tenant)
            let missing = cost(tenant) - deficits[tenant, default: 0]
            let turns = max(1, Int((missing / credit).rounded(.up)))
            if turns < winnerTurns {
                (winner, winnerPosition, winnerTurns) = (tenant, position, turns)
            }
        }
        for (position, tenant) in order.enumerated() {
            let turns = position <= winnerPosition ? winnerTurns : winnerTurns - 1
            deficits[tenant, default: 0] += Double(turns) * quantum * weight(of: tenant)
        }
        deficits[winner, default: 0] -= cost(winner)
        turn = winner
        return winner
    }

    private mutating func remove(at index: Int) -> QueuedRequest {
        let entry = entries.remove(at: index)
        let tenant = entry.request.tenant
        tokens -= entry.request.tokens
        let left = tenantTokens[tenant, default: 0] - entry.request.tokens
        let tenantStillWaiting = entries.contains { $0.request.tenant == tenant }
        if tenantStillWaiting {
            tenantTokens[tenant] = left
        } else {
            // An idle tenant leaves the ring and loses its credit (standard DRR).
            tenantTokens[tenant] = nil
            deficits[tenant] = nil
            if let position = ring.firstIndex(of: tenant) {
                ring.remove(at: position)
                if turn == tenant {
                    turn = nil
                    nextIndex = position
                } else if position < nextIndex {
                    nextIndex -= 1
                }
                if nextIndex >= ring.count { nextIndex = 0 }
            }
        }
        return entry
    }
}
