import Core

extension OpenCLDevice {
    public func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) throws {
        throw DeviceError.invalidArgument(operation: "fill", message: "STUB not implemented yet")
    }

    public func copy2D(
        from source: DeviceBuffer, sourceOffset: Int, sourceRowStride: Int,
        to destination: DeviceBuffer, destinationOffset: Int, destinationRowStride: Int,
        rows: Int, columns: Int, accumulate: Bool) throws {
        throw DeviceError.invalidArgument(operation: "copy2D", message: "STUB not implemented yet")
    }

    public func binary(_ op: BinaryOp, _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape) throws {
        throw DeviceError.invalidArgument(operation: "binary", message: "STUB not implemented yet")
    }

    public func unary(_ op: UnaryOp, _ x: DeviceBuffer, out: DeviceBuffer, count: Int) throws {
        throw DeviceError.invalidArgument(operation: "unary", message: "STUB not implemented yet")
    }

    public func unaryBackward(_ op: UnaryOp, x: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, count: Int) throws {
        throw DeviceError.invalidArgument(operation: "unaryBackward", message: "STUB not implemented yet")
    }

    public func reduceSum(_ x: DeviceBuffer, out: DeviceBuffer, outer: Int, reduced: Int, inner: Int) throws {
        throw DeviceError.invalidArgument(operation: "reduceSum", message: "STUB not implemented yet")
    }

    public func sumOfSquares(_ x: DeviceBuffer, count: Int, out: DeviceBuffer) throws {
        throw DeviceError.invalidArgument(operation: "sumOfSquares", message: "STUB not implemented yet")
    }

    public func dropout(_ x: DeviceBuffer, out: DeviceBuffer, count: Int, probability: Float, seed: UInt64) throws {
        throw DeviceError.invalidArgument(operation: "dropout", message: "STUB not implemented yet")
    }

}
