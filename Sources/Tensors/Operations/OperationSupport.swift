import Core

/// Small pieces every operation uses: output allocation, operand checks, row views.
extension Tensor {
    /// A fresh (zeroed) tensor for the result of `operation` on `device`.
    static func output(_ device: Device, _ shape: [Int], _ operation: String) throws -> Tensor {
        let buffer = try device.makeBuffer(count: shape.reduce(1, *), dtype: .float32, label: operation)
        return Tensor(unchecked: device, shape: shape, buffer: buffer)
    }

    /// Throws unless every operand lives on this tensor's device.
    func requireSameDevice(_ others: [Tensor], _ operation: String) throws {
        for other in others where other.device !== device {
            throw DeviceError.invalidArgument(
                operation: operation,
                message: "'\(other.label)' is on \(other.device.name), '\(label)' on \(device.name)")
        }
    }

    /// Throws unless `other` lives on this tensor's device.
    func requireSameDevice(_ other: IntTensor, _ operation: String) throws {
        guard other.device === device else {
            throw DeviceError.invalidArgument(
                operation: operation,
                message: "'\(other.buffer.label)' is on \(other.device.name), '\(label)' on \(device.name)")
        }
    }

    /// Throws unless the tensor has at least `minimum` dimensions.
    func requireRank(atLeast minimum: Int, _ operation: String) throws {
        guard rank >= minimum else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "'\(label)' has shape \(shape); needs at least \(minimum) dimensions")
        }
    }

    /// The tensor seen as a matrix of rows along its last axis: [count / last, last].
    var rowsAndColumns: (rows: Int, columns: Int) {
        let columns = shape.last ?? 1
        return (count / columns, columns)
    }

    /// The shape with the last dimension replaced by `last`.
    func shapeWithLast(_ last: Int) -> [Int] {
        shape.isEmpty ? [last] : Array(shape.dropLast()) + [last]
    }
}
