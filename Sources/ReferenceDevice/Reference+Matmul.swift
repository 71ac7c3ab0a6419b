import Core

extension ReferenceDevice {
    /// C = α·op(A)·op(B) + β·C, one batch item after another, one dot product per element, k in
    /// increasing order. When β = 0, C is not read (as in BLAS). Kernels/matmul.cl computes the
    /// same with other summation orders.
    public func matmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        try shape.validate(a: a, b: b, c: c)
        let operation = shape.operationName
        let counts = shape.requiredCounts
        let aValues = try floats(a, counts.a, operation)
        let bValues = try floats(b, counts.b, operation)
        var cValues = try floats(c, counts.c, operation)
        let (m, n, k) = (shape.m, shape.n, shape.k)
        for item in 0..<shape.batch {
            let aStart = item * shape.strideA
            let bStart = item * shape.strideB
            let cStart = item * shape.strideC
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k {
                        let x = shape.transposeA ? aValues[aStart + p * m + i] : aValues[aStart + i * k + p]
                        let y = shape.transposeB ? bValues[bStart + j * k + p] : bValues[bStart + p * n + j]
                        sum += x * y
                    }
                    let index = cStart + i * n + j
                    cValues[index] =
                        shape.beta == 0 ? shape.alpha * sum : shape.alpha * sum + shape.beta * cValues[index]
                }
            }
        }
        try store(cValues, c, operation)
    }
}
