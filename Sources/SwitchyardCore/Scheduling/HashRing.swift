/// A consistent-hash ring over backend names: each backend owns `replicas` points, a key belongs
/// to the first point at or after its hash. Built from names, not indices or health, so a key
/// keeps its backend across restarts and while other backends come and go.
public struct HashRing: Sendable {
    /// Each backend's points, sorted: a backend's first point after a key is a binary search.
    private var pointsByBackend: [[UInt64]] = []

    public init(names: [String], replicas: Int = 64) {
        pointsByBackend = names.map { name in (0..<replicas).map { FNV1a64.hash("\(name)#\($0)") }.sorted() }
    }

    /// Among `candidates` that `accept` takes, the first one clockwise from `key`: the same
    /// answer as walking the ring, in O(candidates × log replicas) however few are accepted.
    public func nearest(to key: UInt64, among candidates: [Int], where accept: (Int) -> Bool) -> Int? {
        var best: (distance: UInt64, backend: Int)?
        for backend in candidates {
            guard let distance = distance(from: key, to: backend) else { continue }
            if best.map({ distance < $0.distance || (distance == $0.distance && backend < $0.backend) }) ?? true,
                accept(backend)
            {
                best = (distance, backend)
            }
        }
        return best?.backend
    }

    /// Backends in the order a key visits them: its owner first, then clockwise, each once.
    public func walk(from key: UInt64) -> [Int] {
        pointsByBackend.indices.compactMap { backend in distance(from: key, to: backend).map { ($0, backend) } }
            .sorted { $0 < $1 }.map(\.1)
    }

    /// Clockwise distance from `key` to the backend's first point at or after it (nil: no points).
    private func distance(from key: UInt64, to backend: Int) -> UInt64? {
        guard backend < pointsByBackend.count, let first = pointsByBackend[backend].first else { return nil }
        let own = pointsByBackend[backend]
        var low = 0
        var high = own.count
        while low < high {
            let mid = (low + high) / 2
            if own[mid] < key { low = mid + 1 } else { high = mid }
        }
        // Wrapping subtraction gives the clockwise distance, past the top of the ring too.
        return (low < own.count ? own[low] : first) &- key
    }
}

extension HashRing {
    /// The ring position of a session key given as text (a header value).
    public static func key(_ text: String) -> UInt64 { FNV1a64.hash(text) }

    /// The ring position of a session seed (`RequestProfile.sessionSeed`).
    public static func key(seed: UInt64) -> UInt64 { FNV1a64.mix(seed) }
}

extension FNV1a64 {
    /// FNV-1a of `text` with a final avalanche, so that similar names spread over the ring.
    static func hash(_ text: String) -> UInt64 {
        var hash = FNV1a64()
        for byte in text.utf8 { hash.add(byte: byte) }
        return mix(hash.value)
    }

    /// splitmix64's finaliser.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
