/// Elementwise operations on two operands (with broadcasting, see `BroadcastShape`).
public enum BinaryOp: Int32, Sendable, CaseIterable {
    case add = 0
    case subtract = 1
    case multiply = 2
    case divide = 3
    case maximum = 4
    case minimum = 5
    /// 1 where a ≥ b, else 0: the mask that routes the gradient of `maximum`/`minimum`.
    case greaterOrEqual = 6
}

/// Elementwise operations on one operand. Parameters travel with the case.
public enum UnaryOp: Sendable, Equatable {
    case negate
    case exp
    case log
    case sqrt
    case tanh
    case sigmoid
    /// log σ(x), computed stably as min(x, 0) − log1p(exp(−|x|)).
    case logSigmoid
    /// GELU, tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    case gelu
    /// SiLU: x·σ(x).
    case silu
    case relu
    /// x·s
    case scale(Float)
    /// x + c
    case addScalar(Float)
    /// min(max(x, lo), hi); the gradient is 1 inside [lo, hi] and 0 outside.
    case clamp(Float, Float)
    /// x²
    case square

    /// The operation's number in the kernels' `switch`, and its two parameters.
    public var code: (op: Int32, p0: Float, p1: Float) {
        switch self {
        case .negate: return (0, 0, 0)
        case .exp: return (1, 0, 0)
        case .log: return (2, 0, 0)
        case .sqrt: return (3, 0, 0)
        case .tanh: return (4, 0, 0)
        case .sigmoid: return (5, 0, 0)
        case .logSigmoid: return (6, 0, 0)
        case .gelu: return (7, 0, 0)
        case .silu: return (8, 0, 0)
        case .relu: return (9, 0, 0)
        case .scale(let s): return (10, s, 0)
        case .addScalar(let c): return (11, c, 0)
        case .clamp(let lo, let hi): return (12, lo, hi)
        case .square: return (13, 0, 0)
        }
    }
}

/// How two operands broadcast to one output of rank ≤ 4.
///
/// `dims` is the output shape padded on the left with 1s to rank 4; `aStrides`/`bStrides` give,
/// per output dimension, the element stride in that operand (0 where it is broadcast). The
/// output itself is contiguous.
public struct BroadcastShape: Sendable, Equatable {
    public var dims: [Int]
    public var aStrides: [Int]
    public var bStrides: [Int]

    public init(dims: [Int], aStrides: [Int], bStrides: [Int]) {
        self.dims = dims
        self.aStrides = aStrides
        self.bStrides = bStrides
    }

    /// Number of output elements.
    public var count: Int { dims.reduce(1, *) }

    /// NumPy broadcasting of shapes `a` and `b` (rank ≤ 4 each), or `nil` when they do not broadcast.
    public static func broadcasting(_ a: [Int], _ b: [Int]) -> (shape: [Int], layout: BroadcastShape)? {
        guard a.count <= 4, b.count <= 4 else { return nil }
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out = [Int]()
        for (x, y) in zip(pa, pb) {
            guard x == y || x == 1 || y == 1 else { return nil }
            out.append(x == 1 ? y : x)
        }
        func strides(_ s: [Int]) -> [Int] {
            var result = Array(repeating: 0, count: rank)
            var step = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                result[i] = s[i] == 1 && out[i] != 1 ? 0 : step
                step *= s[i]
            }
            return result
        }
        let pad = 4 - rank
        let layout = BroadcastShape(
            dims: Array(repeating: 1, count: pad) + out,
            aStrides: Array(repeating: 0, count: pad) + strides(pa),
            bStrides: Array(repeating: 0, count: pad) + strides(pb))
        return (out, layout)
    }
}
