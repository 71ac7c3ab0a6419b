/// The argument checks of `Device.attention`/`attentionBackward` shared by every device, so
/// that each rejects a bad call with the same words.
extension AttentionShape {
    /// Throws unless the sizes are positive, query heads are a multiple of key/value heads,
    /// segments come in pairs, and every mask buffer is int32 and large enough.
    public func validate(_ masks: AttentionMasks, operation: String) throws {
        try BufferChecks.requirePositive(
            [
                "batch": batch, "queryHeads": queryHeads, "keyValueHeads": keyValueHeads,
                "queryLength": queryLength, "keyLength": keyLength, "headDim": headDim,
            ],
            in: operation)
        guard queryHeads % keyValueHeads == 0 else {
            throw DeviceError.invalidArgument(
                operation: operation,
                message: "queryHeads \(queryHeads) is not a multiple of keyValueHeads \(keyValueHeads)")
        }
        guard (masks.querySegments == nil) == (masks.keySegments == nil) else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "querySegments and keySegments must be given together")
        }
        if let keyValid = masks.keyValid {
            try BufferChecks.require(keyValid, holds: batch * keyLength, of: .int32, in: operation)
        }
        if let querySegments = masks.querySegments, let keySegments = masks.keySegments {
            try BufferChecks.require(querySegments, holds: batch * queryLength, of: .int32, in: operation)
            try BufferChecks.require(keySegments, holds: batch * keyLength, of: .int32, in: operation)
        }
    }
}
