import Core
import Formats
import Models
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// The families' declarations: every model type has one family, and what follows from the
/// declarations (buffer order, weight decay, LoRA's projections) is what checkpoints and the
/// flat parameter buffer rely on.
final class ModelFamilyTests: XCTestCase {
    private func fixtureConfig(_ name: String) throws -> ModelConfig {
        try ModelConfig(contentsOf: HuggingFaceFixtures.folder(name).appendingPathComponent("config.json"))
    }

    func testEveryModelTypeHasTheFamilyThatListsIt() {
        for type in ModelType.allCases {
            XCTAssertTrue(type.family.modelTypes.contains(type), type.rawValue)
        }
        XCTAssertTrue(ModelType.gpt2.family is GPT2Family)
        for type in [ModelType.llama, .qwen2, .mistral] {
            XCTAssertTrue(type.family is LlamaFamily, "\(type) is a Llama layout")
        }
    }

    /// The order decides each parameter's offset in the flat buffer, so a checkpoint or resumed
    /// optimizer state depends on it.
    func testBlocksKeepTheirParameterOrder() throws {
        let gpt2 = ModelParameters.specs(for: try fixtureConfig("gpt2-tiny")).map(\.name).filter {
            $0.hasPrefix("transformer.h.0.")
        }
        XCTAssertEqual(
            gpt2,
            [
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                "attn.c_proj.bias",
                "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
            ]
            .map { "transformer.h.0." + $0 })
        let qwen2 = ModelParameters.specs(for: try fixtureConfig("qwen2-tiny")).map(\.name).filter {
            $0.hasPrefix("model.layers.0.")
        }
        XCTAssertEqual(
            qwen2,
            [
                "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
                "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight",
                "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "post_attention_layernorm.weight",
            ]
            .map { "model.layers.0." + $0 })
    }

    func testRolesDecideDecayAndLoRAsProjections() throws {
        for name in HuggingFaceFixtures.models {
            let config = try fixtureConfig(name)
            let declarations = ModelParameters.declarations(for: config)
            XCTAssertEqual(Set(declarations.map(\.name)).count, declarations.count, "\(name): names are unique")
            for parameter in declarations {
                XCTAssertEqual(
                    parameter.spec.decays, parameter.shape.count >= 2,
                    "\(name): \(parameter.name) follows the Trainer's rule")
            }
            let projections = declarations.filter {
                if case .projection = $0.role { return true } else { return false }
            }
            XCTAssertEqual(
                ModelParameters.linearModules(for: config).map { $0.path + ".weight" }, projections.map(\.name), name)
            XCTAssertEqual(projections.count, config.layerCount * (config.modelType == .gpt2 ? 4 : 7), name)
        }
    }

    /// A sequence past the model's positions is an error in both families, never a lookup past
    /// GPT-2's position table or rotary angles a Llama was not trained on.
    func testPositionsPastTheModelsLimitAreAnError() throws {
        let device = ReferenceDevice()
        for name in ["gpt2-tiny", "llama-tiny"] {
            let model = try ModelFolder.load(HuggingFaceFixtures.folder(name), device: device, trainable: false).model
            let limit = model.config.maxPositions
            func run(_ length: Int) throws {
                let ids = try IntTensor(device: device, shape: [length], values: Array(repeating: 1, count: length))
                _ = try Tensor.withNoGrad {
                    try model.hiddenStates(TokenBatch(ids: ids, batch: 1, length: length), dropout: nil)
                }
            }
            XCTAssertNoThrow(try run(limit), name)
            XCTAssertThrowsError(try run(limit + 1), name) { error in
                XCTAssertTrue(
                    "\(error)".contains("\(limit + 1) tokens runs past the model's \(limit) positions"), "\(error)")
            }
        }
    }
}
