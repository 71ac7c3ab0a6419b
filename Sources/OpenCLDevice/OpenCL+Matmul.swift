import Core

extension OpenCLDevice {
    public func matmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        throw DeviceError.invalidArgument(operation: "matmul", message: "STUB not implemented yet")
    }

}
