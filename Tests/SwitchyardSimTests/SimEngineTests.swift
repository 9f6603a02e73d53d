import SwitchyardCore
import SwitchyardSim
import Testing

/// The engine model, event by event: admission, chunked prefill, decode, preemption, priority,
/// abort. Costs are simple numbers so step durations can be checked by hand.
@Suite struct SimEngineTests {
    /// 1 ms a step, +1 ms per decoding sequence, +0.01 ms per prefill token, +0.1 ms per image token.
    static func profile(
        maxNumSeqs: Int = 8, batchedTokens: Int = 100, kvTokens: Int = 10_000, blockSize: Int = 16
    ) -> EngineProfile {
        EngineProfile(
            name: "test", maxNumSeqs: maxNumSeqs, maxNumBatchedTokens: batchedTokens, kvCacheTokens: kvTokens,
            blockSize: blockSize, stepBaseMs: 1, expertLoadMs: 0, activeExpertFraction: 0.0625,
            decodePerSequenceMs: 1, prefillPerTokenMs: 0.01, encoderPerImageTokenMs: 0.1, preprocessBaseMs: 0,
            preprocessPerMegapixelMs: 0, fullLengthProbability: 1)
    }

    /// Runs steps until idle; returns every step.
    static func drain(_ engine: inout SimEngine, limit: Int = 10_000) -> [SimEngine.Step] {
        var steps: [SimEngine.Step] = []
        while let step = engine.step(), steps.count < limit { steps.append(step) }
        return steps
    }

    @Test func aRequestPrefillsThenDecodesOneTokenPerStep() {
        var engine = SimEngine(profile: Self.profile())
        engine.add(EngineRequest(id: 1, promptTokens: 50, imageTokens: 20, outputTokens: 4))
        let steps = Self.drain(&engine)
        #expect(steps.count == 4)  // prefill (samples token 0), then 3 decodes
        #expect(steps[0].prefillTokens == 50 && steps[0].encoderTokens == 20 && steps[0].decodeSequences == 0)
        #expect(steps[0].durationMs == 1 + 0.5 + 2)
        #expect(steps.dropFirst().allSatisfy { $0.decodeSequences == 1 && $0.prefillTokens == 0 && $0.durationMs == 2 })
        #expect(steps.flatMap(\.tokens).map(\.index) == [0, 1, 2, 3])
        #expect(steps.last?.tokens.last?.finished == true)
        #expect(!engine.hasWork && engine.kvCacheUsage == 0)
    }

    @Test func longPromptsArePrefilledInChunksSharingTheBudgetWithDecodes() {
        var engine = SimEngine(profile: Self.profile(batchedTokens: 100))
        engine.add(EngineRequest(id: 1, promptTokens: 10, outputTokens: 50))
        _ = engine.step()  // request 1 prefilled, decoding from now on
        engine.add(EngineRequest(id: 2, promptTokens: 250, outputTokens: 2))
        let first = engine.step()!
        // One decode for request 1, and 99 prompt tokens of request 2 in the remaining budget.
        #expect(first.decodeSequences == 1 && first.prefillTokens == 99)
        #expect(first.tokens.map(\.id) == [1])
        let second = engine.step()!
        #expect(second.decodeSequences == 1 && second.prefillTokens == 99)
        let third = engine.step()!
        // The last 52 tokens complete request 2's prompt: it samples its first token in this step.
        #expect(third.prefillTokens == 52)
        #expect(Set(third.tokens.map(\.id)) == [1, 2])
        #expect(third.tokens.first { $0.id == 2 }?.index == 0)
    }

    @Test func imagesAreEncodedOnceWithTheFirstChunk() {
        var engine = SimEngine(profile: Self.profile(batchedTokens: 100))
        engine.add(EngineRequest(id: 1, promptTokens: 250, imageTokens: 200, outputTokens: 1))
        let steps = Self.drain(&engine)
        #expect(steps.map(\.encoderTokens) == [200, 0, 0])
        #expect(steps.map(\.prefillTokens) == [100, 100, 50])
    }

    @Test func admissionStopsAtMaxNumSeqs() {
        var engine = SimEngine(profile: Self.profile(maxNumSeqs: 2, batchedTokens: 1000))
        for id in 1...3 { engine.add(EngineRequest(id: id, promptTokens: 10, outputTokens: 5)) }
        _ = engine.step()
        #expect(engine.numRunning == 2 && engine.numWaiting == 1)
        let steps = Self.drain(&engine)
        #expect(steps.flatMap(\.tokens).filter(\.finished).map(\.id).sorted() == [1, 2, 3])
    }

    @Test func admissionStopsWhenKVBlocksRunOut() {
        // 4 blocks of 16 tokens: a 40-token prompt takes 3, so a second one cannot be admitted.
        var engine = SimEngine(profile: Self.profile(batchedTokens: 1000, kvTokens: 64))
        engine.add(EngineRequest(id: 1, promptTokens: 40, outputTokens: 3))
        engine.add(EngineRequest(id: 2, promptTokens: 40, outputTokens: 3))
        let first = engine.step()!
        #expect(first.tokens.map(\.id) == [1])
        #expect(engine.numWaiting == 1)
        #expect(engine.kvCacheUsage == 0.75)
    }

    @Test func runningOutOfKVPreemptsTheNewestAndRecomputesIt() {
        // 6 blocks (96 tokens). Two 40-token prompts fit (3 blocks each); the first decode that
        // crosses 48 tokens needs a seventh block, so the newest request is preempted.
        var engine = SimEngine(profile: Self.profile(batchedTokens: 1000, kvTokens: 96))
        engine.add(EngineRequest(id: 1, promptTokens: 40, outputTokens: 20))
        engine.add(EngineRequest(id: 2, promptTokens: 40, outputTokens: 20))
        var steps: [SimEngine.Step] = []
        while let step = engine.step() { steps.append(step) }
        let preempted = steps.flatMap(\.preempted)
        #expect(preempted.first == 2)
        #expect(engine.preemptions >= 1)
        // Both still finish, each with exactly 20 tokens, indices in order, none repeated.
        for id in [1, 2] {
            let indices = steps.flatMap(\.tokens).filter { $0.id == id }.map(\.index)
            #expect(indices == Array(0..<20))
        }
        // The recompute prefills prompt and generated tokens again.
        #expect(steps.contains { $0.prefillTokens > 40 })
        #expect(engine.kvCacheUsage == 0)
    }

    @Test func priorityPolicyAdmitsLowerPriorityNumbersFirst() {
        var engine = SimEngine(profile: Self.profile(maxNumSeqs: 1, batchedTokens: 1000), policy: .priority)
        engine.add(EngineRequest(id: 1, promptTokens: 10, outputTokens: 1, priority: 5))
        engine.add(EngineRequest(id: 2, promptTokens: 10, outputTokens: 1, priority: -1))
        engine.add(EngineRequest(id: 3, promptTokens: 10, outputTokens: 1, priority: 0))
        engine.add(EngineRequest(id: 4, promptTokens: 10, outputTokens: 1, priority: -1))
        let order = Self.drain(&engine).flatMap(\.tokens).map(\.id)
        #expect(order == [2, 4, 3, 1])

        var fcfs = SimEngine(profile: Self.profile(maxNumSeqs: 1, batchedTokens: 1000))
        for (id, priority) in [(1, 5), (2, -1), (3, 0)] {
            fcfs.add(EngineRequest(id: id, promptTokens: 10, outputTokens: 1, priority: priority))
        }
        #expect(Self.drain(&fcfs).flatMap(\.tokens).map(\.id) == [1, 2, 3])
    }

    @Test func abortFreesKVAndRemovesTheRequest() {
        var engine = SimEngine(profile: Self.profile(batchedTokens: 1000))
        engine.add(EngineRequest(id: 1, promptTokens: 100, outputTokens: 50))
        engine.add(EngineRequest(id: 2, promptTokens: 100, outputTokens: 50))
        _ = engine.step()
        let before = engine.kvCacheUsage
        let aborted = engine.abort(id: 1)
        #expect(aborted)
        #expect(engine.kvCacheUsage < before)
        let abortedTwice = engine.abort(id: 1)
        #expect(!abortedTwice)
        let tokens = Self.drain(&engine).flatMap(\.tokens)
        #expect(tokens.allSatisfy { $0.id == 2 })
        #expect(engine.kvCacheUsage == 0)
    }

    @Test func tokenCountsDoNotDependOnTheCostModel() {
        // Time-scale invariance at the engine level: scaling every cost scales durations only.
        var slow = Self.profile(batchedTokens: 64)
        slow.stepBaseMs *= 10
        slow.decodePerSequenceMs *= 10
        slow.prefillPerTokenMs *= 10
        var a = SimEngine(profile: Self.profile(batchedTokens: 64))
        var b = SimEngine(profile: slow)
        for id in 1...5 {
            a.add(EngineRequest(id: id, promptTokens: 30 * id, imageTokens: 10, outputTokens: 7 + id))
            b.add(EngineRequest(id: id, promptTokens: 30 * id, imageTokens: 10, outputTokens: 7 + id))
        }
        let stepsA = Self.drain(&a)
        let stepsB = Self.drain(&b)
        #expect(stepsA.map(\.tokens) == stepsB.map(\.tokens))
        let totalA = stepsA.map(\.durationMs).reduce(0, +)
        let totalB = stepsB.map(\.durationMs).reduce(0, +)
        #expect(totalB > 5 * totalA)
    }

    @Test func expertTermGrowsThenSaturates() {
        let glm = EngineProfile.glm45vFP8TP4H100
        let one = glm.stepMilliseconds(decoding: 1, prefillTokens: 0, encoderTokens: 0)
        let sixtyFour = glm.stepMilliseconds(decoding: 64, prefillTokens: 0, encoderTokens: 0)
        let twoFiftySix = glm.stepMilliseconds(decoding: 256, prefillTokens: 0, encoderTokens: 0)
        #expect(sixtyFour - one > 10 * (twoFiftySix - sixtyFour) / 3)  // steep first, then flat
        #expect(abs(one - 8.51) < 0.85)  // the seed's single-stream TPOT
    }
}
