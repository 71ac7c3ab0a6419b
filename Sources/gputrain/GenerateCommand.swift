import ArgumentParser
import Core
import Formats
import Foundation
import Inference
import Models
import Runtime
import Training

/// `gputrain generate`: continues a prompt, printing the text as each token arrives, or with
/// `--data` answers every prompt of a JSONL file into another (`DataGeneration`).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a model, streaming the text, or answer a file of prompts.",
        discussion: "With --prompt: prints the prompt, then the new text as it is generated, stopping at an "
            + "end-of-sequence token of config.json, after --max-tokens or when the context is full; a summary goes "
            + "to standard error. With --data and --out: answers each prompt of a JSONL file ({\"prompt\": text or "
            + "messages}) --n times, in batches, appending one JSON line per answer to --out (TRL's prompt-completion "
            + "form, docs/formats.md §4.7); running the same command again resumes an interrupted run. Progress goes to "
            + "standard error.")

    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(
        help:
            "The text to continue (the tokenizer adds its special tokens, e.g. BOS), or with --chat the user's message."
    )
    var prompt: String?

    @Option(
        help: "A JSONL file of prompts, {\"prompt\": \"...\"} or {\"prompt\": [{\"role\", \"content\"}, ...]} a line.")
    var data: String?

    @Option(help: "With --data: the JSONL file the answers are appended to (resumed when it exists).")
    var out: String?

    @Option(help: "With --data: answers per prompt (default 1).")
    var n: Int?

    @Option(help: "With --data: answers generated at once (default 8).")
    var batchSize: Int?

    @Flag(help: "With --data: start --out again, replacing the answers an earlier run wrote there.")
    var overwrite = false

    @Flag(
        help: """
            Treat --prompt (or each string prompt of --data) as a user message in the model's chat template and \
            generate the assistant's answer.
            """)
    var chat = false

    @Option(help: "A system prompt for the chat form (implies --chat).")
    var system: String?

    @OptionGroup var sampling: SamplingArguments

    @OptionGroup var deviceOptions: DeviceOptions

    private var options: GenerationOptions { sampling.options(defaultMaxTokens: 64, defaultTemperature: 1) }

    func validate() throws {
        guard (prompt == nil) != (data == nil) else { throw ValidationError("give either --prompt or --data") }
        if data != nil {
            guard out != nil else { throw ValidationError("--data needs --out, the file the answers go to") }
            guard (n ?? 1) >= 1 else { throw ValidationError("--n must be at least 1") }
            guard (batchSize ?? 1) >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        } else if out != nil || n != nil || batchSize != nil || overwrite {
            throw ValidationError("--out, --n, --batch-size and --overwrite go with --data")
        }
    }

    func run() throws {
        if let data, let out { return try runData(data: data, out: out) }
        let prompt = prompt ?? ""
        let chosen = try deviceOptions.open()
        if chat || system != nil { return try runChat(prompt, on: chosen) }
        let tokenizer = try Tokenizer.load(fromPath: ModelFolder.tokenizerFolder(of: URL(fileURLWithPath: model)).path)
        let loaded = try ModelFolder.load(URL(fileURLWithPath: model), device: chosen, trainable: false)
        let ids = tokenizer.encode(prompt).map(Int32.init)
        guard !ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }
        var options = options
        options.stopTokens = Set(loaded.model.config.eosTokenIDs.map(Int32.init))
        var stream = StreamingDecoder(tokenizer: tokenizer, context: ids)
        let start = Date()
        write(prompt)
        let result = try Generator(model: loaded.model).generate(ids, options: options) { write(stream.append($0)) }
        write(stream.finish() + "\n")
        summarize(tokens: result.tokens.count, since: start, device: chosen, reason: result.stopReason)
    }

    /// The chat form: one user turn (after the system prompt), the answer streamed.
    private func runChat(_ prompt: String, on chosen: Device) throws {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model), field: "--model")
        var session = ChatSession(
            model: try folder.loadModel(device: chosen, trainable: false), encoder: folder.encoder,
            systemPrompt: system, options: options)
        let start = Date()
        let reply = try session.reply(to: prompt) { write($0) }
        write("\n")
        summarize(tokens: reply.tokens, since: start, device: chosen, reason: reply.stopReason)
    }

    /// The file form: every prompt of `data` answered into `out`, progress on standard error.
    private func runData(data: String, out: String) throws {
        let outURL = URL(fileURLWithPath: out)
        let generation = try DataGeneration(
            DataGeneration.Request(
                model: URL(fileURLWithPath: model), data: URL(fileURLWithPath: data), out: outURL, samples: n ?? 1,
                batchSize: batchSize ?? 8, chat: chat || system != nil, system: system, options: options,
                overwrite: overwrite, version: GPUTrainVersion.current))
        let plan = generation.plan
        guard !generation.isComplete else {
            note("\(out) already holds all \(plan.rowCount) answers; nothing to do (--overwrite starts again)")
            return
        }
        if plan.samples > 1, options.sampling.isGreedy {
            note("note: greedy decoding (--temperature 0) gives the \(plan.samples) answers to a prompt the same text")
        }
        let chosen = try deviceOptions.open()
        let summary = try generation.run(on: chosen) { event in
            switch event {
            case .started(let start):
                let batches = plan.batchCount == 1 ? "1 batch" : "\(plan.batchCount) batches"
                let what =
                    "\(plan.rowCount) answers (\(plan.prompts) prompts × \(plan.samples)) in \(batches) of "
                    + "\(plan.batchSize) on \(chosen.name)"
                if start.overwrites {
                    note("overwriting \(out): " + what)
                } else if start.keptRows > 0 || start.droppedLines > 0 {
                    let cut = start.droppedLines
                    note(
                        "resuming \(out) at batch \(start.keptRows / plan.batchSize + 1)/\(plan.batchCount): "
                            + "\(start.keptRows) answers kept, \(cut) line\(cut == 1 ? "" : "s") of an unfinished batch "
                            + "cut; \(what)")
                } else {
                    note("writing \(out): " + what)
                }
            case .batch(let progress):
                note(
                    String(
                        format: "batch %d/%d  %d/%d answers  %d tokens  %.1f tok/s  ETA %@", progress.batchesDone,
                        progress.batchCount, progress.rowsDone, progress.rowCount, progress.tokens,
                        progress.tokensPerSecond, EventPrinter.duration(progress.secondsRemaining)))
            }
        }
        note(
            String(
                format: "done: %d answers in %@; this run %d answers, %d tokens in %.2f s (%.1f tokens/s) on %@; "
                    + "%d stopped, %d at the length limit", summary.rowCount, out, summary.rows, summary.tokens,
                summary.seconds, Double(summary.tokens) / max(summary.seconds, 1e-9), chosen.name, summary.stopped,
                summary.cut))
    }

    /// A line on standard error.
    private func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    private func summarize(tokens: Int, since start: Date, device: Device, reason: StopReason) {
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "%d tokens in %.2f s (%.1f tokens/s) on %@, stopped at %@\n", tokens, seconds,
                    Double(tokens) / max(seconds, 1e-9), device.name, Self.describe(reason)
                ).utf8))
    }

    /// Writes `text` to standard output at once (unbuffered, so it streams).
    private func write(_ text: String) {
        if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    private static func describe(_ reason: StopReason) -> String {
        switch reason {
        case .endOfSequence: return "an end-of-sequence token"
        case .maxTokens: return "--max-tokens"
        case .contextLength: return "the context length"
        }
    }
}
