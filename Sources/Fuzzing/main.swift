import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `gputrain-fuzz`: a seeded mutation fuzzer of gputrain's readers (`FuzzTarget.all`). For each
/// target it mutates the files of `<corpus>/<target>/` and reads each result, until the input
/// count or the seconds run out. A finding stops the run with a non-zero exit and leaves the
/// input in `<work>/<target>/`: a trap (the process dies), an input read for more than 10 s,
/// or a peak resident size above 1 GiB.
///
///     gputrain-fuzz --corpus Tests/Fuzz/Corpus [--seconds 30] [--inputs N] [--seed 1] [target …]

struct Options {
    var corpus = URL(fileURLWithPath: "Tests/Fuzz/Corpus")
    var work = FileManager.default.temporaryDirectory.appendingPathComponent("gputrain-fuzz")
    var seconds = 30.0
    var inputs = Int.max
    var seed: UInt64 = 1
    var targets: [String] = []

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            func value() -> String {
                guard let value = rest.popFirst() else { fail("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--corpus": options.corpus = URL(fileURLWithPath: value())
            case "--work": options.work = URL(fileURLWithPath: value())
            case "--seconds": options.seconds = Double(value()) ?? { fail("--seconds takes a number") }()
            case "--inputs": options.inputs = Int(value()) ?? { fail("--inputs takes an integer") }()
            case "--seed": options.seed = UInt64(value()) ?? { fail("--seed takes an integer") }()
            default: options.targets.append(argument)
            }
        }
        return options
    }
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("gputrain-fuzz: \(message)\n".utf8))
    exit(status)
}

/// The peak resident size of this process, in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let known = FuzzTarget.all.map(\.name)
if let unknown = options.targets.first(where: { !known.contains($0) }) {
    fail("unknown target '\(unknown)'; targets: \(known.joined(separator: ", "))")
}
let chosen = FuzzTarget.all.filter { options.targets.isEmpty || options.targets.contains($0.name) }

/// When the input being read started, for the hang watchdog (nil between inputs).
nonisolated(unsafe) var readingSince: Date?
nonisolated(unsafe) var readingTarget = ""
let watchdog = DispatchSource.makeTimerSource(queue: .global())
watchdog.schedule(deadline: .now() + 1, repeating: 1)
watchdog.setEventHandler {
    if let since = readingSince, Date().timeIntervalSince(since) > 10 {
        fail("\(readingTarget): an input took over 10 s; it is in \(options.work.path)/\(readingTarget)", status: 3)
    }
}
watchdog.resume()

for target in chosen {
    let seeds =
        (try? FileManager.default.contentsOfDirectory(
            at: options.corpus.appendingPathComponent(target.name), includingPropertiesForKeys: nil)) ?? []
    let corpus = seeds.sorted { $0.path < $1.path }.compactMap { try? [UInt8](Data(contentsOf: $0)) }
    guard !corpus.isEmpty else { fail("no seed files in \(options.corpus.path)/\(target.name)") }
    let folder = options.work.appendingPathComponent(target.name)
    try? FileManager.default.removeItem(at: folder)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let input = folder.appendingPathComponent(target.fileName)
    var mutator = Mutator(seed: options.seed)
    var (count, accepted) = (0, 0)
    let started = Date()
    while count < options.inputs, Date().timeIntervalSince(started) < options.seconds {
        let base = corpus[mutator.next(corpus.count)]
        let bytes =
            count < corpus.count ? corpus[count] : mutator.mutate(base, other: corpus[mutator.next(corpus.count)])
        try Data(bytes).write(to: input)
        readingTarget = target.name
        readingSince = Date()
        if (try? target.read(input)) != nil { accepted += 1 }
        readingSince = nil
        count += 1
        if count % 64 == 0, peakResidentBytes() > 1 << 30 {
            fail("\(target.name): peak resident size above 1 GiB; the input is in \(input.path)", status: 4)
        }
    }
    let seconds = Date().timeIntervalSince(started)
    print(
        String(
            format: "%@: %d inputs in %.1f s (%.0f/s), %d read, %d refused, no crash, hang or huge allocation",
            target.name, count, seconds, Double(count) / max(seconds, 1e-9), accepted, count - accepted))
}
