import Foundation

/// A request to stop a run cleanly. The loop answers it before each step: it writes a
/// checkpoint and returns, so `--resume` continues bit for bit. The CLI connects one to Ctrl-C
/// (`controlC()`); a test requests it at the step it chooses.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    /// An interruption nobody has requested yet.
    public init() {}

    /// Whether a stop was requested.
    public var isRequested: Bool { lock.withLock { requested } }

    /// Asks the run to stop after its current step.
    public func request() { lock.withLock { requested = true } }

    /// The interruption Ctrl-C (SIGINT) requests; a second Ctrl-C exits at once.
    public static func controlC() -> Interruption {
        if let installed = onSignal { return installed.interruption }
        let interruption = Interruption()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if interruption.isRequested { exit(130) }
            interruption.request()
            FileHandle.standardError.write(
                Data("\ninterrupted: finishing this step and writing a checkpoint (Ctrl-C again to quit now)\n".utf8))
        }
        source.resume()
        onSignal = (source, interruption)
        return interruption
    }

    /// The signal source, kept alive for the process, and the interruption it requests.
    nonisolated(unsafe) private static var onSignal: (source: DispatchSourceSignal, interruption: Interruption)?
}
