/// A consistent-hash ring over backend names: each backend owns `replicas` points, a key belongs
/// to the first point at or after its hash. Built from names, not indices or health, so a key
/// keeps its backend across restarts and while other backends come and go.
public struct HashRing: Sendable {
    private var points: [(hash: UInt64, backend: Int)] = []
    /// Each backend's points, sorted: finding a backend's first point after a key is a binary search.
    private var pointsByBackend: [[UInt64]] = []

    public init(names: [String], replicas: Int = 64) {
        for (backend, name) in names.enumerated() {
            let own = (0..<replicas).map { FNV1a64.hash("\(name)#\($0)") }.sorted()
            pointsByBackend.append(own)
            points += own.map { ($0, backend) }
        }
        points.sort { $0.hash < $1.hash }
    }

    /// Among `candidates` that `accept` takes, the first one clockwise from `key`: the same
    /// answer as walking the ring, in O(candidates × log replicas) however few are accepted.
    public func nearest(to key: UInt64, among candidates: [Int], where accept: (Int) -> Bool) -> Int? {
        var best: (distance: UInt64, backend: Int)?
        for backend in candidates where backend < pointsByBackend.count && !pointsByBackend[backend].isEmpty {
            let own = pointsByBackend[backend]
            var low = 0
            var high = own.count
            while low < high {
                let mid = (low + high) / 2
                if own[mid] < key { low = mid + 1 } else { high = mid }
            }
            // Wrapping subtraction gives the clockwise distance, past the top of the ring too.
            let distance = (low < own.count ? own[low] : own[0]) &- key
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
        var order: [Int] = []
        _ = first(from: key) { backend in
            if !order.contains(backend) { order.append(backend) }
            return false
        }
        return order
    }

    /// The first backend clockwise from `key` that `accept` takes (it may see a backend more
    /// than once); nil when it takes none.
    public func first(from key: UInt64, where accept: (Int) -> Bool) -> Int? {
        guard !points.isEmpty else { return nil }
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < key { low = mid + 1 } else { high = mid }
        }
        for step in 0..<points.count {
            let backend = points[(low + step) % points.count].backend
            if accept(backend) { return backend }
        }
        return nil
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
