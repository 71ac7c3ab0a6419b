import Core

extension ReferenceDevice {
    public func embedding(table: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, count: Int, dimension: Int) throws {
        throw DeviceError.invalidArgument(operation: "embedding", message: "STUB not implemented yet")
    }

    public func embeddingBackward(
        ids: DeviceBuffer, dOut: DeviceBuffer, dTable: DeviceBuffer, count: Int, dimension: Int, rows: Int) throws {
        throw DeviceError.invalidArgument(operation: "embeddingBackward", message: "STUB not implemented yet")
    }

    public func rope(
        _ x: DeviceBuffer, out: DeviceBuffer, positions: DeviceBuffer, invFrequencies: DeviceBuffer,
        tokens: Int, heads: Int, headDim: Int, inverse: Bool) throws {
        throw DeviceError.invalidArgument(operation: "rope", message: "STUB not implemented yet")
    }

}
