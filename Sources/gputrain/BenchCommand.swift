import ArgumentParser
import Benchmarking
import Core
import Foundation
import Runtime

/// `gputrain bench`: benchmarks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark the device.",
        subcommands: [BenchKernelsCommand.self, BenchTrainCommand.self])
}

/// `gputrain bench kernels`: times the kernels (matmul against CLBlast, memory-bound kernels in GB/s).
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time the kernels: matmul (GFLOP/s, with CLBlast when installed), softmax cross-entropy, "
            + "layer norm, attention, AdamW and copy (GB/s or GFLOP/s). Medians over repeats after a warm-up.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Print one JSON object per line on stdout (progress goes to stderr).")
    var json = false

    @Option(name: .customLong("repeat"), help: "Timed calls per kernel (the median is reported).")
    var repeats = 5

    @Flag(inversion: .prefixedNo, help: "Also time CLBlast's SGEMM on each matmul, when the library is installed.")
    var clblast = true

    @Option(help: "Comma-separated kernels to run (of \(KernelBenchmark.kernels.joined(separator: ", "))).")
    var only: String?

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1") }
        if let unknown = selectedKernels?.subtracting(KernelBenchmark.kernels).sorted(), !unknown.isEmpty {
            throw ValidationError("unknown kernel(s) \(unknown.joined(separator: ", ")) in --only")
        }
    }

    private var selectedKernels: Set<String>? {
        only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    }

    func run() throws {
        let target = try deviceOptions.open()
        let standardError = FileHandle.standardError
        let log: (String) -> Void = { standardError.write(Data(($0 + "\n").utf8)) }
        log("device: \(target.name)")
        let benchmark = KernelBenchmark(
            device: target, repeats: repeats, only: selectedKernels, compareWithCLBlast: clblast, log: log)
        try benchmark.run { result in
            print(json ? result.jsonLine : result.text)
            fflush(stdout)
        }
    }
}
