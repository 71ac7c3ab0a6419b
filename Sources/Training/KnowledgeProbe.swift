import Datasets
import Formats
import Foundation
import Models
import TinyWorld

/// Asks a base model to complete fact prompts ("The capital of Varn is") greedily and counts
/// the completions that name the right entity.
public enum KnowledgeProbe {
    /// The probe's figures, as written to the run directory.
    public struct Result: Codable, Equatable, Sendable {
        public var probes: Int
        /// Fraction of completions that start with the right answer.
        public var accuracy: Double
        /// The same over facts of pretraining-only entities.
        public var accuracyPretrainOnly: Double
        /// Expected accuracy of guessing uniformly among each relation's answers.
        public var chance: Double
        /// A few prompts with what the model said.
        public var samples: [Sample]

        enum CodingKeys: String, CodingKey {
            case probes, accuracy, chance, samples
            case accuracyPretrainOnly = "accuracy_pretrain_only"
        }
    }

    /// One prompt, its expected answer and the model's completion.
    public struct Sample: Codable, Equatable, Sendable {
        public var prompt: String
        public var answer: String
        public var completion: String
    }

    /// Runs every probe of `probesFile` (JSONL written by `gputrain data tiny-world`).
    public static func run(_ model: LanguageModel, tokenizer: Tokenizer, probesFile: URL, maxTokens: Int = 8) throws
        -> Result
    {
        let probes = try TextLines.read(probesFile).filter { !$0.isBlank }.map { line -> TinyWorldWriter.Probe in
            do {
                return try JSONDecoder().decode(TinyWorldWriter.Probe.self, from: Data(line.text.utf8))
            } catch {
                throw DatasetError.line(probesFile.path, line.number, "not a probe object (\(error))")
            }
        }
        var answersByRelation: [Relation: Set<String>] = [:]
        for probe in probes { answersByRelation[probe.relation, default: []].insert(probe.answer) }
        let completions = try complete(probes.map(\.prompt), model: model, tokenizer: tokenizer, maxTokens: maxTokens)
        var correct = 0
        var correctPretrainOnly = 0
        var pretrainOnly = 0
        var chance = 0.0
        var samples: [Sample] = []
        for (probe, completion) in zip(probes, completions) {
            let right = names(completion, probe.answer)
            correct += right ? 1 : 0
            if probe.pretrainOnly {
                pretrainOnly += 1
                correctPretrainOnly += right ? 1 : 0
            }
            chance += 1 / Double(answersByRelation[probe.relation]!.count)
            if samples.count < 6 {
                samples.append(Sample(prompt: probe.prompt, answer: probe.answer, completion: completion))
            }
        }
        let count = max(probes.count, 1)
        return Result(
            probes: probes.count, accuracy: Double(correct) / Double(count),
            accuracyPretrainOnly: Double(correctPretrainOnly) / Double(max(pretrainOnly, 1)),
            chance: chance / Double(count), samples: samples)
    }

    /// The greedy completions of `prompts`, a batch of them per generator run.
    private static func complete(_ prompts: [String], model: LanguageModel, tokenizer: Tokenizer, maxTokens: Int) throws
        -> [String]
    {
        let generator = Generator(model: model)
        let options = GenerationOptions(maxNewTokens: maxTokens)
        let encoded = prompts.map { tokenizer.encode($0, addSpecialTokens: false).map(Int32.init) }
        return try stride(from: 0, to: encoded.count, by: batchSize).flatMap { start in
            try generator.generate(Array(encoded[start..<min(start + batchSize, encoded.count)]), options: options)
                .map { tokenizer.decode($0.tokens.map(Int.init)) }
        }
    }

    /// Prompts generated together: enough rows to keep a device busy, few enough that padding
    /// to the longest prompt wastes little.
    private static let batchSize = 16

    /// True when `completion` begins (after spaces) with `answer` as a whole word.
    static func names(_ completion: String, _ answer: String) -> Bool {
        let trimmed = completion.drop { $0 == " " }
        guard trimmed.hasPrefix(answer) else { return false }
        let rest = trimmed.dropFirst(answer.count)
        return rest.first.map { !$0.isLetter } ?? true
    }
}
