import ArgumentParser
import Core
import Formats
import Foundation
import Inference
import Models
import Runtime
import Training

/// `gputrain export`: writes a model folder (or a LoRA adapter merged into its base) for
/// transformers (`--format hf`) or llama.cpp (`--format gguf`).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a model for transformers (hf) or llama.cpp (gguf).")

    @Option(help: "A model folder: a run's final/, a Hugging Face folder, or a LoRA adapter folder.")
    var model: String

    @Option(help: "Where to write: a folder (hf) or a .gguf file (gguf).")
    var out: String

    @Option(help: "hf or gguf.")
    var format = "hf"

    @Option(
        help: "Weight type: f32, f16 or bf16 (hf; default: the base checkpoint's type), f32 or f16 (gguf; default f16)."
    )
    var dtype: String?

    @Flag(name: .customLong("merge-lora"), help: "Merge a LoRA adapter folder into its base model's weights.")
    var mergeLoRA = false

    @Flag(help: "Replace an earlier export at --out (never a folder gputrain did not make).")
    var overwrite = false

    func validate() throws {
        guard ["hf", "gguf"].contains(format) else {
            throw ValidationError("--format must be hf or gguf, got '\(format)'")
        }
        if let dtype, SafetensorsDType(floatName: dtype) == nil {
            throw ValidationError("--dtype must be f32, f16 or bf16, got '\(dtype)'")
        }
        if format == "gguf", let dtype, GGUFExport.DType(rawValue: dtype) == nil {
            throw ValidationError("--dtype for gguf must be f32 or f16, got '\(dtype)'")
        }
    }

    func run() throws {
        let device = try DeviceFactory.make("reference")
        let source = URL(fileURLWithPath: model)
        let target = URL(fileURLWithPath: out)
        let summary: ModelExport.Summary
        if format == "gguf" {
            let result = try ModelExport.gguf(
                from: source, to: target, dtype: dtype.flatMap(GGUFExport.DType.init(rawValue:)) ?? .f16,
                mergeLoRA: mergeLoRA, overwrite: overwrite, device: device)
            result.warnings.forEach { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
            summary = result.summary
        } else {
            summary = try ModelExport.huggingFace(
                from: source, to: target, dtype: dtype.flatMap(SafetensorsDType.init(floatName:)),
                mergeLoRA: mergeLoRA, overwrite: overwrite, device: device)
        }
        print(
            "wrote \(summary.output.path): \(summary.parameters) parameters as \(summary.dtype)"
                + (summary.mergedAdapter ? " (LoRA adapter merged)" : ""))
    }
}
