import Formats
import Foundation

/// `gputrain data prepare`: tokenizes documents into training and validation shards.
public enum DatasetPreparation {
    /// Tokenizes every document of `inputs` with `tokenizer` (no special tokens added),
    /// appends `endOfText` after each, sends every `validationEvery`-th document to the
    /// validation split, and writes shards, `meta.json` and a copy of the tokenizer to `folder`.
    public static func prepare(
        inputs: [URL], tokenizer: Tokenizer, tokenizerFile: URL, endOfText: String = "<|endoftext|>",
        validationEvery: Int = 20, folder: URL
    ) throws -> PreparedDataset.Meta {
        guard let endOfTextID = tokenizer.id(of: endOfText) else {
            throw DatasetError.file(
                tokenizerFile.path,
                "has no token '\(endOfText)' to separate documents; pass --end-of-text with one it has")
        }
        var train: [Int32] = []
        var validation: [Int32] = []
        var index = 0
        for input in inputs {
            for document in try TextDocuments.read(input) {
                let ids = tokenizer.encode(document, addSpecialTokens: false).map(Int32.init) + [Int32(endOfTextID)]
                if validationEvery > 0, index % validationEvery == validationEvery - 1 {
                    validation += ids
                } else {
                    train += ids
                }
                index += 1
            }
        }
        guard !train.isEmpty, !validation.isEmpty else {
            throw DatasetError.file(
                inputs.first?.path ?? "input",
                "needs at least \(max(validationEvery, 2)) documents to make both splits (got \(index))")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try TokenShard.write(train, to: folder.appendingPathComponent("train-00000.bin"))
        try TokenShard.write(validation, to: folder.appendingPathComponent("validation-00000.bin"))
        try AtomicFile.write(tokenizer.jsonData(), to: folder.appendingPathComponent("tokenizer.json"))
        let meta = PreparedDataset.Meta(
            vocabSize: tokenizer.vocabularySize, endOfTextID: endOfTextID, trainTokens: train.count,
            validationTokens: validation.count, trainShards: ["train-00000.bin"],
            validationShards: ["validation-00000.bin"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(encoder.encode(meta), to: folder.appendingPathComponent("meta.json"))
        return meta
    }
}
