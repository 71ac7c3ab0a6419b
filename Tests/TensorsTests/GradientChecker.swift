import Core
import Tensors
import TestSupport
import XCTest

/// Finite-difference checks of backward passes.
///
/// For inputs x and an operation f, the scalar objective is L = Σ w⊙f(x) with fixed random
/// weights w in [−1, 1]. The analytic gradient comes from `f(x).backward(gradient: w)`; the
/// numeric one from central differences (L(x + h·eᵢ) − L(x − h·eᵢ))/(2h), with f evaluated in
/// Float32 on the device and the weighted sum taken in Double on the host (so the sum adds no
/// rounding). The step h is 1e-2 by default (Float32 rounding of f divided by 2h stays near
/// 1e-5, while the O(h²) truncation error of smooth functions stays near 1e-5 too); a
/// coordinate passes when |numeric − analytic| ≤ tolerance·max(1, |analytic|), tolerance 1e-2
/// by default. Inputs must keep kinks (relu at 0, clamp bounds, ties of max/min) more than h away.
struct GradientChecker {
    let device: Device
    var step: Float = 1e-2
    var tolerance: Float = 1e-2
    /// Coordinates checked per input: all of them up to this many, else a random subset.
    var coordinatesPerInput = 24

    /// One input: its shape and host values.
    struct Input {
        var shape: [Int]
        var values: [Float]
    }

    /// Checks every input's gradient of `function`; failures name `name`, the input and the coordinate.
    func check(
        _ name: String, _ inputs: [Input], seed: UInt64 = 11, file: StaticString = #filePath, line: UInt = #line,
        _ function: ([Tensor]) throws -> Tensor
    ) throws {
        let leaves = try inputs.enumerated().map { index, input in
            try Tensor(
                device: device, shape: input.shape, values: input.values, requiresGrad: true,
                label: "\(name) input \(index)")
        }
        let output = try function(leaves)
        var random = TestRandom(seed: seed)
        let weights = random.floats(output.count)
        try output.backward(gradient: Tensor(device: device, shape: output.shape, values: weights, label: "weights"))

        func objective() throws -> Double {
            try Tensor.withNoGrad {
                let values = try function(leaves).values()
                return zip(values, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
        }

        for (index, leaf) in leaves.enumerated() {
            let analytic = try leaf.grad?.values() ?? [Float](repeating: 0, count: leaf.count)
            var values = inputs[index].values
            var failures = 0
            for coordinate in coordinates(leaf.count, &random) {
                let original = values[coordinate]
                let up = original + step
                let down = original - step
                values[coordinate] = up
                try leaf.load(values)
                let plus = try objective()
                values[coordinate] = down
                try leaf.load(values)
                let minus = try objective()
                values[coordinate] = original
                try leaf.load(values)
                let numeric = Float((plus - minus) / Double(up - down))
                let expected = analytic[coordinate]
                if !(abs(numeric - expected) <= tolerance * max(1, abs(expected))) {
                    failures += 1
                    if failures <= 3 {
                        XCTFail(
                            "\(name) on \(device.name): input \(index) \(inputs[index].shape) coordinate \(coordinate): "
                                + "numeric \(numeric) vs analytic \(expected)", file: file, line: line)
                    }
                }
            }
        }
    }

    /// All coordinates, or a random subset of `coordinatesPerInput` distinct ones.
    private func coordinates(_ count: Int, _ random: inout TestRandom) -> [Int] {
        guard count > coordinatesPerInput else { return Array(0..<count) }
        var chosen = Set<Int>()
        while chosen.count < coordinatesPerInput {
            chosen.insert(Int(random.ints(1, below: count)[0]))
        }
        return chosen.sorted()
    }
}

/// Seeded inputs for gradient checks.
struct InputMaker {
    var random: TestRandom

    init(seed: UInt64) { random = TestRandom(seed: seed) }

    /// Uniform values in `range`.
    mutating func uniform(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> GradientChecker.Input {
        GradientChecker.Input(shape: shape, values: random.floats(shape.reduce(1, *), in: range))
    }

    /// Values with |x| in `magnitude` and a random sign: away from a kink at 0.
    mutating func awayFromZero(_ shape: [Int], magnitude: ClosedRange<Float> = 0.1...1) -> GradientChecker.Input {
        let count = shape.reduce(1, *)
        let signs = random.floats(count)
        let sizes = random.floats(count, in: magnitude)
        return GradientChecker.Input(shape: shape, values: zip(signs, sizes).map { $0 < 0 ? -$1 : $1 })
    }

    /// Int32 values below `bound`.
    mutating func ints(_ count: Int, below bound: Int) -> [Int32] {
        random.ints(count, below: bound)
    }
}
