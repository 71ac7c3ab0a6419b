import Foundation

extension LabelSession {
    /// Ends the process on Ctrl-C (SIGINT), SIGTERM or SIGHUP (a closed terminal), with status
    /// 128 + the signal, once no decision is being written; `report` says so first. Every
    /// decision is on disk when it is made, so nothing else needs saving.
    public func exitOnSignals(_ report: @escaping (_ signal: Int32) -> Void) {
        let sources = [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                whenNotWriting {
                    report(number)
                    exit(128 + number)
                }
            }
            source.resume()
            return source
        }
        LabelSignalSources.installed.append(contentsOf: sources)
    }
}

/// The signal sources, kept alive for the process.
private enum LabelSignalSources {
    nonisolated(unsafe) static var installed: [DispatchSourceSignal] = []
}
