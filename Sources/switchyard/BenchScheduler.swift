import ArgumentParser
import SwitchyardCore

/// `switchyard bench scheduler`: what one scheduling decision costs, per policy and backend
/// count. Each step submits a request and finishes the oldest in flight (steady state at a
/// fixed load per backend); the saturated variant keeps a queue, so every finish also binds a
/// waiting request.
struct BenchScheduler: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler", abstract: "Microbenchmark of the scheduler's decision cost (ns per request).")

    @Option(help: "Backend counts, comma-separated.") var backends = "4,64"
    @Option(help: "Requests per measurement.") var requests = 200_000
    @Option(help: "Requests in flight per backend in steady state.") var loadPerBackend = 32

    func run() throws {
        let counts = backends.split(separator: ",").compactMap { Int($0) }
        print("| backends | policy | steady ns/request | saturated ns/request |")
        print("|---|---|---|---|")
        for count in counts {
            for policy in RoutingPolicy.allCases {
                let steady = measure(backends: count, policy: policy, saturated: false)
                let saturated = measure(backends: count, policy: policy, saturated: true)
                print("| \(count) | \(policy.rawValue) | \(Int(steady)) | \(Int(saturated)) |")
            }
        }
    }

    /// Nanoseconds per request (submit + first token + finish, and the binding it triggers).
    private func measure(backends count: Int, policy: RoutingPolicy, saturated: Bool) -> Double {
        var config = SwitchyardConfig()
        config.backends = (0..<count).map {
            var backend = BackendConfig(name: "b\($0)", url: BackendURL(host: "10.0.0.1", port: 8000 + $0))
            backend.maxConcurrent = loadPerBackend
            return backend
        }
        config.routing.policy = policy
        config.queue.maxRequests = 1_000_000
        config.queue.maxTokens = Int(Int32.max)
        config.queue.timeout = .seconds(3600)
        config.queue.maxTimeout = .seconds(3600)
        var scheduler = Scheduler(config: config)
        for index in 0..<count {
            _ = scheduler.probeSucceeded(backend: index, now: .zero)
            _ = scheduler.modelsDiscovered(
                backend: index, [ModelCard(id: "m", maxModelLen: 65536, json: "{\"id\":\"m\"}")], now: .zero)
        }
        var random = SeededRandom(seed: 7)
        var held: [Ticket] = []
        held.reserveCapacity(count * loadPerBackend)
        var next: UInt64 = 1
        var now = Duration.zero
        func request() -> ScheduleRequest {
            defer { next += 1 }
            let prompt = 200 + Int(random.next() % 3000)
            let need = ContextNeed(textTokens: prompt, mediaTokens: 0, outputBudget: 256)
            return ScheduleRequest(
                id: next, model: "m", need: need, prompt: prompt, output: 256, tenant: "t\(next % 8)",
                sessionKey: random.next(), timeout: .seconds(3600))
        }
        // Fill to the steady load (and, saturated, a queue as deep again).
        let fill = count * loadPerBackend * (saturated ? 2 : 1) - (saturated ? 0 : count)
        for _ in 0..<fill {
            if case .dispatch(let ticket) = scheduler.submit(request(), now: now) { held.append(ticket) }
        }
        var oldest = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<requests {
                now += .microseconds(100)
                if case .dispatch(var ticket) = scheduler.submit(request(), now: now) {
                    scheduler.firstToken(&ticket, now: now)
                    held.append(ticket)
                }
                let ticket = held[oldest]
                oldest += 1
                for var bound in scheduler.finish(ticket, now: now, tpot: 0.02) {
                    scheduler.firstToken(&bound, now: now)
                    held.append(bound)
                }
            }
        }
        return Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000)
            / Double(requests)
    }
}
