import Core
import Datasets
import Formats
import Foundation
import Inference
import Models

/// The AI-feedback loop over some prompts: the policy that answers, the feedback model, the
/// constitution and the seed every draw of an item derives from (its principle, its answers).
/// Its two stages are `critiqueRevise` (CritiqueRevision.swift) and `aiLabels` (AILabeling.swift).
public struct FeedbackLoop {
    public let policy: ChatAnswerSampler
    public let feedback: FeedbackModel
    public let constitution: Constitution
    public let prompts: [[ChatMessage]]
    public let seed: UInt64

    public init(
        policy: ChatAnswerSampler, feedback: FeedbackModel, constitution: Constitution, prompts: [[ChatMessage]],
        seed: UInt64
    ) {
        self.policy = policy
        self.feedback = feedback
        self.constitution = constitution
        self.prompts = prompts
        self.seed = seed
    }

    /// Reads the constitution and the prompts (checked before any model loads), then opens the
    /// device (`openDevice`) and loads the policy (the chat model folder `model`) and the
    /// feedback model on it. The policy samples with `options` (whose seed is the loop's); the
    /// feedback model writes critiques and revisions of up to 128 tokens (more if `options` allow).
    public static func load(
        model: URL, prompts: URL, constitution: URL, feedback source: FeedbackSource,
        openDevice: () throws -> Device, options: GenerationOptions
    ) throws -> FeedbackLoop {
        let constitution = try Constitution.read(constitution)
        let prompts = try conversations(GenerationPromptDataset.read(prompts))
        let folder = try ChatModelFolder(url: model, field: "--model")
        let device = try openDevice()
        let policy = ChatAnswerSampler(
            model: try folder.loadModel(device: device, trainable: false), encoder: folder.encoder, options: options)
        var feedbackOptions = options
        feedbackOptions.maxNewTokens = max(options.maxNewTokens, 128)
        let feedback = try source.load(device: device, options: feedbackOptions, seed: options.sampling.seed)
        return FeedbackLoop(
            policy: policy, feedback: feedback, constitution: constitution, prompts: prompts,
            seed: options.sampling.seed)
    }

    /// Each prompt as a conversation: a string is a user message, a message list is kept as it is
    /// and must not end with an assistant turn (the answer begins where it ends).
    public static func conversations(_ prompts: [GenerationPrompt]) throws -> [[ChatMessage]] {
        try prompts.map { prompt in
            switch prompt.content {
            case .text(let text): return [.user(text)]
            case .messages(let messages):
                guard messages.last?.role != .assistant else {
                    throw prompt.error("the prompt ends with an assistant turn; it should end where the answer begins")
                }
                return messages
            }
        }
    }
}
