/// A batched matrix product C = α·op(A)·op(B) + β·C, all row-major.
///
/// Per batch item, op(A) is m×k and op(B) is k×n: A is stored [m, k] (or [k, m] when
/// `transposeA`), B is stored [k, n] (or [n, k] when `transposeB`), C is [m, n]. Batch item `i`
/// starts at `i·strideA` in A (likewise B, C); a stride of 0 reuses one matrix for every item
/// (a weight shared by a batch).
public struct MatmulShape: Sendable, Equatable {
    public var batch: Int
    public var m: Int
    public var n: Int
    public var k: Int
    public var transposeA: Bool
    public var transposeB: Bool
    public var strideA: Int
    public var strideB: Int
    public var strideC: Int
    public var alpha: Float
    public var beta: Float

    /// A product with contiguous batch items (stride 0 when `batch` is 1).
    public init(
        batch: Int = 1, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil, alpha: Float = 1, beta: Float = 0
    ) {
        self.batch = batch
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.strideA = strideA ?? (batch == 1 ? 0 : m * k)
        self.strideB = strideB ?? (batch == 1 ? 0 : k * n)
        self.strideC = strideC ?? (batch == 1 ? 0 : m * n)
        self.alpha = alpha
        self.beta = beta
    }

    /// Elements each operand must hold at least.
    public var requiredCounts: (a: Int, b: Int, c: Int) {
        ((batch - 1) * strideA + m * k, (batch - 1) * strideB + k * n, (batch - 1) * strideC + m * n)
    }

    /// Floating-point operations of the product (2·m·n·k per batch item).
    public var flops: Double { 2 * Double(batch) * Double(m) * Double(n) * Double(k) }
}
