import COpenCL
import Core

extension OpenCLDevice {
    /// C = α·op(A)·op(B) + β·C (see `MatmulShape`), by `Kernels/matmul.cl` in the design and
    /// tile sizes of this device's `tuning`.
    public func matmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        try shape.validate(a: a, b: b, c: c)
        let counts = shape.requiredCounts
        try requireInt32Indexing([counts.a, counts.b, counts.c], shape.operationName)
        // With a C stride of 0 the items add into one C in turn, so each item is its own launch
        // (the queue runs them in order); otherwise one launch covers the whole batch.
        let launches =
            shape.batch > 1 && shape.strideC == 0
            ? (0..<shape.batch).map { (first: $0, count: 1) } : [(first: 0, count: shape.batch)]
        switch tuning.matmulDesign {
        case .packed: try packedMatmul(shape, a: a, b: b, c: c, launches: launches)
        case .tiled: try tiledMatmul(shape, a: a, b: b, c: c, launches: launches)
        }
    }

    /// The CPU design: pack α·A into row panels (once for the whole batch), then the packed kernel.
    private func packedMatmul(
        _ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, launches: [(first: Int, count: Int)]
    ) throws {
        let operation = shape.operationName
        let tuning = self.tuning.matmul
        let defines = tuning.defines
        let panels = tuning.panels(rows: shape.m)
        let packedItems = shape.strideA == 0 ? 1 : shape.batch
        let packedStride = shape.strideA == 0 ? 0 : panels * tuning.mr * shape.k
        let packedCount = packedItems * panels * tuning.mr * shape.k
        try requireInt32Indexing([packedCount], operation)
        let packed = try matmulScratch(count: packedCount, operation: operation)
        // One pack work-item per 8 values of k (see matmul_pack_a).
        let packGroup = 16
        try launch(
            "matmul", "matmul_pack_a", defines: defines,
            global: [roundUp((shape.k + 7) / 8, toMultipleOf: packGroup), panels, packedItems],
            local: [packGroup, 1, 1],
            arguments: [
                .buffer(a), .int(shape.strideA), .int(shape.transposeA ? 1 : 0),
                .int(shape.m), .int(shape.k), .float(shape.alpha), .buffer(packed),
            ],
            operation: operation)
        let plan = tuning.packedPlan(m: shape.m, n: shape.n, items: launches[0].count, cores: info.computeUnits)
        for (first, count) in launches {
            try launch(
                "matmul", "matmul_packed", defines: defines,
                global: [plan.columnBlocks, plan.rowBlocks, count], local: [1, 1, 1],
                arguments: [
                    .buffer(packed), .int(packedStride),
                    .buffer(b), .int(shape.strideB), .int(shape.transposeB ? 1 : 0),
                    .buffer(c), .int(shape.strideC),
                    .int(shape.m), .int(shape.n), .int(shape.k), .float(shape.beta),
                    .int(first), .int(plan.columnsPerItem), .int(plan.strip), .int(plan.panelsPerItem),
                ],
                operation: operation)
        }
    }

    /// The GPU design: one work-group per tile of C.
    private func tiledMatmul(
        _ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, launches: [(first: Int, count: Int)]
    ) throws {
        let tuning = self.tuning.matmul
        let local = tuning.tiledLocal
        for (first, count) in launches {
            try launch(
                "matmul", "matmul_tiled", defines: tuning.defines,
                global: [
                    roundUp(shape.n, toMultipleOf: tuning.tileN) / tuning.workPerItemN,
                    roundUp(shape.m, toMultipleOf: tuning.tileM) / tuning.workPerItemM, count,
                ],
                local: local,
                arguments: [
                    .buffer(a), .int(shape.strideA), .int(shape.transposeA ? 1 : 0),
                    .buffer(b), .int(shape.strideB), .int(shape.transposeB ? 1 : 0),
                    .buffer(c), .int(shape.strideC),
                    .int(shape.m), .int(shape.n), .int(shape.k), .float(shape.alpha), .float(shape.beta),
                    .int(first),
                ],
                operation: shape.operationName)
        }
    }

    /// The kernels take sizes, strides and offsets as 32-bit `int`s.
    private func requireInt32Indexing(_ counts: [Int], _ operation: String) throws {
        guard let largest = counts.max(), largest > Int(Int32.max) else { return }
        throw DeviceError.invalidArgument(
            operation: operation, message: "operands of \(largest) elements exceed the kernels' 32-bit indexing")
    }

    /// The packing scratch buffer, at least `count` floats: made through `makeBuffer` (so it counts
    /// in `memoryInUse`) and kept for later calls. The queue is in order, so a later call cannot
    /// overwrite it while an earlier kernel still reads it.
    private func matmulScratch(count: Int, operation: String) throws -> DeviceBuffer {
        let state = MatmulState.of(self)
        if let scratch = state.scratch, scratch.count >= count { return scratch }
        state.scratch = nil  // return the old bytes before asking for more
        let buffer = try own(makeBuffer(count: count, dtype: .float32, label: "matmul packing scratch"), operation)
        state.scratch = buffer
        return buffer
    }
}
