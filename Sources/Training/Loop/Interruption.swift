import Foundation

/// A request to stop a run cleanly. The loop answers it before each step: it writes a
/// checkpoint and returns, so `--resume` continues bit for bit. The CLI connects one to Ctrl-C,
/// SIGTERM and SIGHUP (`onSignals()`); a test requests it at the step it chooses.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    /// An interruption nobody has requested yet.
    public init() {}

    /// Whether a stop was requested.
    public var isRequested: Bool { lock.withLock { requested } }

    /// Asks the run to stop after its current step.
    public func request() { lock.withLock { requested = true } }

    /// The interruption that Ctrl-C (SIGINT), SIGTERM (what a scheduler or `docker stop`
    /// sends) and SIGHUP (a closed terminal) request; a second such signal exits at once.
    public static func onSignals() -> Interruption {
        if let installed = installed { return installed.interruption }
        let interruption = Interruption()
        let sources = [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if interruption.isRequested { exit(128 + number) }
                interruption.request()
                FileHandle.standardError.write(
                    Data(
                        "\n\(Self.name(of: number)): finishing this step and writing a checkpoint (again to quit now)\n"
                            .utf8))
            }
            source.resume()
            return source
        }
        installed = (sources, interruption)
        return interruption
    }

    private static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "interrupted"
        case SIGTERM: return "terminated (SIGTERM)"
        default: return "hung up (SIGHUP)"
        }
    }

    /// The signal sources, kept alive for the process, and the interruption they request.
    nonisolated(unsafe) private static var installed: (sources: [DispatchSourceSignal], interruption: Interruption)?
}
