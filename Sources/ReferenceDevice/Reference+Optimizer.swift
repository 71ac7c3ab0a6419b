import Core

extension ReferenceDevice {
    public func adamW(
        parameters: DeviceBuffer, gradients: DeviceBuffer, firstMoment: DeviceBuffer, secondMoment: DeviceBuffer,
        count: Int, decayCount: Int, step: AdamWStep) throws {
        throw DeviceError.invalidArgument(operation: "adamW", message: "STUB not implemented yet")
    }

}
