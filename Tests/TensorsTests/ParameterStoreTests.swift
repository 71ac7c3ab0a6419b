import Core
import OpenCLDevice
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

final class ParameterStoreTests: XCTestCase {
    let specs = [
        ParameterSpec("ln_f.bias", shape: [3]),
        ParameterSpec("wte.weight", shape: [5, 3]),
        ParameterSpec("h.0.attn.c_attn.weight", shape: [3, 9], trainable: false),
        ParameterSpec("ln_f.weight", shape: [3]),
        ParameterSpec("h.0.mlp.c_fc.weight", shape: [3, 2]),
    ]

    func testLayoutPutsDecayedParametersFirstWithAlignedOffsets() throws {
        let layout = try ParameterLayout(specs, alignment: 4)
        XCTAssertEqual(
            layout.entries.map(\.spec.name),
            ["wte.weight", "h.0.mlp.c_fc.weight", "ln_f.bias", "ln_f.weight", "h.0.attn.c_attn.weight"])
        // wte 0..<15, c_fc 16..<22, ln_f.bias 24..<27, ln_f.weight 28..<31; frozen c_attn 0..<27.
        XCTAssertEqual(layout.entries.map(\.offset), [0, 16, 24, 28, 0])
        XCTAssertEqual(layout.decayCount, 22)
        XCTAssertEqual(layout.trainableCount, 31)
        XCTAssertEqual(layout.frozenCount, 27)
        XCTAssertEqual(layout.parameterCounts.trainable, 15 + 6 + 3 + 3)
        XCTAssertEqual(layout.parameterCounts.frozen, 27)
        XCTAssertFalse(ParameterSpec("b", shape: [4]).decays)
        XCTAssertTrue(ParameterSpec("w", shape: [4, 4]).decays)
    }

    func testDuplicateNamesAreRejected() {
        XCTAssertThrowsError(
            try ParameterLayout([ParameterSpec("a", shape: [1]), ParameterSpec("a", shape: [2])], alignment: 1)
        ) { error in
            XCTAssert("\(error)".contains("'a' appears twice"), "\(error)")
        }
    }

    func testParametersAndGradientsAreViewsOnReference() throws {
        try checkViews(on: TestDevices.reference())
    }

    /// On OpenCL the views are sub-buffers at aligned offsets, which the kernels read and write.
    func testParametersAndGradientsAreViewsOnOpenCL() throws {
        try checkViews(on: TestDevices.openCL.get())
    }

    /// Parameters and gradients are views of the flat buffers: backward fills the flat
    /// gradient buffer, zeroGrad clears it, frozen parameters get nothing.
    private func checkViews(on device: Device) throws {
        let store = try ParameterStore(device: device, specs: specs)
        let wte = try store.tensor("wte.weight")
        let bias = try store.tensor("ln_f.bias")
        let frozen = try store.tensor("h.0.attn.c_attn.weight")
        XCTAssertTrue(wte.requiresGrad)
        XCTAssertFalse(frozen.requiresGrad)
        XCTAssertNil(frozen.grad)
        try store.load("wte.weight", values: (0..<15).map(Float.init))
        try store.load("ln_f.bias", values: [1, 2, 3])
        try store.load("h.0.attn.c_attn.weight", values: [Float](repeating: 0.5, count: 27))
        let flat = try device.readFloats(store.parameters)
        let wteOffset = try XCTUnwrap(store.layout.entry("wte.weight")).offset
        XCTAssertEqual(Array(flat[wteOffset..<(wteOffset + 15)]), (0..<15).map(Float.init))

        // Loss = Σ (wte rows 1 and 3) · ln_f.bias + Σ frozen: gradients land in the flat buffer.
        let ids = try IntTensor(device: device, shape: [2], values: [1, 3])
        let rows = try Tensor.embedding(wte, ids: ids)
        let loss = try (rows * bias).sum() + frozen.sum()
        try loss.backward()
        let gradients = try device.readFloats(store.gradients)
        var expectedWte = [Float](repeating: 0, count: 15)
        for row in [1, 3] { for column in 0..<3 { expectedWte[row * 3 + column] = Float(column + 1) } }
        XCTAssertEqual(Array(gradients[wteOffset..<(wteOffset + 15)]), expectedWte)
        let biasOffset = try XCTUnwrap(store.layout.entry("ln_f.bias")).offset
        // d/dbias = Σ over the two rows = [3+9, 4+10, 5+11].
        XCTAssertEqual(Array(gradients[biasOffset..<(biasOffset + 3)]), [12, 14, 16])
        XCTAssertNil(frozen.grad, "a frozen parameter gets no gradient")

        try store.zeroGrad()
        XCTAssertEqual(
            try device.readFloats(store.gradients), [Float](repeating: 0, count: store.layout.trainableCount))
        XCTAssertEqual(try XCTUnwrap(wte.grad).values(), [Float](repeating: 0, count: 15), "grad is still the view")

        let all = try store.allValues()
        XCTAssertEqual(all["ln_f.bias"], [1, 2, 3])
        XCTAssertEqual(all["h.0.attn.c_attn.weight"], [Float](repeating: 0.5, count: 27))
        XCTAssertEqual(all.count, specs.count)
    }

    func testUnknownNameAndWrongLengthAreErrors() throws {
        let store = try ParameterStore(device: TestDevices.reference(), specs: specs)
        XCTAssertThrowsError(try store.tensor("lm_head.weight")) { error in
            XCTAssert("\(error)".contains("lm_head.weight"), "\(error)")
        }
        XCTAssertThrowsError(try store.load("ln_f.bias", values: [1, 2])) { error in
            XCTAssert("\(error)".contains("ln_f.bias"), "\(error)")
        }
    }
}
