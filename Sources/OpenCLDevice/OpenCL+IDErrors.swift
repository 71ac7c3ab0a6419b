import COpenCL
import Core

/// How the OpenCL device turns an id outside its range (a token or position id of an embedding,
/// a cross-entropy target) into the error that the reference device throws, without reading the
/// ids back before each launch: the kernel writes NaN where the id's result would go and records
/// the id in `idErrors`, and the device reads that record at its next `readFloats`, `readInts` or
/// `synchronize`, which wait for the queue anyway, and throws. The check costs a compare per id
/// in the kernels and one small read after a read that follows an id kernel.
///
/// The record is [found, operation, position, id, bound, ignore index]; a kernel claims `found`
/// with atomic_cmpxchg, so the first report stays whole (with several bad ids in one launch,
/// which one is named depends on scheduling).
enum IDErrorRecord {
    /// Int32 elements of the record.
    static let count = 6
    /// The operations that check ids; a kernel records the index + 1 of its own.
    static let operations = ["embedding", "embeddingBackward", "crossEntropy", "crossEntropyBackward"]

    /// The kernel argument that names `operation`.
    static func code(_ operation: String) -> Int {
        (operations.firstIndex(of: operation) ?? operations.count) + 1
    }

    /// The error a found record describes.
    static func error(_ record: [Int32]) -> DeviceError {
        let index = Int(record[1]) - 1
        let operation = operations.indices.contains(index) ? operations[index] : "a kernel"
        let (position, id, bound) = (Int(record[2]), record[3], Int(record[4]))
        if operation.hasPrefix("crossEntropy") {
            return .targetOutOfRange(
                operation: operation, target: id, row: position, columns: bound, ignoreIndex: record[5])
        }
        return .idOutOfRange(operation: operation, id: id, position: position, rows: bound)
    }
}

extension OpenCLDevice {
    /// The arguments that let an id kernel of `operation` report a bad id; the next read checks
    /// the record.
    func idErrorArguments(_ operation: String) -> [KernelArgument] {
        idErrorsPending = true
        return [.buffer(idErrors), .int(IDErrorRecord.code(operation))]
    }

    /// Throws the bad id that a kernel recorded since the last check, after clearing the record
    /// so that the device stays usable.
    func throwRecordedIDError() throws {
        guard idErrorsPending else { return }
        idErrorsPending = false
        var record = [Int32](repeating: 0, count: IDErrorRecord.count)
        let bytes = record.count * MemoryLayout<Int32>.size
        try check(
            clEnqueueReadBuffer(queue, idErrors.memory, cl_bool(CL_TRUE), 0, bytes, &record, 0, nil, nil),
            "clEnqueueReadBuffer", "reading the id error record")
        guard record[0] != 0 else { return }
        let error = IDErrorRecord.error(record)
        var zeros = [Int32](repeating: 0, count: IDErrorRecord.count)
        try check(
            clEnqueueWriteBuffer(queue, idErrors.memory, cl_bool(CL_TRUE), 0, bytes, &zeros, 0, nil, nil),
            "clEnqueueWriteBuffer", "clearing the id error record")
        throw error
    }
}
