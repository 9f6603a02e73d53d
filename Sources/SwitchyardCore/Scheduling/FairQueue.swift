/// A request waiting for a slot.
public struct QueuedRequest: Sendable, Equatable {
    public var request: ScheduleRequest
    public var enqueuedAt: Duration
    public var deadline: Duration
    let enqueuedAtSeconds: Double

    public init(request: ScheduleRequest, enqueuedAt: Duration, deadline: Duration) {
        self.request = request
        self.enqueuedAt = enqueuedAt
        self.deadline = deadline
        self.enqueuedAtSeconds = enqueuedAt.inSeconds
    }
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
    /// Waiting requests in arrival order; removed ones leave a hole until the next compaction,
    /// so a removal is O(1) rather than a shift of the whole array.
    private var slots: [QueuedRequest?] = []
    /// What the scans read, beside `slots` and without reference counting: priority, arrival
    /// time (seconds), tokens, and whether the slot is live.
    private var meta: [Meta] = []
    private var slotByID: [UInt64: Int] = [:]
    /// Tokens (prompt + output budget) of everything waiting.
    public private(set) var tokens = 0
    public private(set) var tenantTokens: [String: Int] = [:]
    private var tenantCounts: [String: Int] = [:]

    private var quantum: Double
    /// Aging interval in seconds (0: no aging); bands are computed in floating point because
    /// `Duration` division is costly and runs for every waiting request.
    private var agingSeconds: Double
    private var weights: [String: Double]
    /// Tenants with waiting requests, in the order they became active (the DRR ring).
    private var ring: [String] = []
    private var deficits: [String: Double] = [:]
    /// The tenant whose turn is in progress (its credit for this turn already given).
    private var turn: String?
    /// Where the next turn starts when no turn is in progress.
    private var nextIndex = 0

    public init(quantum: Int = 4096, agingInterval: Duration = .seconds(5), weights: [String: Double] = [:]) {
        self.quantum = Double(max(1, quantum))
        self.agingSeconds = max(0, agingInterval.inSeconds)
        self.weights = weights
    }

    /// New parameters (a reload) for the requests waiting and those to come.
    public mutating func reconfigure(quantum: Int, agingInterval: Duration, weights: [String: Double]) {
        self.quantum = Double(max(1, quantum))
        self.agingSeconds = max(0, agingInterval.inSeconds)
        self.weights = weights
    }

    public var count: Int { slotByID.count }
    public var isEmpty: Bool { slotByID.isEmpty }

    /// Everything waiting, in arrival order.
    public var entries: [QueuedRequest] { slots.compactMap { $0 } }

    public func entry(id: UInt64) -> QueuedRequest? { slotByID[id].flatMap { slots[$0] } }

    public func weight(of tenant: String) -> Double { max(weights[tenant] ?? 1, 1e-6) }

    /// Effective priority after aging.
    public func band(of entry: QueuedRequest, now: Duration) -> Int {
        band(of: entry, nowSeconds: now.inSeconds)
    }

    private func band(of entry: QueuedRequest, nowSeconds: Double) -> Int {
        band(priority: entry.request.priority, enqueuedAt: entry.enqueuedAtSeconds, nowSeconds: nowSeconds)
    }

    private func band(priority: Int, enqueuedAt: Double, nowSeconds: Double) -> Int {
        guard agingSeconds > 0 else { return priority }
        return priority - Int(max(0, nowSeconds - enqueuedAt) / agingSeconds)
    }

    private struct Meta {
        var priority: Int
        var enqueuedAt: Double
        var tokens: Int
        var live = true
    }

    /// Tokens that would be served before a new request of `priority` arriving now.
    public func tokensAhead(ofPriority priority: Int, now: Duration) -> Int {
        let nowSeconds = now.inSeconds
        var total = 0
        for item in meta where item.live {
            if band(priority: item.priority, enqueuedAt: item.enqueuedAt, nowSeconds: nowSeconds) <= priority {
                total += item.tokens
            }
        }
        return total
    }

    public mutating func append(_ entry: QueuedRequest) {
        let tenant = entry.request.tenant
        if tenantCounts[tenant] == nil {
            ring.append(tenant)
            deficits[tenant] = 0
        }
        slotByID[entry.request.id] = slots.count
        slots.append(entry)
        meta.append(
            Meta(priority: entry.request.priority, enqueuedAt: entry.enqueuedAtSeconds, tokens: entry.request.tokens))
        tokens += entry.request.tokens
        tenantTokens[tenant, default: 0] += entry.request.tokens
        tenantCounts[tenant, default: 0] += 1
    }

    /// Removes a waiting request (cancelled or expired).
    public mutating func remove(id: UInt64) -> QueuedRequest? {
        guard let index = slotByID[id] else { return nil }
        return remove(at: index)
    }

    /// Removes and returns the request to start next, if any can run now.
    public mutating func next(now: Duration, canRun: (ScheduleRequest) -> Bool) -> QueuedRequest? {
        guard !isEmpty else { return nil }
        let nowSeconds = now.inSeconds
        // Bands in increasing order, found one at a time: the first almost always has a runnable
        // request, so this is a pass or two rather than a sort.
        var floor = Int.min
        while true {
            var lowest: Int?
            for item in meta where item.live {
                let entryBand = band(priority: item.priority, enqueuedAt: item.enqueuedAt, nowSeconds: nowSeconds)
                if entryBand > floor && entryBand < (lowest ?? Int.max) { lowest = entryBand }
            }
            guard let current = lowest else { return nil }
            floor = current
            // Each tenant's first request in this band that can run now (FIFO within a tenant,
            // among requests that can run: one model's full backends do not stall another's).
            var heads: [String: Int] = [:]
            for index in meta.indices where meta[index].live && heads.count < tenantCounts.count {
                let item = meta[index]
                guard band(priority: item.priority, enqueuedAt: item.enqueuedAt, nowSeconds: nowSeconds) == current
                else { continue }
                let request = slots[index]!.request
                guard heads[request.tenant] == nil else { continue }
                if canRun(request) { heads[request.tenant] = index }
            }
            guard !heads.isEmpty else { continue }
            let winner = pickTenant(heads)
            return remove(at: heads[winner]!)
        }
    }

    /// Deficit round robin among the tenants in `heads` (tenant → index of its head request).
    /// Rather than looping turn by turn (a cost far above the quantum would take many turns), it
    /// computes how many turns each tenant needs and jumps there, crediting every tenant the
    /// turns it would have had.
    private mutating func pickTenant(_ heads: [String: Int]) -> String {
        func cost(_ tenant: String) -> Double { Double(slots[heads[tenant]!]!.request.tokens) }
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
        let entry = slots[index]!
        slots[index] = nil
        meta[index].live = false
        slotByID[entry.request.id] = nil
        compactIfSparse()
        let tenant = entry.request.tenant
        tokens -= entry.request.tokens
        let left = tenantTokens[tenant, default: 0] - entry.request.tokens
        let waitingFromTenant = tenantCounts[tenant, default: 1] - 1
        if waitingFromTenant > 0 {
            tenantTokens[tenant] = left
            tenantCounts[tenant] = waitingFromTenant
        } else {
            tenantCounts[tenant] = nil
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

    /// Drops the holes once they are the majority (amortised O(1) per removal).
    private mutating func compactIfSparse() {
        guard slots.count >= 32, slotByID.count * 2 < slots.count else {
            if slotByID.isEmpty {
                slots.removeAll(keepingCapacity: true)
                meta.removeAll(keepingCapacity: true)
            }
            return
        }
        slots.removeAll { $0 == nil }
        meta.removeAll { !$0.live }
        for (index, entry) in slots.enumerated() { slotByID[entry!.request.id] = index }
    }
}
