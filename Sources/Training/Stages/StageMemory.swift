import Formats
import Foundation
import Models
import Tensors

/// One model a post-training stage will hold on its device, for the memory check before loading.
struct PlannedModel {
    /// Its folder (a full model or an adapter).
    var folder: URL
    /// Whether the stage trains it (with the stage's LoRA settings when they have a rank).
    var trained: Bool
    /// Whether it has a scalar head (reward and value models) instead of the LM head.
    var scalarHead = false
    /// Sequences per forward pass (DPO and reward models score chosen and rejected together).
    var sequencesPerBatch: Int
}

extension TrainingStage where Config: PostTrainingConfiguration {
    /// The frozen reference copy of `folder` a stage holds besides its policy: none with LoRA,
    /// whose reference is the policy with its adapters off (`ChatModelFolder.referenceModel`).
    func plannedReference(_ folder: URL, sequencesPerBatch: Int) -> [PlannedModel] {
        config.lora.isEnabled
            ? [] : [PlannedModel(folder: folder, trained: false, sequencesPerBatch: sequencesPerBatch)]
    }

    /// Reports the parameters and the device memory `models` need (with the stage's LoRA
    /// settings and `data.max_length`), and refuses before anything loads when the device
    /// cannot hold them.
    func requireMemory(for models: [PlannedModel]) throws {
        let estimates = try models.map { planned -> MemoryEstimate in
            let config = try ModelFolder.config(of: planned.folder)
            let lora =
                planned.trained && self.config.lora.isEnabled
                ? try LoRAAdapters(settings: self.config.lora, config: config) : nil
            let specs = ModelParameters.specs(
                planned.scalarHead ? ScalarHeadModel.specs(for: config) : ModelParameters.specs(for: config),
                trainable: planned.trained, adapters: lora, fullyTrained: [ScalarHeadModel.headName])
            return MemoryEstimate(
                config: config, specs: specs.base + specs.adapters, batchSize: planned.sequencesPerBatch,
                sequenceLength: self.config.data.maxLength, training: planned.trained)
        }
        guard var total = estimates.first else { return }
        for estimate in estimates.dropFirst() { total = total + estimate }
        emit(.note(total.summary))
        try total.requireFits(on: device)
    }
}
