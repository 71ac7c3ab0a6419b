import Core

/// Elementwise operations and reductions on `Kernels/elementwise.cl` and `Kernels/activations.cl`.
extension OpenCLDevice {
    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) throws {
        try ElementwiseChecks.fill(buffer, offset: offset, count: count)
        try ElementwiseLaunch.requireIndexable(offset + count, "fill")
        try launchElementwise(
            "elementwise", "fill", count: count,
            arguments: [.buffer(buffer), .int(offset), .int(count), .float(value)], operation: "fill")
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
        try ElementwiseLaunch.requireIndexable(source.count, "copy2D")
        try ElementwiseLaunch.requireIndexable(destination.count, "copy2D")
        let grid = ElementwiseLaunch.grid(columns: (columns + 3) / 4, rows: rows, local: elementwiseLocalSize)
        try launch(
            "elementwise", "copy_2d", defines: elementwiseDefines, global: grid.global, local: grid.local,
            arguments: [
                .buffer(source), .int(sourceOffset), .int(sourceRowStride),
                .buffer(destination), .int(destinationOffset), .int(destinationRowStride),
                .int(rows), .int(columns), .int(accumulate ? 1 : 0),
            ],
            operation: "copy2D")
    }

    public func binary(_ op: BinaryOp, _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape)
        throws
    {
        let spans = try ElementwiseChecks.binary(a, b, out: out, shape: shape)
        try ElementwiseLaunch.requireIndexable(max(spans.a, spans.b, shape.count), "binary")
        guard shape.count > 0 else { return }
        let merged = ElementwiseLaunch.merged(shape)
        let d = merged.dims
        let sa = merged.aStrides
        let sb = merged.bStrides
        let defines = elementwiseDefines.merging(["BINARY_OP": "\(op.rawValue)"]) { $1 }
        let operands: [KernelArgument] = [.buffer(a), .buffer(b), .buffer(out), .int(Int(op.rawValue))]
        if d[0] == 1, d[1] == 1 {
            // Rank ≤ 2 after merging (same shapes, scalars, biases): no index divisions.
            let grid = ElementwiseLaunch.grid(columns: (d[3] + 3) / 4, rows: d[2], local: elementwiseLocalSize)
            try launch(
                "elementwise", "binary_rows", defines: defines, global: grid.global, local: grid.local,
                arguments: operands + [d[2], d[3], sa[2], sa[3], sb[2], sb[3]].map { .int($0) },
                operation: "binary")
        } else {
            let rows = d[0] * d[1] * d[2]
            let grid = ElementwiseLaunch.grid(columns: (d[3] + 3) / 4, rows: rows, local: elementwiseLocalSize)
            try launch(
                "elementwise", "binary", defines: defines, global: grid.global, local: grid.local,
                arguments: operands + ([rows, d[1], d[2], d[3]] + sa + sb).map { .int($0) },
                operation: "binary")
        }
    }

    public func unary(_ op: UnaryOp, _ x: DeviceBuffer, out: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unary")
        try BufferChecks.require(x, holds: count, in: "unary")
        try BufferChecks.require(out, holds: count, in: "unary")
        try ElementwiseLaunch.requireIndexable(count, "unary")
        let code = op.code
        try launchElementwise(
            "activations", "unary", count: count, defines: ["UNARY_OP": "\(code.op)"],
            arguments: [.buffer(x), .buffer(out), .int(count), .int(Int(code.op)), .float(code.p0), .float(code.p1)],
            operation: "unary")
    }

    public func unaryBackward(_ op: UnaryOp, x: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unaryBackward")
        for buffer in [x, dy, dx] { try BufferChecks.require(buffer, holds: count, in: "unaryBackward") }
        try ElementwiseLaunch.requireIndexable(count, "unaryBackward")
        let code = op.code
        try launchElementwise(
            "activations", "unary_backward", count: count, defines: ["UNARY_OP": "\(code.op)"],
            arguments: [
                .buffer(x), .buffer(dy), .buffer(dx), .int(count), .int(Int(code.op)), .float(code.p0), .float(code.p1),
            ],
            operation: "unaryBackward")
    }

    public func reduceSum(_ x: DeviceBuffer, out: DeviceBuffer, outer: Int, reduced: Int, inner: Int) throws {
        try BufferChecks.requirePositive(["outer": outer, "reduced": reduced, "inner": inner], in: "reduceSum")
        try BufferChecks.require(x, holds: outer * reduced * inner, in: "reduceSum")
        try BufferChecks.require(out, holds: outer * inner, in: "reduceSum")
        try ElementwiseLaunch.requireIndexable(outer * reduced * inner, "reduceSum")
        let local = elementwiseLocalSize
        // Whole rows per work-item where rows are contiguous and plenty (CPUs stream them best);
        // otherwise passes over segments of REDUCE_SEGMENT rows, which parallelize any shape.
        if tuning.elementwise.contiguousRuns, inner == 1, outer >= 4 * local {
            try launch(
                "elementwise", "reduce_sum_rows", defines: elementwiseDefines,
                global: [roundUp(outer, toMultipleOf: local)], local: [local],
                arguments: [.buffer(x), .buffer(out), .int(outer), .int(reduced)], operation: "reduceSum")
            return
        }
        var source = x
        var length = reduced
        while true {
            let segments = (length + tuning.elementwise.reduceSegment - 1) / tuning.elementwise.reduceSegment
            // OpenCL keeps each scratch buffer alive until the queued kernels that use it have finished.
            let target =
                segments == 1
                ? out : try makeBuffer(count: outer * segments * inner, dtype: .float32, label: "reduceSum partials")
            let grid = ElementwiseLaunch.grid(columns: (inner + 3) / 4, rows: outer * segments, local: local)
            try launch(
                "elementwise", "reduce_sum_segments", defines: elementwiseDefines, global: grid.global,
                local: grid.local,
                arguments: [.buffer(source), .buffer(target), .int(outer), .int(length), .int(inner)],
                operation: "reduceSum")
            if segments == 1 { return }
            source = target
            length = segments
        }
    }

    public func sumOfSquares(_ x: DeviceBuffer, count: Int, out: DeviceBuffer) throws {
        try BufferChecks.requirePositive(["count": count], in: "sumOfSquares")
        try BufferChecks.require(x, holds: count, in: "sumOfSquares")
        try BufferChecks.require(out, holds: 1, in: "sumOfSquares")
        try ElementwiseLaunch.requireIndexable(count, "sumOfSquares")
        let local = elementwiseLocalSize
        let chunks = (count + 3) / 4
        // CPUs: a few groups of contiguous runs (SOS_CONTIGUOUS); GPUs: one group per tile.
        let tileChunks = local * tuning.elementwise.squaresChunks
        let groups =
            tuning.elementwise.contiguousRuns
            ? min(16, (chunks + local - 1) / local) : (chunks + tileChunks - 1) / tileChunks
        // OpenCL keeps the scratch alive until the queued kernels that use it have finished.
        let partials = try makeBuffer(count: groups, dtype: .float32, label: "sumOfSquares partials")
        try launch(
            "elementwise", "sum_of_squares_partials", defines: elementwiseDefines, global: [groups * local],
            local: [local],
            arguments: [.buffer(x), .int(count), .buffer(partials)], operation: "sumOfSquares")
        try launch(
            "elementwise", "sum_of_squares_final", defines: elementwiseDefines, global: [local], local: [local],
            arguments: [.buffer(partials), .int(groups), .buffer(out)], operation: "sumOfSquares")
    }

    public func dropout(_ x: DeviceBuffer, out: DeviceBuffer, count: Int, probability: Float, seed: UInt64) throws {
        try ElementwiseChecks.dropout(count: count, probability: probability)
        try BufferChecks.require(x, holds: count, in: "dropout")
        try BufferChecks.require(out, holds: count, in: "dropout")
        try ElementwiseLaunch.requireIndexable(count, "dropout")
        try launchElementwise(
            "activations", "dropout", count: count,
            arguments: [
                .buffer(x), .buffer(out), .int(count), .float(probability),
                .float(ElementwiseChecks.dropoutScale(probability)),
                .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
            ],
            operation: "dropout")
    }

    /// Copies `count` floats with the plainest kernel there is (`copy_floats`): the yardstick
    /// against which benchmarks judge the memory-bound kernels. Queued like any operation.
    public func copyBandwidthKernel(from source: DeviceBuffer, to destination: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "copyBandwidthKernel")
        try BufferChecks.require(source, holds: count, in: "copyBandwidthKernel")
        try BufferChecks.require(destination, holds: count, in: "copyBandwidthKernel")
        try ElementwiseLaunch.requireIndexable(count, "copyBandwidthKernel")
        try launchElementwise(
            "elementwise", "copy_floats", count: count,
            arguments: [.buffer(source), .buffer(destination), .int(count)], operation: "copyBandwidthKernel")
    }

    // MARK: Launch shapes of the elementwise, activation and embedding families

    /// Work-items per group for these families (`tuning.elementwise`).
    var elementwiseLocalSize: Int { tuning.elementwise.localSize }

    /// The `-D` tunables of `elementwise.cl` and `activations.cl` for this device.
    var elementwiseDefines: [String: String] { tuning.elementwise.defines }

    /// Launches a one-dimensional kernel with one work-item per float4 chunk of `count` elements.
    /// `defines` add to `elementwiseDefines`.
    func launchElementwise(
        _ family: String, _ kernel: String, count: Int, defines: [String: String] = [:],
        arguments: [KernelArgument], operation: String
    ) throws {
        let local = elementwiseLocalSize
        try launch(
            family, kernel, defines: elementwiseDefines.merging(defines) { $1 },
            global: [roundUp((count + 3) / 4, toMultipleOf: local)], local: [local],
            arguments: arguments, operation: operation)
    }
}

/// Launch geometry shared by the elementwise, activation and embedding kernels.
enum ElementwiseLaunch {
    /// Throws unless `value` elements fit the kernels' 32-bit `int` indices (with room for
    /// index arithmetic such as 4·chunk past the end).
    static func requireIndexable(_ value: Int, _ operation: String) throws {
        guard value <= 1 << 30 else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "\(value) elements exceed the kernels' 32-bit indices")
        }
    }

    /// A 2D launch over `columns` work-items per row and `rows` rows, `local` (256) work-items
    /// per group: the group is the widest of a few fixed widths that wastes at most an eighth
    /// of a row (768 columns: 256 wide; 192: 192 wide), one row high when 64 or wider since
    /// PoCL runs flat groups fastest, else as tall as fills `local`. Few distinct shapes keep
    /// PoCL's per-shape kernel compilations few.
    static func grid(columns: Int, rows: Int, local: Int) -> (global: [Int], local: [Int]) {
        let columns = max(columns, 1)
        let rows = max(rows, 1)
        let widths = [local, 192, 128, 64, 32, 16, 8, 4, 2, 1].filter { $0 <= local }
        let width = widths.first { roundUp(columns, toMultipleOf: $0) - columns <= columns / 8 } ?? 1
        let height = width >= 64 ? 1 : local / width
        return ([roundUp(columns, toMultipleOf: width), roundUp(rows, toMultipleOf: height)], [width, height])
    }

    /// `shape` with size-1 dimensions dropped and neighbours merged wherever a, b and the
    /// (contiguous) output all step through them as one, padded back to rank 4: same-shape
    /// and scalar operands become one long row, a bias over rows stays [rows, columns].
    static func merged(_ shape: BroadcastShape) -> BroadcastShape {
        var dims = [Int]()
        var a = [Int]()
        var b = [Int]()
        for k in 0..<4 where shape.dims[k] != 1 {
            let (d, sa, sb) = (shape.dims[k], shape.aStrides[k], shape.bStrides[k])
            if let last = dims.indices.last, a[last] == d * sa, b[last] == d * sb {
                dims[last] *= d
                a[last] = sa
                b[last] = sb
            } else {
                dims.append(d)
                a.append(sa)
                b.append(sb)
            }
        }
        let pad = 4 - dims.count
        return BroadcastShape(
            dims: Array(repeating: 1, count: pad) + dims,
            aStrides: Array(repeating: 0, count: pad) + a,
            bStrides: Array(repeating: 0, count: pad) + b)
    }
}
