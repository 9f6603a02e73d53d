import SwitchyardCore

/// `GET /switchyard/status`: the scheduler's state as JSON, for operators and tests (the
/// Prometheus view is `/metrics`).
enum StatusPage {
    /// The JSON members every backend listing shares (this page and the admin API's).
    static func stateFields(_ backend: BackendTable.Backend) -> [String] {
        [
            "\"name\":\(JSONString.quoted(backend.name))", "\"status\":\"\(backend.status)\"",
            "\"healthy\":\(backend.healthy)", "\"consecutive_failures\":\(backend.failureStreak)",
            "\"in_flight\":\(backend.inFlight)", "\"max_concurrent\":\(backend.maxConcurrent)",
            "\"reserved_tokens\":\(backend.load.reservedTokens)",
        ]
    }

    static func json(
        _ scheduler: Scheduler, exactChecks: ProxyState.ExactChecks, admissionRefusals: [String: Int]
    ) -> String {
        let backends = scheduler.table.backends.filter(\.isListed).map { backend in
            let load = backend.load
            var fields = stateFields(backend) + ["\"pending_prompt_tokens\":\(load.pendingPrompt)"]
            if let tpot = load.tpot { fields.append("\"tpot_seconds\":\(tpot)") }
            if let scrape = load.scrape {
                fields.append(
                    "\"scraped\":{\"running\":\(scrape.running),\"waiting\":\(scrape.waiting),"
                        + "\"kv_cache_usage\":\(scrape.kvCacheUsage)}")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let counters = scheduler.counters
        let refused = counters.refused.merging(admissionRefusals, uniquingKeysWith: +).sorted { $0.key < $1.key }
            .map { "\(JSONString.quoted($0.key)):\($0.value)" }.joined(separator: ",")
        let drain = scheduler.drain.tokensPerSecond.map { "\($0)" } ?? "null"
        return "{\"backends\":[\(backends.joined(separator: ","))],"
            + "\"queue\":{\"requests\":\(scheduler.queue.count),\"tokens\":\(scheduler.queue.tokens),"
            + "\"drain_tokens_per_second\":\(drain)},"
            + "\"counters\":{\"dispatched\":\(counters.dispatched),\"queued\":\(counters.queued),"
            + "\"bound_from_queue\":\(counters.boundFromQueue),"
            + "\"cancelled_while_queued\":\(counters.cancelledWhileQueued),\"expired\":\(counters.expired),"
            + "\"refused_while_queued\":\(counters.refusedWhileQueued),"
            + "\"retried\":\(counters.retried),\"ejections\":\(counters.ejections),"
            + "\"refused\":{\(refused)},\"exact_checks\":\(exactChecks.succeeded),"
            + "\"exact_check_failures\":\(exactChecks.failed)}}"
    }
}
