import Core
import Tensors

/// Greedy continuation of one prompt, recomputing the whole sequence for each new token:
/// simple and exact, for short probes. (Sampling with a key/value cache is `Generator`'s job.)
public enum GreedyDecoding {
    /// Up to `maxTokens` ids that `model` appends to `prompt`, stopping after any of `stop`
    /// or at the model's context length.
    public static func continuation(_ model: LanguageModel, prompt: [Int32], maxTokens: Int, stop: Set<Int32> = []) throws -> [Int32] {
        let device = model.parameters.device
        var sequence = prompt
        var generated: [Int32] = []
        try Tensor.withNoGrad {
            while generated.count < maxTokens, sequence.count < model.config.maxPositions {
                let ids = try IntTensor(device: device, shape: [sequence.count], values: sequence, label: "prompt")
                let hidden = try model.hiddenStates(TokenBatch(ids: ids, batch: 1, length: sequence.count), dropout: nil)
                let last = try hidden.slice(axis: 0, (sequence.count - 1)..<sequence.count)
                let logits = try model.logits(fromHidden: last).values()
                var best = 0
                for (index, value) in logits.enumerated() where value > logits[best] { best = index }
                let next = Int32(best)
                generated.append(next)
                sequence.append(next)
                if stop.contains(next) { break }
            }
        }
        return generated
    }
}
