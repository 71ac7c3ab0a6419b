import Core
import Formats
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

/// The key/value cache and the generator on the tiny fixture models: cached logits equal a
/// full recompute, greedy generation matches transformers, batches of ragged prompts give
/// each row what it gets alone, sampling is seeded, and generation stops where it should.
final class GenerationTests: XCTestCase {
    private static let fixtures = ["gpt2-tiny", "llama-tiny"]
    /// Cached and recomputed logits take different summation orders in attention.
    private static let cacheTolerance = Tolerance(absolute: 1e-5, relative: 1e-4)

    private func load(_ name: String, on device: Device) throws -> LanguageModel {
        try ModelFolder.load(HuggingFaceFixtures.folder(name), device: device, trainable: false).model
    }

    private func prompts(_ name: String) throws -> [[Int32]] {
        let cases = try HuggingFaceFixtures.cases(name)
        return [Array(cases[0].ids.prefix(5)), Array(cases[1].ids.prefix(13)), Array(cases[0].ids.prefix(1))]
    }

    // MARK: Key/value cache

    /// Logits [ids.count·vocab] of `ids` read in `chunks` through a cache (no cache: one chunk).
    private func logits(_ model: LanguageModel, _ ids: [Int32], chunks: [Int], cache: KeyValueCache?) throws -> [Float]
    {
        let device = model.parameters.device
        var start = 0
        var result: [Float] = []
        try Tensor.withNoGrad {
            for size in chunks {
                let piece = try IntTensor(device: device, shape: [size], values: Array(ids[start..<(start + size)]))
                let hidden = try model.hiddenStates(
                    TokenBatch(ids: piece, batch: 1, length: size), dropout: nil, cache: cache)
                result += try model.logits(fromHidden: hidden).values()
                start += size
            }
        }
        return result
    }

    private func checkCachedLogits(on device: Device) throws {
        for name in Self.fixtures {
            let model = try load(name, on: device)
            let ids = try HuggingFaceFixtures.cases(name)[0].ids
            let full = try logits(model, ids, chunks: [ids.count], cache: nil)
            // A prompt, a few tokens at once, then one at a time.
            let chunks = [6, 3] + Array(repeating: 1, count: ids.count - 9)
            let cache = try KeyValueCache(config: model.config, device: device, batch: 1, capacity: ids.count)
            let cached = try logits(model, ids, chunks: chunks, cache: cache)
            XCTAssertEqual(cache.length, ids.count)
            if let mismatch = Self.cacheTolerance.firstMismatch(cached, full) {
                XCTFail("\(name) on \(device.name): \(mismatch)")
            }
        }
    }

    func testCachedLogitsEqualFullRecomputeOnReference() throws {
        try checkCachedLogits(on: TestDevices.reference())
    }

    func testCachedLogitsEqualFullRecomputeOnOpenCL() throws {
        try checkCachedLogits(on: TestDevices.openCL.get())
    }

    func testCacheRejectsTokensBeyondItsCapacity() throws {
        let device = TestDevices.reference()
        let model = try load("llama-tiny", on: device)
        let cache = try KeyValueCache(config: model.config, device: device, batch: 1, capacity: 4)
        _ = try logits(model, [5, 6, 7], chunks: [3], cache: cache)
        XCTAssertThrowsError(try logits(model, [8, 9], chunks: [2], cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("2 new positions after 3 exceed the capacity 4"), "\(error)")
        }
        cache.reset()
        XCTAssertEqual(try logits(model, [5, 6, 7], chunks: [3], cache: cache).count, 3 * model.config.vocabSize)
    }

    // MARK: Greedy generation

    /// Greedy continuation recomputing the whole sequence for every token (no cache).
    private func greedyByRecompute(_ model: LanguageModel, _ prompt: [Int32], count: Int) throws -> [Int32] {
        var sequence = prompt
        for _ in 0..<count {
            let all = try logits(model, sequence, chunks: [sequence.count], cache: nil)
            let last = Array(all.suffix(model.config.vocabSize))
            sequence.append(Int32(last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!))
        }
        return Array(sequence.dropFirst(prompt.count))
    }

    func testGreedyWithCacheEqualsGreedyByRecompute() throws {
        let device = try TestDevices.openCL.get()
        for name in Self.fixtures {
            let model = try load(name, on: device)
            let prompt = try prompts(name)[1]
            let generated = try Generator(model: model).generate(prompt, options: GenerationOptions(maxNewTokens: 8))
            XCTAssertEqual(generated.tokens, try greedyByRecompute(model, prompt, count: 8), name)
            XCTAssertEqual(generated.stopReason, .maxTokens)
        }
    }

    private func checkTransformersGreedy(on device: Device) throws {
        for name in Self.fixtures {
            let model = try load(name, on: device)
            let generator = Generator(model: model)
            for reference in GenerationTransformersFixture.cases where reference.model == name {
                let options = GenerationOptions(
                    maxNewTokens: GenerationTransformersFixture.maxNewTokens,
                    stopTokens: Set(model.config.eosTokenIDs.map(Int32.init)),
                    sampling: SamplingOptions(repetitionPenalty: reference.repetitionPenalty))
                XCTAssertEqual(
                    try generator.generate(reference.prompt, options: options).tokens, reference.continuation,
                    "\(name) on \(device.name), prompt \(reference.prompt), penalty \(reference.repetitionPenalty)")
            }
        }
    }

    func testGreedyMatchesTransformersOnReference() throws {
        try checkTransformersGreedy(on: TestDevices.reference())
    }

    func testGreedyMatchesTransformersOnOpenCL() throws {
        try checkTransformersGreedy(on: TestDevices.openCL.get())
    }

    // MARK: Batches

    func testBatchedPromptsOfDifferentLengthsGenerateAsAlone() throws {
        let device = try TestDevices.openCL.get()
        for name in Self.fixtures {
            let model = try load(name, on: device)
            let generator = Generator(model: model)
            let prompts = try prompts(name)
            let options = GenerationOptions(maxNewTokens: 6, sampling: SamplingOptions(repetitionPenalty: 1.3))
            var streamed = [[Int32]](repeating: [], count: prompts.count)
            let batched = try generator.generate(prompts, options: options) { row, token in streamed[row].append(token)
            }
            for (row, prompt) in prompts.enumerated() {
                XCTAssertEqual(batched[row], try generator.generate(prompt, options: options), "\(name) row \(row)")
                XCTAssertEqual(streamed[row], batched[row].tokens, "the callback sees every token in order")
            }
        }
    }

    func testFirstRowOfASampledBatchDrawsAsAlone() throws {
        let device = TestDevices.reference()
        let model = try load("llama-tiny", on: device)
        let generator = Generator(model: model)
        let prompts = try prompts("llama-tiny")
        let options = GenerationOptions(
            maxNewTokens: 8, sampling: SamplingOptions(temperature: 1.2, topP: 0.9, seed: 11))
        XCTAssertEqual(
            try generator.generate(prompts, options: options)[0], try generator.generate(prompts[0], options: options))
    }

    func testGivenRowSeedsMakeARowsDrawsIndependentOfItsPlaceInTheBatch() throws {
        let model = try load("llama-tiny", on: TestDevices.reference())
        let generator = Generator(model: model)
        let prompts = try prompts("llama-tiny")
        let options = GenerationOptions(
            maxNewTokens: 8, sampling: SamplingOptions(temperature: 1.1, topK: 40, seed: 5))
        let seeds: [UInt64] = [101, 202, 303]
        let together = try generator.generate(prompts, options: options, seeds: seeds)
        let reordered = try generator.generate(
            [prompts[2], prompts[0]], options: options, seeds: [seeds[2], seeds[0]])
        XCTAssertEqual(reordered, [together[2], together[0]])
        XCTAssertEqual(try generator.generate([prompts[1]], options: options, seeds: [seeds[1]]), [together[1]])
        XCTAssertNotEqual(
            try generator.generate(prompts, options: options).map(\.tokens), together.map(\.tokens),
            "without seeds the rows draw from the options' seed")
        XCTAssertThrowsError(try generator.generate(prompts, options: options, seeds: [1])) { error in
            XCTAssertTrue("\(error)".contains("1 seeds for 3 prompts"), "\(error)")
        }
    }

    // MARK: Sampling

    func testSameSeedSameSamplesAndAnotherSeedOthers() throws {
        let model = try load("llama-tiny", on: TestDevices.openCL.get())
        let generator = Generator(model: model)
        let prompts = try prompts("llama-tiny")
        func sample(_ seed: UInt64) throws -> [[Int32]] {
            let sampling = SamplingOptions(temperature: 1, topK: 50, topP: 0.95, seed: seed)
            return try generator.generate(prompts, options: GenerationOptions(maxNewTokens: 10, sampling: sampling))
                .map(\.tokens)
        }
        let first = try sample(7)
        XCTAssertEqual(try sample(7), first)
        XCTAssertNotEqual(try sample(8), first)
        XCTAssertNotEqual(
            first, try generator.generate(prompts, options: GenerationOptions(maxNewTokens: 10)).map(\.tokens),
            "sampling from a near-uniform tiny model differs from greedy")
    }

    func testTopKOfOneEqualsGreedy() throws {
        let model = try load("gpt2-tiny", on: TestDevices.reference())
        let generator = Generator(model: model)
        let prompts = try prompts("gpt2-tiny")
        let greedy = try generator.generate(prompts, options: GenerationOptions(maxNewTokens: 8))
        let topOne = try generator.generate(
            prompts,
            options: GenerationOptions(
                maxNewTokens: 8, sampling: SamplingOptions(temperature: 1.5, topK: 1, seed: 3)))
        XCTAssertEqual(topOne, greedy)
    }

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        var positive = TokenSampler(options: SamplingOptions(repetitionPenalty: 2), seed: 0, context: [0])
        XCTAssertEqual(positive.next([2.0, 1.5, -1]), 1, "2.0 / 2 falls below 1.5")
        XCTAssertEqual(positive.next([2.0, 1.5, 1.4]), 2, "both seen tokens are now penalised")
        var negative = TokenSampler(options: SamplingOptions(repetitionPenalty: 3), seed: 0, context: [0])
        XCTAssertEqual(negative.next([-0.5, -1.2, -9]), 1, "-0.5 · 3 falls below -1.2")
        var off = TokenSampler(options: .greedy, seed: 0, context: [0])
        XCTAssertEqual(off.next([2.0, 1.5, -1]), 0)
    }

    /// How often each token is drawn in `draws` draws from `logits`.
    private func frequencies(_ options: SamplingOptions, _ logits: [Float], draws: Int = 4000) -> [Double] {
        var sampler = TokenSampler(options: options, seed: 42, context: [])
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[Int(sampler.next(logits[...]))] += 1 }
        return counts.map { Double($0) / Double(draws) }
    }

    func testTemperatureTopKAndTopPShapeTheDistribution() {
        let logits: [Float] = [0, Float(Foundation.log(3.0)), Float(Foundation.log(6.0)), -1]
        // Softmax: 0.1, 0.3, 0.6 and ~0.037 before renormalising.
        let plain = frequencies(SamplingOptions(temperature: 1), logits)
        let total = 1 + 3 + 6 + Foundation.exp(-1.0)
        for (index, expected) in [1 / total, 3 / total, 6 / total, Foundation.exp(-1.0) / total].enumerated() {
            XCTAssertEqual(plain[index], expected, accuracy: 0.03, "token \(index)")
        }
        let cold = frequencies(SamplingOptions(temperature: 0.25), logits)
        XCTAssertGreaterThan(cold[2], 0.9, "a low temperature sharpens towards the most likely token")
        let topTwo = frequencies(SamplingOptions(temperature: 1, topK: 2), logits)
        XCTAssertEqual(topTwo[0] + topTwo[3], 0)
        XCTAssertEqual(topTwo[2], 2.0 / 3, accuracy: 0.03)
        // Top-p 0.5: the most likely token alone holds 0.58 of the mass.
        XCTAssertEqual(frequencies(SamplingOptions(temperature: 1, topP: 0.5), logits)[2], 1)
        // Top-p 0.7: 0.58 < 0.7, so the second token joins.
        let nucleus = frequencies(SamplingOptions(temperature: 1, topP: 0.7), logits)
        XCTAssertEqual(nucleus[0] + nucleus[3], 0)
        XCTAssertEqual(nucleus[1], 1.0 / 3, accuracy: 0.03)
    }

    // MARK: Stopping

    func testStopsAtAnEndOfSequenceTokenPerRow() throws {
        let model = try load("llama-tiny", on: TestDevices.openCL.get())
        let generator = Generator(model: model)
        let prompts = try prompts("llama-tiny")
        let free = try generator.generate(prompts, options: GenerationOptions(maxNewTokens: 10))
        let stop = free[0].tokens[3]
        XCTAssertFalse(
            free[1].tokens.contains(stop) || free[0].tokens.prefix(3).contains(stop),
            "pick a stop token only row 0 meets")
        let stopped = try generator.generate(
            prompts, options: GenerationOptions(maxNewTokens: 10, stopTokens: [stop, 9999]))
        XCTAssertEqual(stopped[0], Generation(tokens: Array(free[0].tokens.prefix(4)), stopReason: .endOfSequence))
        XCTAssertEqual(stopped[1], free[1], "other rows go on")
    }

    func testStopsWhenTheContextIsFull() throws {
        let model = try load("gpt2-tiny", on: TestDevices.openCL.get())
        let generator = Generator(model: model)
        let context = model.config.maxPositions
        let long = (0..<(context - 2)).map { Int32(10 + $0 % 50) }
        let short: [Int32] = [315, 221]
        let results = try generator.generate([long, short], options: GenerationOptions(maxNewTokens: 5))
        XCTAssertEqual(results[0].tokens.count, 2)
        XCTAssertEqual(results[0].stopReason, .contextLength)
        XCTAssertEqual(results[1], try generator.generate(short, options: GenerationOptions(maxNewTokens: 5)))
        XCTAssertEqual(results[1].stopReason, .maxTokens)
        let full = try generator.generate(long + [1, 2], options: GenerationOptions(maxNewTokens: 5))
        XCTAssertEqual(full, Generation(tokens: [], stopReason: .contextLength))
        XCTAssertEqual(
            try generator.generate(short, options: GenerationOptions(maxNewTokens: 0)),
            Generation(tokens: [], stopReason: .maxTokens))
    }

    func testBadRequestsAreClearErrors() throws {
        let generator = Generator(model: try load("gpt2-tiny", on: TestDevices.reference()))
        let cases: [([[Int32]], GenerationOptions, String)] = [
            ([[]], GenerationOptions(maxNewTokens: 1), "prompt 0 is empty"),
            ([[1], [400]], GenerationOptions(maxNewTokens: 1), "prompt 1 has token 400 outside the vocabulary of 400"),
            ([[Int32](repeating: 1, count: 129)], GenerationOptions(maxNewTokens: 1), "the context holds 128"),
            ([[1]], GenerationOptions(maxNewTokens: -1), "max new tokens -1 is negative"),
            (
                [[1]], GenerationOptions(maxNewTokens: 1, sampling: SamplingOptions(temperature: 1, topP: 0)),
                "top-p 0.0 must be in (0, 1]"
            ),
            (
                [[1]], GenerationOptions(maxNewTokens: 1, sampling: SamplingOptions(temperature: 1, topK: 0)),
                "top-k 0 must be at least 1"
            ),
            (
                [[1]], GenerationOptions(maxNewTokens: 1, sampling: SamplingOptions(temperature: -1)),
                "temperature -1.0 must be 0"
            ),
        ]
        for (prompts, options, message) in cases {
            XCTAssertThrowsError(try generator.generate(prompts, options: options)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) should say \(message)")
            }
        }
    }

    // MARK: Streaming text

    func testStreamingDecoderNeverSplitsACharacter() throws {
        let tokenizer = try Tokenizer.load(fromPath: HuggingFaceFixtures.folder("gpt2-tiny").path)
        let prompt = tokenizer.encode("Prices: ").map(Int32.init)
        let text = "naïve café — 日本語 ok"
        let ids = tokenizer.encode(text, addSpecialTokens: false).map(Int32.init)
        XCTAssertTrue(
            ids.contains { tokenizer.decode([Int($0)]).contains("\u{FFFD}") }, "some tokens hold part of a character")
        var decoder = StreamingDecoder(tokenizer: tokenizer, context: prompt)
        let pieces = ids.map { decoder.append($0) } + [decoder.finish()]
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, "\(pieces)")
        XCTAssertTrue(pieces.dropLast().contains(""), "an unfinished character is held back")
    }

    func testStreamingDecoderFlushesAnUnfinishedCharacterAtTheEnd() throws {
        let tokenizer = try Tokenizer.load(fromPath: HuggingFaceFixtures.folder("gpt2-tiny").path)
        let ids = tokenizer.encode("日", addSpecialTokens: false).map(Int32.init)
        XCTAssertGreaterThan(ids.count, 1)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(decoder.append(ids[0]), "")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
    }
}
