import Core

/// Elementwise operations and reductions on `Kernels/elementwise.cl` and `Kernels/activations.cl`.
extension OpenCLDevice {
    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) throws {
        try ElementwiseChecks.fill(buffer, offset: offset, count: count)
        try ElementwiseLaunch.requireInt32(offset + count, "fill")
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
        try ElementwiseLaunch.requireInt32(source.count, "copy2D")
        try ElementwiseLaunch.requireInt32(destination.count, "copy2D")
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

    public func binary(_ op: BinaryOp, _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape) throws {
        let spans = try ElementwiseChecks.binary(a, b, out: out, shape: shape)
        try ElementwiseLaunch.requireInt32(max(spans.a, spans.b, shape.count), "binary")
        let merged = ElementwiseLaunch.merged(shape)
        let d = merged.dims, sa = merged.aStrides, sb = merged.bStrides
        let rows = d[0] * d[1] * d[2]
        let grid = ElementwiseLaunch.grid(columns: (d[3] + 3) / 4, rows: rows, local: elementwiseLocalSize)
        try launch(
            "elementwise", "binary", defines: elementwiseDefines, global: grid.global, local: grid.local,
            arguments: [.buffer(a), .buffer(b), .buffer(out), .int(Int(op.rawValue)), .int(rows), .int(d[1]), .int(d[2]), .int(d[3])]
                + (sa + sb).map { .int($0) },
            operation: "binary")
    }

    public func unary(_ op: UnaryOp, _ x: DeviceBuffer, out: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unary")
        try BufferChecks.require(x, holds: count, in: "unary")
        try BufferChecks.require(out, holds: count, in: "unary")
        try ElementwiseLaunch.requireInt32(count, "unary")
        let code = op.code
        try launchElementwise(
            "activations", "unary", count: count,
            arguments: [.buffer(x), .buffer(out), .int(count), .int(Int(code.op)), .float(code.p0), .float(code.p1)],
            operation: "unary")
    }

    public func unaryBackward(_ op: UnaryOp, x: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, count: Int) throws {
        try ElementwiseChecks.requireCount(count, "unaryBackward")
        for buffer in [x, dy, dx] { try BufferChecks.require(buffer, holds: count, in: "unaryBackward") }
        try ElementwiseLaunch.requireInt32(count, "unaryBackward")
        let code = op.code
        try launchElementwise(
            "activations", "unary_backward", count: count,
            arguments: [
                .buffer(x), .buffer(dy), .buffer(dx), .int(count), .int(Int(code.op)), .float(code.p0), .float(code.p1),
            ],
            operation: "unaryBackward")
    }

    public func reduceSum(_ x: DeviceBuffer, out: DeviceBuffer, outer: Int, reduced: Int, inner: Int) throws {
        try BufferChecks.requirePositive(["outer": outer, "reduced": reduced, "inner": inner], in: "reduceSum")
        try BufferChecks.require(x, holds: outer * reduced * inner, in: "reduceSum")
        try BufferChecks.require(out, holds: outer * inner, in: "reduceSum")
        try ElementwiseLaunch.requireInt32(outer * reduced * inner, "reduceSum")
        let arguments: [KernelArgument] = [.buffer(x), .buffer(out), .int(outer), .int(reduced), .int(inner)]
        // A work-group per output when each output is a long sum and there are too few
        // outputs (or too narrow rows) for one work-item per output to fill the device.
        let outputs = outer * inner
        let minimumOutputs = isCPU ? 256 : 8192
        if reduced >= 64, inner < 16 || outputs < minimumOutputs {
            let local = elementwiseLocalSize
            try launch(
                "elementwise", "reduce_sum_groups", defines: elementwiseDefines, global: [outputs * local], local: [local],
                arguments: arguments, operation: "reduceSum")
        } else {
            let grid = ElementwiseLaunch.grid(columns: inner, rows: outer, local: elementwiseLocalSize)
            try launch(
                "elementwise", "reduce_sum_columns", defines: elementwiseDefines, global: grid.global, local: grid.local,
                arguments: arguments, operation: "reduceSum")
        }
    }

    public func sumOfSquares(_ x: DeviceBuffer, count: Int, out: DeviceBuffer) throws {
        try BufferChecks.requirePositive(["count": count], in: "sumOfSquares")
        try BufferChecks.require(x, holds: count, in: "sumOfSquares")
        try BufferChecks.require(out, holds: 1, in: "sumOfSquares")
        try ElementwiseLaunch.requireInt32(count, "sumOfSquares")
        let local = elementwiseLocalSize
        let groups = (count + 4 * local * ElementwiseLaunch.squaresChunks - 1) / (4 * local * ElementwiseLaunch.squaresChunks)
        // OpenCL keeps the scratch alive until the queued kernels that use it have finished.
        let partials = try makeBuffer(count: groups, dtype: .float32, label: "sumOfSquares partials")
        try launch(
            "elementwise", "sum_of_squares_partials", defines: elementwiseDefines, global: [groups * local], local: [local],
            arguments: [.buffer(x), .int(count), .buffer(partials)], operation: "sumOfSquares")
        try launch(
            "elementwise", "sum_of_squares_final", defines: elementwiseDefines, global: [local], local: [local],
            arguments: [.buffer(partials), .int(groups), .buffer(out)], operation: "sumOfSquares")
    }

    public func dropout(_ x: DeviceBuffer, out: DeviceBuffer, count: Int, probability: Float, seed: UInt64) throws {
        try ElementwiseChecks.dropout(count: count, probability: probability)
        try BufferChecks.require(x, holds: count, in: "dropout")
        try BufferChecks.require(out, holds: count, in: "dropout")
        try ElementwiseLaunch.requireInt32(count, "dropout")
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
        try ElementwiseLaunch.requireInt32(count, "copyBandwidthKernel")
        try launchElementwise(
            "elementwise", "copy_floats", count: count,
            arguments: [.buffer(source), .buffer(destination), .int(count)], operation: "copyBandwidthKernel")
    }

    // MARK: Launch shapes of the elementwise, activation and embedding families

    /// Work-items per group for these families: 256 vectorizes well on PoCL (one float4 each,
    /// so 4 KiB of floats per group) and is a good occupancy unit on GPUs.
    var elementwiseLocalSize: Int { 256 }

    /// The `-D` tunables of `elementwise.cl` and `activations.cl` for this device.
    var elementwiseDefines: [String: String] {
        ["LOCAL_SIZE": "\(elementwiseLocalSize)", "SOS_CHUNKS": "\(ElementwiseLaunch.squaresChunks)"]
    }

    /// Launches a one-dimensional kernel with one work-item per float4 chunk of `count` elements.
    func launchElementwise(
        _ family: String, _ kernel: String, count: Int, arguments: [KernelArgument], operation: String
    ) throws {
        let local = elementwiseLocalSize
        try launch(
            family, kernel, defines: elementwiseDefines, global: [roundUp((count + 3) / 4, toMultipleOf: local)],
            local: [local], arguments: arguments, operation: operation)
    }
}

/// Launch geometry shared by the elementwise, activation and embedding kernels.
enum ElementwiseLaunch {
    /// float4 chunks each work-item squares in `sum_of_squares_partials` (SOS_CHUNKS).
    static let squaresChunks = 16

    /// Throws unless `value` fits the kernels' 32-bit `int` indices.
    static func requireInt32(_ value: Int, _ operation: String) throws {
        guard value <= Int(Int32.max) else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "\(value) elements exceed the kernels' 32-bit indices")
        }
    }

    /// A 2D launch over `columns` work-items per row and `rows` rows with about `local`
    /// work-items per group: the group's width is the widest power of two that wastes at most
    /// an eighth of a row, and its height fills the rest (no taller than needed).
    static func grid(columns: Int, rows: Int, local: Int) -> (global: [Int], local: [Int]) {
        var width = local
        while width > 1, roundUp(columns, toMultipleOf: width) - columns > columns / 8 { width /= 2 }
        var height = max(1, local / width)
        while height > 1, height / 2 >= rows { height /= 2 }
        return ([roundUp(max(columns, 1), toMultipleOf: width), roundUp(max(rows, 1), toMultipleOf: height)], [width, height])
    }

    /// `shape` with size-1 dimensions dropped and neighbours merged wherever a, b and the
    /// (contiguous) output all step through them as one, padded back to rank 4: same-shape
    /// and scalar operands become one long row, a bias over rows stays [rows, columns].
    static func merged(_ shape: BroadcastShape) -> BroadcastShape {
        var dims = [Int](), a = [Int](), b = [Int]()
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
