import Foundation

/// A folder written by `gputrain data prepare`: token shards for training and validation, the
/// tokenizer they were made with, and `meta.json` describing them.
///
/// | file | content |
/// |---|---|
/// | `meta.json` | `{"vocab_size", "end_of_text_id", "train_tokens", "validation_tokens", "train_shards", "validation_shards"}` |
/// | `train-NNNNN.bin`, `validation-NNNNN.bin` | `TokenShard`s; documents separated by the end-of-text id |
/// | `tokenizer.json` | the tokenizer, copied so that a trained model folder can include it |
public struct PreparedDataset {
    /// What `meta.json` says.
    public struct Meta: Codable, Equatable, Sendable {
        public var vocabSize: Int
        public var endOfTextID: Int
        public var trainTokens: Int
        public var validationTokens: Int
        public var trainShards: [String]
        public var validationShards: [String]

        enum CodingKeys: String, CodingKey {
            case vocabSize = "vocab_size"
            case endOfTextID = "end_of_text_id"
            case trainTokens = "train_tokens"
            case validationTokens = "validation_tokens"
            case trainShards = "train_shards"
            case validationShards = "validation_shards"
        }

        public init(
            vocabSize: Int, endOfTextID: Int, trainTokens: Int, validationTokens: Int,
            trainShards: [String], validationShards: [String]
        ) {
            self.vocabSize = vocabSize
            self.endOfTextID = endOfTextID
            self.trainTokens = trainTokens
            self.validationTokens = validationTokens
            self.trainShards = trainShards
            self.validationShards = validationShards
        }
    }

    public let folder: URL
    public let meta: Meta
    public let train: TokenStream
    public let validation: TokenStream

    /// Opens and checks the folder; a missing or damaged file is an error naming it and the fix.
    public init(folder: URL) throws {
        self.folder = folder
        let metaURL = folder.appendingPathComponent("meta.json")
        guard FileManager.default.fileExists(atPath: metaURL.path) else {
            throw DatasetError.file(
                metaURL.path,
                "missing: prepare the data first (`gputrain data prepare --tokenizer T --input FILES --out \(folder.path)`)"
            )
        }
        do {
            meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: metaURL))
        } catch {
            throw DatasetError.file(
                metaURL.path, "is not a valid dataset description (\(error)); run `gputrain data prepare` again")
        }
        train = try TokenStream(
            shards: meta.trainShards.map { try TokenShard(contentsOf: folder.appendingPathComponent($0)) })
        validation = try TokenStream(
            shards: meta.validationShards.map { try TokenShard(contentsOf: folder.appendingPathComponent($0)) })
        for (stream, expected, name) in [
            (train, meta.trainTokens, "train"), (validation, meta.validationTokens, "validation"),
        ]
        where stream.count != expected {
            throw DatasetError.file(
                metaURL.path,
                "says \(expected) \(name) tokens but the shards hold \(stream.count); run `gputrain data prepare` again"
            )
        }
    }

    /// The tokenizer file saved beside the shards.
    public var tokenizerURL: URL { folder.appendingPathComponent("tokenizer.json") }
}

/// Several shards read as one stream of tokens.
public struct TokenStream {
    public let shards: [TokenShard]
    private let starts: [Int]
    public let count: Int

    public init(shards: [TokenShard]) throws {
        self.shards = shards
        var starts: [Int] = []
        var total = 0
        for shard in shards {
            starts.append(total)
            total += shard.count
        }
        self.starts = starts
        count = total
    }

    /// Token `index` of the whole stream.
    public subscript(index: Int) -> Int32 {
        var shard = shards.count - 1
        while starts[shard] > index { shard -= 1 }
        return shards[shard][index - starts[shard]]
    }
}
