import Formats
import Foundation

/// Exports a causal LM and its tokenizer to a GGUF file that llama.cpp loads and runs with the
/// same numbers as gputrain (docs/formats.md §5): Llama-family models as `llama` (Qwen2 as `qwen2`),
/// GPT-2 as `gpt2`, with the tokenizer's vocabulary, merges, special tokens and chat template.
public enum GGUFExport {
    /// The element type of the weight matrices. 1-D tensors (norms, biases), norms and learned
    /// positions are always F32, as in the reference converter.
    public enum DType: String, CaseIterable, Sendable {
        case f32
        case f16

        var tensorType: GGMLType { self == .f32 ? .f32 : .f16 }

        /// `general.file_type`: 0 = all F32, 1 = mostly F16.
        var fileType: UInt32 { self == .f32 ? 0 : 1 }
    }

    /// What an export wrote.
    public struct Report: Sendable {
        /// The llama.cpp architecture (`llama`, `qwen2`, `gpt2`).
        public var architecture: String
        public var tensorCount: Int
        /// Ways llama.cpp will behave differently from gputrain with this file (to print).
        public var warnings: [String]
    }

    /// The data alignment written into every export (`general.alignment`).
    public static let alignment: UInt32 = 32

    /// Writes `model` with `tokenizer` to `file` atomically. `folder`, when given, is where
    /// `tokenizer_config.json` / `chat_template.jinja` live (usually the model folder): they name
    /// the special tokens and hold the chat template. Tensors are read from the device and
    /// converted one at a time.
    @discardableResult
    public static func write(
        model: LanguageModel, tokenizer: Tokenizer, tokenizerConfig folder: URL?, dtype: DType, to file: URL
    ) throws
        -> Report
    {
        let fileName = file.isFileURL ? file.path : file.absoluteString
        let architecture = try model.config.family.ggufArchitecture(for: model.config, fileName: fileName)
        let tokenizerConfig = try folder.map { try TokenizerConfigFile.load(fromFolder: $0) } ?? TokenizerConfigFile()
        let vocabulary = try GGUFVocabulary(
            tokenizer: tokenizer, config: model.config, tokenizerConfig: tokenizerConfig, fileName: fileName)

        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(architecture.name)
        metadata["general.file_type"] = .uint32(dtype.fileType)
        metadata["general.alignment"] = .uint32(alignment)
        metadata.merge(architecture.hyperparameters)
        metadata.merge(vocabulary.metadata)

        let parameters = model.parameters
        let tensors = architecture.tensors.map { plan in
            GGUFTensor(name: plan.name, dimensions: plan.dimensions, type: plan.keepsFloat32 ? .f32 : dtype.tensorType)
            {
                try plan.values(from: parameters)
            }
        }
        try GGUFWriter(metadata: metadata, tensors: tensors).write(to: file)
        return Report(
            architecture: architecture.name, tensorCount: tensors.count,
            warnings: architecture.warnings + vocabulary.warnings)
    }
}
