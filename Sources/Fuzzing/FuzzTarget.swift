import Datasets
import Formats
import Foundation
import HumanFeedback
import Training

/// One reader under fuzzing: its name, the folder of its seed corpus, and how one input is
/// read. An input either reads or is refused with an error; a trap, a hang or a huge
/// allocation is a finding.
struct FuzzTarget {
    let name: String
    /// The file name the input is written to before reading (readers that take a path).
    let fileName: String
    let read: (_ input: URL) throws -> Void

    /// Every reader that takes files from users.
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "safetensors", fileName: "model.safetensors") { url in
            let file = try SafetensorsFile(contentsOf: url)
            for tensor in file.tensors { _ = try file.floats(tensor.name) }
        },
        FuzzTarget(name: "config-json", fileName: "config.json") { url in _ = try ModelConfig(contentsOf: url) },
        FuzzTarget(name: "tokenizer-json", fileName: "tokenizer.json") { url in
            let tokenizer = try Tokenizer(contentsOf: url)
            _ = tokenizer.encode("Hello world! 12345 café <|im_start|>user\nhi<|im_end|>")
        },
        FuzzTarget(name: "tokenizer-config-json", fileName: "tokenizer_config.json") { url in
            _ = try TokenizerConfigFile.load(fromFolder: url.deletingLastPathComponent())
            _ = try ChatTemplate.load(fromFolder: url.deletingLastPathComponent())
        },
        FuzzTarget(name: "token-shard", fileName: "train-00000.bin") { url in
            let shard = try TokenShard(contentsOf: url)
            if shard.count > 0 { _ = shard[shard.count - 1] }
        },
        FuzzTarget(name: "jsonl-datasets", fileName: "data.jsonl") { url in
            _ = try? SFTDataset.read(url)
            _ = try? PreferenceDataset.read(url)
            _ = try? UnpairedPreferenceDataset.read(url)
            _ = try? GenerationPromptDataset.read(url)
            _ = try? RankingPromptDataset.read(url)
            _ = try? SessionFile(url: url).read()
            _ = try RLPromptDataset.read(url)
        },
        FuzzTarget(name: "yaml-recipe", fileName: "recipe.yaml") { url in
            _ = try? ConfigLoader.load(PretrainConfig.self, from: url)
            _ = try ConfigLoader.load(DPOConfig.self, from: url)
        },
    ]
}
