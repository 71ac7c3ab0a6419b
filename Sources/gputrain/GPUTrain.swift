import ArgumentParser

/// The `gputrain` command: one subcommand per stage; each parses its arguments and calls the library.
@main
struct GPUTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gputrain",
        abstract: "Train language models end to end on any OpenCL device.",
        subcommands: [
            DevicesCommand.self, RecipesCommand.self, DataCommand.self, TokenizerCommand.self, TokenizeCommand.self,
            PipelineCommand.self,
            PretrainCommand.self, SFTCommand.self, RewardCommand.self, DPOCommand.self, PPOCommand.self,
            GRPOCommand.self,
            EvalCommand.self, ScoreCommand.self, GenerateCommand.self, ChatCommand.self, ExportCommand.self,
            BenchCommand.self,
        ])
}
