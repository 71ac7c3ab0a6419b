/// A problem `gputrain label` refuses to go on with: bad options, a session file that does
/// not belong to the prompts, a port that is taken. The message says what and how to fix it.
public struct LabelError: Error, CustomStringConvertible, Equatable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
