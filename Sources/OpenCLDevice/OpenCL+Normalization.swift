import Core

extension OpenCLDevice {
    public func layerNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, bias: DeviceBuffer, out: DeviceBuffer,
        mean: DeviceBuffer, rstd: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) throws {
        throw DeviceError.invalidArgument(operation: "layerNorm", message: "STUB not implemented yet")
    }

    public func layerNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, mean: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, dBias: DeviceBuffer, rows: Int, columns: Int) throws {
        throw DeviceError.invalidArgument(operation: "layerNormBackward", message: "STUB not implemented yet")
    }

    public func rmsNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, out: DeviceBuffer, rstd: DeviceBuffer,
        rows: Int, columns: Int, epsilon: Float) throws {
        throw DeviceError.invalidArgument(operation: "rmsNorm", message: "STUB not implemented yet")
    }

    public func rmsNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, rows: Int, columns: Int) throws {
        throw DeviceError.invalidArgument(operation: "rmsNormBackward", message: "STUB not implemented yet")
    }

}
