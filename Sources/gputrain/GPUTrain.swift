import ArgumentParser
import Foundation
import Runtime

/// The `gputrain` command: one subcommand per stage; each parses its arguments and calls the library.
@main
struct GPUTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gputrain",
        abstract: "Train language models end to end on any OpenCL device.",
        version: GPUTrainVersion.current,
        subcommands: [
            DevicesCommand.self, RecipesCommand.self, DataCommand.self, TokenizerCommand.self, TokenizeCommand.self,
            PipelineCommand.self,
            PretrainCommand.self, SFTCommand.self, RewardCommand.self, DPOCommand.self, ORPOCommand.self,
            KTOCommand.self, PPOCommand.self, GRPOCommand.self, CritiqueReviseCommand.self, AILabelCommand.self,
            JudgeCommand.self,
            EvalCommand.self, ScoreCommand.self, GenerateCommand.self, ChatCommand.self, LabelCommand.self,
            ExportCommand.self,
            BenchCommand.self, SelfCheckCommand.self, TuneCommand.self,
        ])

    /// Runs the command; an error is printed whole in one write (ArgumentParser's own printing
    /// writes a character at a time) and sets the exit status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if !message.isEmpty {
                (code == .success ? FileHandle.standardOutput : FileHandle.standardError)
                    .write(Data((message + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
