import Core
import Formats
import Foundation
import Models
import Optimizers
import Tensors
import TestSupport
import XCTest

/// LoRA against PEFT: adapters PEFT made load here with PEFT's loss, adapters made here load in
/// PEFT with ours (figures PEFT computed once, in the fixtures' reference.json), merged and
/// unmerged adapters agree, fresh adapters leave the model unchanged, and bad targets are named.
final class LoRATests: XCTestCase {
    private func exportsFixture(_ name: String) -> URL { HuggingFaceFixtures.folder("exports/\(name)") }

    private func references(_ name: String) throws -> [HuggingFaceFixtures.Case] {
        try HuggingFaceFixtures.cases("exports/\(name)")
    }

    /// Checks that `folder`'s adapter, applied unmerged and merged, gives the losses PEFT computed.
    private func checkAdapter(_ name: String, on device: Device) throws {
        let folder = exportsFixture(name)
        let unmerged = try ModelFolder.load(folder, device: device, trainable: false, mergeAdapter: false).model
        let merged = try ModelFolder.load(folder, device: device, trainable: false).model
        XCTAssertNotNil(unmerged.adapters, "kept apart, the adapter runs in the forward pass")
        XCTAssertNil(merged.adapters)
        for reference in try references(name) {
            XCTAssertEqual(
                Double(try meanLoss(of: unmerged, ids: reference.ids)), reference.loss, accuracy: 1e-4 * reference.loss,
                "\(name) base + adapter on \(device.name)")
            XCTAssertEqual(
                Double(try meanLoss(of: merged, ids: reference.ids)), reference.loss, accuracy: 1e-4 * reference.loss,
                "\(name) merged on \(device.name)")
        }
    }

    func testAnAdapterPEFTMadeOnGPT2GivesPEFTsLoss() throws {
        try checkAdapter("gpt2-tiny-lora", on: TestDevices.openCL.get())
    }

    func testAnAdapterMadeHereGivesTheLossPEFTComputesForIt() throws {
        try checkAdapter("trained-llama-lora", on: TestDevices.openCL.get())
        try checkAdapter("trained-llama-lora", on: TestDevices.reference())
    }

    func testTheAdapterWrittenHereHasPEFTsLayout() throws {
        let adapter = try PEFTAdapter(folder: exportsFixture("trained-llama-lora"))
        XCTAssertEqual(adapter.config.taskType, "CAUSAL_LM")
        XCTAssertEqual(adapter.config.lora.targetModules, .allLinear)
        XCTAssertTrue(
            adapter.weights.names.allSatisfy { $0.hasPrefix("base_model.model.model.layers.") },
            "\(adapter.weights.names)")
        XCTAssertTrue(adapter.weights.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"))
        XCTAssertEqual(
            try adapter.weights.info("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight").shape, [32, 4])
        XCTAssertEqual(adapter.weights.metadata["format"], "pt")
    }

    func testFreshAdaptersLeaveTheModelUnchanged() throws {
        let device = TestDevices.reference()
        let folder = HuggingFaceFixtures.folder("llama-tiny")
        let base = try ModelFolder.load(folder, device: device, trainable: false).model
        let adapted = try ModelFolder.load(folder, device: device, lora: LoRASettings(r: 4, targetModules: .allLinear))
            .model
        let adapters = try XCTUnwrap(adapted.adapters)
        XCTAssertEqual(adapters.modules.count, 2 * 7)
        let ids = try HuggingFaceFixtures.cases("llama-tiny")[0].ids
        XCTAssertEqual(try meanLoss(of: adapted, ids: ids), try meanLoss(of: base, ids: ids))
        let counts = adapted.parameters.layout.parameterCounts
        XCTAssertEqual(counts.trainable, adapters.modules.reduce(0) { $0 + 4 * ($1.inputs + $1.outputs) })
        XCTAssertEqual(
            counts.frozen,
            base.parameters.layout.parameterCounts.frozen + base.parameters.layout.parameterCounts.trainable)
    }

    /// A training step with LoRA moves the adapters only: the frozen base is bit-identical
    /// afterwards and AdamW keeps moments for the adapters alone.
    func testATrainingStepMovesOnlyTheAdapters() throws {
        let device = try TestDevices.openCL.get()
        let model = try ModelFolder.load(
            HuggingFaceFixtures.folder("llama-tiny"), device: device,
            lora: LoRASettings(r: 4, alpha: 8, targetModules: .allLinear, seed: 3)
        ).model
        let store = model.parameters
        let optimizer = try AdamW(store: store, learningRate: 1e-2)
        let frozenBefore = try device.readFloats(store.frozenParameters)
        let adaptersBefore = try device.readFloats(store.parameters)
        let ids = try HuggingFaceFixtures.cases("llama-tiny")[0].ids
        var losses: [Float] = []
        for _ in 0..<3 {
            try store.zeroGrad()
            let input = try IntTensor(device: device, shape: [ids.count], values: ids, label: "ids")
            let targets = try IntTensor(
                device: device, shape: [ids.count], values: Array(ids.dropFirst()) + [-100], label: "targets")
            let loss = try Tensor.crossEntropy(
                logits: model.logits(TokenBatch(ids: input, batch: 1, length: ids.count)), targets: targets)
            losses.append(try loss.scalar())
            try loss.backward()
            try optimizer.step()
        }
        XCTAssertEqual(try device.readFloats(store.frozenParameters), frozenBefore, "base weights bit-identical")
        XCTAssertNotEqual(try device.readFloats(store.parameters), adaptersBefore, "adapters moved")
        XCTAssertLessThan(losses[2], losses[0], "the adapters lower the loss: \(losses)")
        XCTAssertEqual(
            Set(try optimizer.state().firstMoments.keys), Set(model.adapters!.specs.map(\.name)),
            "optimizer state for the adapters only")
    }

    /// Adapter dropout is on only while a step's seed is set, gives the same masks for the same
    /// seed, and never applies to generation.
    func testAdapterDropoutFollowsTheStepSeedAndSparesGeneration() throws {
        let device = TestDevices.reference()
        let model = try ModelFolder.load(
            exportsFixture("trained-llama-lora"), device: device, trainable: false, mergeAdapter: false
        ).model
        let adapters = try XCTUnwrap(model.adapters)
        // The base with the adapters made 200 times stronger (so that dropping inputs shows in
        // every output), trained with dropout 0.5.
        let dropped = try ModelFolder.load(
            exportsFixture("trained-llama"), device: device,
            lora: LoRASettings(
                r: adapters.settings.r, alpha: adapters.settings.alpha, dropout: 0.5,
                targetModules: adapters.settings.targetModules)
        ).model
        for spec in adapters.specs {
            let values = try model.parameters.values(of: spec.name)
            try dropped.parameters.load(
                spec.name, values: spec.name.hasSuffix("lora_B.weight") ? values.map { $0 * 200 } : values)
        }
        let ids = try references("trained-llama-lora")[0].ids
        let plain = try meanLoss(of: dropped, ids: ids)
        dropped.adapters!.dropoutSeed = 7
        let first = try meanLoss(of: dropped, ids: ids)
        XCTAssertNotEqual(first, plain, "dropout while a step's seed is set")
        XCTAssertEqual(try meanLoss(of: dropped, ids: ids), first, "the same seed, the same masks")
        let options = GenerationOptions(maxNewTokens: 12, sampling: SamplingOptions(temperature: 1, seed: 3))
        let during = try Generator(model: dropped).generate(Array(ids.prefix(8)), options: options)
        XCTAssertEqual(dropped.adapters!.dropoutSeed, 7, "restored after generating")
        dropped.adapters!.dropoutSeed = nil
        XCTAssertEqual(try meanLoss(of: dropped, ids: ids), plain, "no seed, no dropout")
        XCTAssertEqual(
            during.tokens, try Generator(model: dropped).generate(Array(ids.prefix(8)), options: options).tokens)
    }

    func testTurningAdaptersOffGivesTheBaseModel() throws {
        let device = TestDevices.reference()
        let unmerged = try ModelFolder.load(
            exportsFixture("trained-llama-lora"), device: device, trainable: false, mergeAdapter: false
        ).model
        let base = try ModelFolder.load(exportsFixture("trained-llama"), device: device, trainable: false).model
        let ids = try references("trained-llama-lora")[0].ids
        let reference = try AdapterFreeModel(unmerged)
        XCTAssertEqual(try meanLoss(of: reference, ids: ids), try meanLoss(of: base, ids: ids))
        XCTAssertNotEqual(try meanLoss(of: unmerged, ids: ids), try meanLoss(of: base, ids: ids))
        XCTAssertTrue(unmerged.adapters!.isEnabled, "the adapters are back on afterwards")
    }

    func testTargetsFollowPEFTsMatchingRules() throws {
        let config = try ModelConfig(
            contentsOf: HuggingFaceFixtures.folder("gpt2-tiny").appendingPathComponent("config.json"))
        let paths = { (targets: LoRATargets) in
            try LoRAAdapters(settings: LoRASettings(r: 2, targetModules: targets), config: config).modules.map(\.path)
        }
        XCTAssertEqual(try paths(.familyDefault), ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"])
        XCTAssertEqual(try paths(.names(["c_proj"])).count, 4, "attn.c_proj and mlp.c_proj in both layers")
        XCTAssertEqual(
            try paths(.pattern(#".*\.1\.mlp\..*"#)), ["transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj"])
        XCTAssertEqual(try paths(.allLinear).count, 8)
    }

    func testATargetThatMatchesNoModuleIsNamed() throws {
        let config = try ModelConfig(
            contentsOf: HuggingFaceFixtures.folder("llama-tiny").appendingPathComponent("config.json"))
        XCTAssertThrowsError(
            try LoRAAdapters(settings: LoRASettings(r: 2, targetModules: .names(["q_proj", "query"])), config: config)
        ) { error in
            let message = "\(error)"
            XCTAssertTrue(
                message.contains("lora.target_modules") && message.contains("[\"query\"]")
                    && message.contains("q_proj"), message)
        }
        XCTAssertThrowsError(
            try LoRAAdapters(settings: LoRASettings(r: 2, targetModules: .pattern("nothing")), config: config))
        XCTAssertEqual(LoRASettings(r: 2, dropout: 1).problem, "'lora.dropout' must be in [0, 1), got 1.0")
    }

    /// A rank above a projection's smaller side is refused, naming the rank and the projection.
    func testARankAboveTheWidthIsRefused() throws {
        let config = try ModelConfig(
            contentsOf: HuggingFaceFixtures.folder("llama-tiny").appendingPathComponent("config.json"))
        let width = min(config.hiddenSize, config.keyValueHeadCount * config.headDimension)
        XCTAssertNoThrow(try LoRAAdapters(settings: LoRASettings(r: width), config: config))
        XCTAssertThrowsError(try LoRAAdapters(settings: LoRASettings(r: 10_000), config: config)) { error in
            XCTAssertTrue("\(error)".contains("'lora.r' is 10000, above the size of"), "\(error)")
        }
    }
}
