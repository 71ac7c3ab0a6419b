import Core
import Foundation

/// Elementwise operations and reductions: the specification of `Kernels/elementwise.cl` and
/// `Kernels/activations.cl`.
extension ReferenceDevice {
    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) throws {
        try ElementwiseChecks.fill(buffer, offset: offset, count: count)
        let b = try own(buffer, "fill")
        for i in 0..<count { b.storage.floats[b.offset + offset + i] = value }
    }

    public func copy2D(
        from source: DeviceBuffer, sourceOffset: Int, sourceRowStride: Int,
        to destination: DeviceBuffer, destinationOffset: Int, destinationRowStride: Int,
        rows: Int, columns: Int, accumulate: Bool
    ) throws {
        try ElementwiseChecks.copy2D(
            source: source, sourceOffset: sourceOffset, sourceRowStride: sourceRowStride,
            destination: destination, destinationOffset: destinationOffset,
            destinationRowStride: destinationRowStride, rows: rows, columns: columns)
        let src = try own(source, "copy2D")
        let dst = try own(destination, "copy2D")
        for r in 0..<rows {
            for c in 0..<columns {
                let value = src.storage.floats[src.offset + sourceOffset + r * sourceRowStride + c]
                let d = dst.offset + destinationOffset + r * destinationRowStride + c
                dst.storage.floats[d] = accumulate ? dst.storage.floats[d] + value : value
            }
        }
    }

    public func binary(_ op: BinaryOp, _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape)
        throws
    {
        let spans = try ElementwiseChecks.binary(a, b, out: out, shape: shape)
        let av = try floats(a, spans.a, "binary")
        let bv = try floats(b, spans.b, "binary")
        let d = shape.dims
        let sa = shape.aStrides
        let sb = shape.bStrides
        var result = [Float]()
        result.reserveCapacity(shape.count)
        for i0 in 0..<d[0] {
            for i1 in 0..<d[1] {
                for i2 in 0..<d[2] {
                    for i3 in 0..<d[3] {
                        let ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3]
                        let ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3]
                        result.append(Self.apply(op, av[ia], bv[ib]))
                    }
                }
            }
        }
        try store(result, out, "binary")
    }

    public func unary(_ op: UnaryOp, _ x: DeviceBuffer, out: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unary")
        let xs = try floats(x, count, "unary")
        try BufferChecks.require(out, holds: count, in: "unary")
        try store(xs.map { Self.apply(op, $0) }, out, "unary")
    }

    public func unaryBackward(_ op: UnaryOp, x: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unaryBackward")
        let xs = try floats(x, count, "unaryBackward")
        let dys = try floats(dy, count, "unaryBackward")
        try BufferChecks.require(dx, holds: count, in: "unaryBackward")
        try store(zip(xs, dys).map { x, dy in dy * Self.derivative(op, x) }, dx, "unaryBackward")
    }

    public func reduceSum(_ x: DeviceBuffer, out: DeviceBuffer, outer: Int, reduced: Int, inner: Int) throws {
        try BufferChecks.requirePositive(["outer": outer, "reduced": reduced, "inner": inner], in: "reduceSum")
        let xs = try floats(x, outer * reduced * inner, "reduceSum")
        try BufferChecks.require(out, holds: outer * inner, in: "reduceSum")
        var result = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var sum: Float = 0
                for r in 0..<reduced { sum += xs[(o * reduced + r) * inner + i] }
                result[o * inner + i] = sum
            }
        }
        try store(result, out, "reduceSum")
    }

    public func sumOfSquares(_ x: DeviceBuffer, count: Int, out: DeviceBuffer) throws {
        try BufferChecks.requirePositive(["count": count], in: "sumOfSquares")
        let xs = try floats(x, count, "sumOfSquares")
        try BufferChecks.require(out, holds: 1, in: "sumOfSquares")
        // Double keeps the oracle exact to float precision even for 10⁸ elements.
        let sum = xs.reduce(0.0) { $0 + Double($1) * Double($1) }
        try store([Float(sum)], out, "sumOfSquares")
    }

    public func dropout(_ x: DeviceBuffer, out: DeviceBuffer, count: Int, probability: Float, seed: UInt64) throws {
        try ElementwiseChecks.dropout(count: count, probability: probability)
        let xs = try floats(x, count, "dropout")
        try BufferChecks.require(out, holds: count, in: "dropout")
        let scale = ElementwiseChecks.dropoutScale(probability)
        let result = xs.indices.map { i in
            DropoutMask.uniform(seed: seed, index: UInt32(truncatingIfNeeded: i)) >= probability ? xs[i] * scale : 0
        }
        try store(result, out, "dropout")
    }

    // MARK: The element functions

    /// a ∘ b for one pair of elements.
    static func apply(_ op: BinaryOp, _ a: Float, _ b: Float) -> Float {
        switch op {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        // A NaN in either operand gives NaN (IEEE 754-2019 maximum/minimum, as torch.maximum);
        // Swift's max/min alone would drop a NaN in b.
        case .maximum: return a.isNaN || b.isNaN ? a + b : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? a + b : Swift.min(a, b)
        case .greaterOrEqual: return a >= b ? 1 : 0
        }
    }

    /// f(x) for one element.
    static func apply(_ op: UnaryOp, _ x: Float) -> Float {
        switch op {
        case .negate: return -x
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return sigmoid(x)
        case .logSigmoid: return Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-abs(x)))
        case .gelu: return 0.5 * x * (1 + Foundation.tanh(geluInner(x)))
        case .silu: return x * sigmoid(x)
        case .relu: return Swift.max(x, 0)
        case .scale(let s): return x * s
        case .addScalar(let c): return x + c
        case .clamp(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .square: return x * x
        }
    }

    /// f′(x) for one element.
    static func derivative(_ op: UnaryOp, _ x: Float) -> Float {
        switch op {
        case .negate: return -1
        case .exp: return Foundation.exp(x)
        case .log: return 1 / x
        case .sqrt: return 0.5 / x.squareRoot()
        case .tanh:
            let t = Foundation.tanh(x)
            return 1 - t * t
        case .sigmoid:
            let s = sigmoid(x)
            return s * (1 - s)
        case .logSigmoid: return sigmoid(-x)
        case .gelu:
            let t = Foundation.tanh(geluInner(x))
            let innerSlope = geluScale * (1 + 3 * geluCubic * x * x)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * innerSlope
        case .silu:
            let s = sigmoid(x)
            return s * (1 + x * (1 - s))
        case .relu: return x > 0 ? 1 : 0
        case .scale(let s): return s
        case .addScalar: return 1
        case .clamp(let lo, let hi): return x >= lo && x <= hi ? 1 : 0
        case .square: return 2 * x
        }
    }

    /// √(2/π) and the cubic coefficient of GELU's tanh form.
    static let geluScale: Float = 0.797_884_560_802_865_4
    static let geluCubic: Float = 0.044_715

    /// √(2/π)·(x + 0.044715·x³), the argument of GELU's tanh.
    static func geluInner(_ x: Float) -> Float { geluScale * (x + geluCubic * x * x * x) }

    /// σ(x) without overflow for large |x|.
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }
}
