import Core
import Models
import Tensors

/// The mean next-token cross-entropy of `model` over `ids` (every position but the last
/// predicts the next id), as transformers' `model(input_ids=ids, labels=ids).loss` computes it.
public func meanLoss(of model: LanguageModel, ids: [Int32]) throws -> Float {
    let device = model.parameters.device
    let input = try IntTensor(device: device, shape: [ids.count], values: ids, label: "ids")
    let targets = try IntTensor(
        device: device, shape: [ids.count], values: Array(ids.dropFirst()) + [-100], label: "targets")
    return try Tensor.withNoGrad {
        let logits = try model.logits(TokenBatch(ids: input, batch: 1, length: ids.count))
        return try Tensor.crossEntropy(logits: logits, targets: targets).scalar()
    }
}
