import Core

extension ReferenceDevice {
    public func matmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        throw DeviceError.invalidArgument(operation: "matmul", message: "STUB not implemented yet")
    }

}
