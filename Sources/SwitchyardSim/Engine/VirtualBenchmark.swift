import SwitchyardCore

/// Runs a benchmark against the engine model in virtual time: the same arrivals, client-side
/// concurrency limit and per-request measurement as `switchyard bench serve`, without sockets or
/// waiting. Used to fit the profile to the seed's tables in seconds (`switchyard sim calibrate`);
/// the real-time HTTP check is `Benchmarks/sim-calibration/run.sh`.
public enum VirtualBenchmark {
    public struct Request: Sendable {
        public var sendTime: Double
        public var promptTokens: Int
        public var imageTokens: Int
        public var megapixels: Double
        public var outputTokens: Int

        public init(sendTime: Double, promptTokens: Int, imageTokens: Int, megapixels: Double, outputTokens: Int) {
            self.sendTime = sendTime
            self.promptTokens = promptTokens
            self.imageTokens = imageTokens
            self.megapixels = megapixels
            self.outputTokens = outputTokens
        }
    }

    public static func run(_ requests: [Request], maxConcurrency: Int?, profile: EngineProfile) -> (
        outcomes: [RequestOutcome], duration: Double
    ) {
        var engine = SimEngine(profile: profile)
        var events = EventQueue()
        var outcomes = requests.map { _ in RequestOutcome(success: false) }
        var lastToken = [Double](repeating: 0, count: requests.count)
        var slots = maxConcurrency ?? Int.max
        var blocked: [Int] = []
        var engineBusy = false
        var end = 0.0

        for (index, request) in requests.enumerated() { events.push(request.sendTime, .send(index)) }
        while let (now, event) = events.pop() {
            switch event {
            case .send(let index):
                if slots > 0 {
                    slots -= 1
                    events.push(now, .start(index))
                } else {
                    blocked.append(index)
                }
            case .start(let index):
                let request = requests[index]
                outcomes[index].startTime = now
                outcomes[index].promptTokens = request.promptTokens
                let preprocess = profile.preprocessMilliseconds(megapixels: request.megapixels) / 1000
                events.push(now + preprocess, .arrive(index))
            case .arrive(let index):
                let request = requests[index]
                engine.add(
                    EngineRequest(
                        id: index, promptTokens: request.promptTokens, imageTokens: request.imageTokens,
                        outputTokens: request.outputTokens))
            case .stepDone(let step):
                engineBusy = false
                for token in step.tokens {
                    let index = token.id
                    let elapsed = now - outcomes[index].startTime
                    if token.index == 0 {
                        outcomes[index].ttft = elapsed
                    } else {
                        outcomes[index].itl.append(now - lastToken[index])
                    }
                    lastToken[index] = now
                    outcomes[index].contentEvents += 1
                    if token.finished {
                        outcomes[index].success = true
                        outcomes[index].latency = elapsed
                        outcomes[index].outputTokens = token.index + 1
                        end = max(end, now)
                        if let next = blocked.first {
                            blocked.removeFirst()
                            events.push(now, .start(next))
                        } else {
                            slots += 1
                        }
                    }
                }
            }
            if !engineBusy, let step = engine.step() {
                engineBusy = true
                events.push(now + step.durationMs / 1000, .stepDone(step))
            }
        }
        let first = requests.map(\.sendTime).min() ?? 0
        return (outcomes, end - first)
    }

    enum Event {
        case send(Int)
        case start(Int)
        case arrive(Int)
        case stepDone(SimEngine.Step)
    }

    /// A binary min-heap of events by time; ties keep insertion order.
    struct EventQueue {
        private var heap: [(time: Double, serial: Int, event: Event)] = []
        private var serial = 0

        mutating func push(_ time: Double, _ event: Event) {
            serial += 1
            heap.append((time, serial, event))
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard less(child, parent) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (Double, Event)? {
            guard !heap.isEmpty else { return nil }
            heap.swapAt(0, heap.count - 1)
            let top = heap.removeLast()
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && less(left, smallest) { smallest = left }
                if right < heap.count && less(right, smallest) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
            return (top.time, top.event)
        }

        private func less(_ a: Int, _ b: Int) -> Bool {
            (heap[a].time, heap[a].serial) < (heap[b].time, heap[b].serial)
        }
    }
}
