import Core

extension ReferenceDevice {
    public func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer) throws {
        throw DeviceError.invalidArgument(operation: "attention", message: "STUB not implemented yet")
    }

    public func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer) throws {
        throw DeviceError.invalidArgument(operation: "attentionBackward", message: "STUB not implemented yet")
    }

}
