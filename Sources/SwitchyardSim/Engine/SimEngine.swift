/// One request as the engine sees it.
public struct EngineRequest: Sendable, Equatable {
    public var id: Int
    /// Prompt tokens including image tokens.
    public var promptTokens: Int
    /// Image tokens inside `promptTokens`, encoded by the vision tower with the first chunk.
    public var imageTokens: Int
    /// Output tokens to generate (the natural length is resolved before submission).
    public var outputTokens: Int
    /// Lower runs first under the priority policy (vLLM's convention).
    public var priority: Int

    public init(id: Int, promptTokens: Int, imageTokens: Int = 0, outputTokens: Int, priority: Int = 0) {
        self.id = id
        self.promptTokens = promptTokens
        self.imageTokens = imageTokens
        self.outputTokens = outputTokens
        self.priority = priority
    }
}

/// A model of vLLM V1's scheduler loop, as a state machine: requests wait in a queue (FCFS or by
/// priority); each step first continues running requests (one decode token each, or the next
/// prefill chunk), then admits waiting ones while `max_num_seqs`, the token budget
/// (`max_num_batched_tokens`, shared by decodes and prefill chunks) and the block-granular KV
/// cache allow; when a running request needs a KV block that is not free, the newest (or, under
/// the priority policy, the lowest-priority) running request is preempted and will be
/// recomputed. The step's duration comes from the profile's cost model. No clocks: the caller
/// runs a step, waits its duration, then delivers its tokens.
public struct SimEngine: Sendable {
    public enum Policy: String, Sendable { case fcfs, priority }

    /// One token produced by a step: `index` 0 is the first output token.
    public struct TokenEvent: Sendable, Equatable {
        public var id: Int
        public var index: Int
        public var finished: Bool
    }

    public struct Step: Sendable, Equatable {
        public var durationMs: Double
        public var tokens: [TokenEvent]
        public var preempted: [Int]
        /// Requests moved from the waiting queue into the batch by this step.
        public var admitted: [Int]
        public var decodeSequences: Int
        public var prefillTokens: Int
        public var encoderTokens: Int
    }

    struct Sequence: Sendable {
        var request: EngineRequest
        var order: Int
        /// Tokens whose KV is computed (prompt first, then generated tokens).
        var computed = 0
        var generated = 0
        var blocks = 0
        var encoded = false
        /// Known tokens without KV yet: a step feeds them, and the step that clears them samples
        /// the next token.
        var pending: Int { request.promptTokens + generated - computed }
        /// One token behind after sampling: an ordinary decode step. Anything else is prefill,
        /// including the recompute of prompt and output after a preemption.
        var isDecoding: Bool { generated > 0 && pending == 1 }
    }

    public let profile: EngineProfile
    public let policy: Policy
    private(set) var waiting: [Sequence] = []
    private(set) var running: [Sequence] = []
    private var usedBlocks = 0
    private var arrivals = 0
    public private(set) var preemptions = 0

    public init(profile: EngineProfile, policy: Policy = .fcfs) {
        self.profile = profile
        self.policy = policy
    }

    public var numWaiting: Int { waiting.count }
    public var numRunning: Int { running.count }
    public var hasWork: Bool { !waiting.isEmpty || !running.isEmpty }
    public var totalBlocks: Int { profile.kvCacheTokens / profile.blockSize }
    public var kvCacheUsage: Double { Double(usedBlocks) / Double(max(totalBlocks, 1)) }

    /// Queues a request. Requests larger than the whole KV cache can never run: the caller
    /// refuses them first (vLLM checks against max_model_len).
    public mutating func add(_ request: EngineRequest) {
        arrivals += 1
        insertWaiting(Sequence(request: request, order: arrivals))
    }

    /// Removes a request wherever it is and frees its KV blocks (a client disconnect).
    @discardableResult
    public mutating func abort(id: Int) -> Bool {
        if let index = waiting.firstIndex(where: { $0.request.id == id }) {
            waiting.remove(at: index)
            return true
        }
        if let index = running.firstIndex(where: { $0.request.id == id }) {
            usedBlocks -= running[index].blocks
            running.remove(at: index)
            return true
        }
        return false
    }

    /// Plans and applies one engine step; nil when there is nothing to do.
    public mutating func step() -> Step? {
        guard hasWork else { return nil }
        var budget = profile.maxNumBatchedTokens
        var scheduled: [(id: Int, tokens: Int)] = []
        var preempted: [Int] = []
        var admitted: [Int] = []

        // 1. Running requests, oldest first: a decode token, or the next prefill chunk.
        var index = 0
        while index < running.count {
            let sequence = running[index]
            let need = sequence.isDecoding ? 1 : min(sequence.pending, budget)
            if need == 0 || budget < need {
                index += 1
                continue
            }
            let blocksNeeded = blocks(for: sequence.computed + need) - sequence.blocks
            var selfPreempted = false
            while blocksNeeded > freeBlocks {
                let victim = preemptionVictim()
                if running[victim].request.id == sequence.request.id { selfPreempted = true }
                preempted.append(running[victim].request.id)
                preempt(at: victim)
                if selfPreempted { break }
                if victim < index { index -= 1 }
            }
            if selfPreempted { continue }
            running[index].blocks += blocksNeeded
            usedBlocks += blocksNeeded
            scheduled.append((sequence.request.id, need))
            budget -= need
            index += 1
        }

        // 2. Waiting requests, while nothing was preempted and room remains.
        while preempted.isEmpty, budget > 0, running.count < profile.maxNumSeqs, var sequence = waiting.first {
            let need = min(sequence.pending, budget)
            let blocksNeeded = blocks(for: sequence.computed + need) - sequence.blocks
            guard blocksNeeded <= freeBlocks else { break }
            waiting.removeFirst()
            sequence.blocks += blocksNeeded
            usedBlocks += blocksNeeded
            running.append(sequence)
            admitted.append(sequence.request.id)
            scheduled.append((sequence.request.id, need))
            budget -= need
        }

        // Nothing fits (only a request larger than the whole KV cache can cause this): idle
        // rather than spin; the caller refuses such requests before they get here.
        if scheduled.isEmpty { return nil }

        // 3. Execute: cost, then the tokens the step produces.
        var decodeSequences = 0
        var prefillTokens = 0
        var encoderTokens = 0
        var tokens: [TokenEvent] = []
        for (id, need) in scheduled {
            guard let position = running.firstIndex(where: { $0.request.id == id }) else { continue }
            var sequence = running[position]
            if sequence.isDecoding {
                decodeSequences += 1
            } else {
                prefillTokens += need
                if !sequence.encoded {
                    encoderTokens += sequence.request.imageTokens
                    sequence.encoded = true
                }
            }
            sequence.computed += need
            if sequence.pending > 0 {
                running[position] = sequence
                continue  // more chunks to come before a token is sampled
            }
            sequence.generated += 1
            let finished = sequence.generated >= sequence.request.outputTokens
            tokens.append(TokenEvent(id: id, index: sequence.generated - 1, finished: finished))
            running[position] = sequence
        }
        for token in tokens where token.finished {
            if let position = running.firstIndex(where: { $0.request.id == token.id }) {
                usedBlocks -= running[position].blocks
                running.remove(at: position)
            }
        }
        let duration = profile.stepMilliseconds(
            decoding: decodeSequences, prefillTokens: prefillTokens, encoderTokens: encoderTokens)
        return Step(
            durationMs: duration, tokens: tokens, preempted: preempted, admitted: admitted,
            decodeSequences: decodeSequences,
            prefillTokens: prefillTokens, encoderTokens: encoderTokens)
    }

    // MARK: - Internals

    private var freeBlocks: Int { totalBlocks - usedBlocks }

    private func blocks(for tokens: Int) -> Int { (tokens + profile.blockSize - 1) / profile.blockSize }

    /// FCFS: the most recently admitted request. Priority: the lowest priority, newest first.
    private func preemptionVictim() -> Int {
        switch policy {
        case .fcfs:
            return running.count - 1
        case .priority:
            var victim = running.count - 1
            for (i, sequence) in running.enumerated().reversed()
            where (sequence.request.priority, sequence.order) > (
                running[victim].request.priority, running[victim].order
            ) {
                victim = i
            }
            return victim
        }
    }

    /// Recompute preemption: the KV is dropped and the request waits again at the front of its
    /// priority band; its generated tokens are kept and recomputed with the prompt.
    private mutating func preempt(at index: Int) {
        var sequence = running.remove(at: index)
        usedBlocks -= sequence.blocks
        sequence.blocks = 0
        sequence.computed = 0
        sequence.encoded = false
        preemptions += 1
        insertWaiting(sequence, front: true)
    }

    private mutating func insertWaiting(_ sequence: Sequence, front: Bool = false) {
        switch policy {
        case .fcfs:
            if front { waiting.insert(sequence, at: 0) } else { waiting.append(sequence) }
        case .priority:
            let key = (sequence.request.priority, front ? Int.min : sequence.order)
            let position =
                waiting.firstIndex { (($0.request.priority, $0.order) > key) } ?? waiting.count
            waiting.insert(sequence, at: position)
        }
    }
}
