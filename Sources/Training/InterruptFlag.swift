import Foundation

/// Turns Ctrl-C (SIGINT) into a flag the training loop checks between steps, so an
/// interrupted run finishes its step, writes a checkpoint and exits cleanly. A second
/// Ctrl-C exits at once.
public enum InterruptFlag {
    private static var source: DispatchSourceSignal?
    nonisolated(unsafe) private static var raised = false

    /// True once Ctrl-C was pressed (after `install`), or after `raise()`.
    public static var isRaised: Bool { raised }

    /// Starts listening for SIGINT.
    public static func install() {
        guard source == nil else { return }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if raised { exit(130) }
            raised = true
            FileHandle.standardError.write(Data("\ninterrupted: finishing this step and writing a checkpoint (Ctrl-C again to quit now)\n".utf8))
        }
        source.resume()
        self.source = source
    }

    /// Sets the flag as Ctrl-C would (tests use it to interrupt a run at a chosen step).
    public static func raise() { raised = true }

    /// Clears the flag.
    public static func reset() { raised = false }
}
