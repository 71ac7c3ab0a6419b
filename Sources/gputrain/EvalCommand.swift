import ArgumentParser
import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Runtime
import Training

/// `gputrain eval`: mean next-token cross-entropy of a model over a text or JSONL file.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Mean next-token cross-entropy of a model over text (token-weighted).")

    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "A text file (one document) or JSONL of {\"text\": ...} (one document per line).")
    var data: String

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "End with one JSON line: {\"loss\", \"tokens\", \"perplexity\"}.")
    var json = false

    func run() throws {
        let chosen = try deviceOptions.open()
        let folder = URL(fileURLWithPath: model)
        let tokenizer = try Tokenizer.load(fromPath: ModelFolder.tokenizerFolder(of: folder).path)
        let documents = try TextDocuments.read(URL(fileURLWithPath: data)).map { tokenizer.encode($0).map(Int32.init) }
        // Checked before loading, so a model too large for the device is refused without trying.
        let config = try ModelFolder.config(of: folder)
        let longest = min(documents.map(\.count).max() ?? 1, config.contextLength)
        let estimate = MemoryEstimate(languageModel: config, batchSize: 1, sequenceLength: longest, training: false)
        FileHandle.standardError.write(Data((estimate.summary + "\n").utf8))
        try estimate.requireFits(on: chosen)
        let loaded = try ModelFolder.load(folder, device: chosen, trainable: false)
        let result = try Evaluation.evaluate(loaded.model, documents: documents)
        if json {
            let line: JSONObject = [
                "loss": .double(result.loss), "tokens": .int(result.tokens), "perplexity": .double(result.perplexity),
            ]
            print(JSONValue.object(line).serialized(JSONLayout(sortKeys: true)))
        } else {
            print(
                String(
                    format: "loss %.6f over %d tokens (perplexity %.3f) on %@", result.loss, result.tokens,
                    result.perplexity, chosen.name))
        }
    }
}
