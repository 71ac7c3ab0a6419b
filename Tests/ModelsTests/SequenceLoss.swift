import Models
import Tensors

/// The mean next-token cross-entropy of one sequence, as transformers reports `loss` for
/// `labels = input_ids`: position t predicts token t+1, the last position predicts nothing.
func meanNextTokenLoss(of model: LanguageModel, ids: [Int32]) throws -> Float {
    let device = model.parameters.device
    let input = try IntTensor(device: device, shape: [ids.count], values: ids, label: "ids")
    let targets = try IntTensor(device: device, shape: [ids.count], values: Array(ids.dropFirst()) + [-100], label: "targets")
    return try Tensor.withNoGrad {
        let logits = try model.logits(TokenBatch(ids: input, batch: 1, length: ids.count))
        return try Tensor.crossEntropy(logits: logits, targets: targets).scalar()
    }
}
