import Core

extension OpenCLDevice {
    public func softmax(_ x: DeviceBuffer, out: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws {
        throw DeviceError.invalidArgument(operation: "softmax", message: "STUB not implemented yet")
    }

    public func softmaxBackward(y: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws {
        throw DeviceError.invalidArgument(operation: "softmaxBackward", message: "STUB not implemented yet")
    }

    public func crossEntropy(
        logits: DeviceBuffer, targets: DeviceBuffer, losses: DeviceBuffer, logSumExp: DeviceBuffer,
        rows: Int, columns: Int, ignoreIndex: Int32) throws {
        throw DeviceError.invalidArgument(operation: "crossEntropy", message: "STUB not implemented yet")
    }

    public func crossEntropyBackward(
        logits: DeviceBuffer, targets: DeviceBuffer, logSumExp: DeviceBuffer, dLosses: DeviceBuffer,
        dLogits: DeviceBuffer, rows: Int, columns: Int, ignoreIndex: Int32) throws {
        throw DeviceError.invalidArgument(operation: "crossEntropyBackward", message: "STUB not implemented yet")
    }

}
