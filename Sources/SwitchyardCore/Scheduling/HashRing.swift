/// A consistent-hash ring over backend names: each backend owns `replicas` points, a key belongs
/// to the first point at or after its hash. Built from names, not indices or health, so a key
/// keeps its backend across restarts and while other backends come and go.
public struct HashRing: Sendable {
    private var points: [(hash: UInt64, backend: Int)] = []

    public init(names: [String], replicas: Int = 64) {
        for (backend, name) in names.enumerated() {
            for replica in 0..<replicas {
                points.append((FNV1a64.hash("\(name)#\(replica)"), backend))
            }
        }
        points.sort { $0.hash < $1.hash }
    }

    /// Backends in the order a key visits them: its owner first, then clockwise, each once.
    public func walk(from key: UInt64) -> [Int] {
        guard !points.isEmpty else { return [] }
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < key { low = mid + 1 } else { high = mid }
        }
        var seen = Set<Int>()
        var order: [Int] = []
        for step in 0..<points.count {
            let backend = points[(low + step) % points.count].backend
            if seen.insert(backend).inserted { order.append(backend) }
        }
        return order
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
