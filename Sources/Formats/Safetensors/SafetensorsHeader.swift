import Foundation

/// The parsed and validated header of a safetensors file: every rule of docs/formats.md §1.4, with errors
/// that name the file, the tensor, what was found and what was expected. The reference
/// implementation's error names are given in parentheses so messages can be matched to its docs.
struct SafetensorsHeader {
    /// N, the header length in bytes (padding included).
    let size: Int
    let metadata: [String: String]
    /// Sorted by data offset.
    let tensors: [SafetensorsTensorInfo]

    init(file: Data, fileName: String) throws {
        func fail(_ message: String) -> FormatError { FormatError(file: fileName, message) }

        // Rule 1: length prefix, header size limit, header inside the file.
        guard file.count >= 8 else {
            throw fail(
                "is \(file.count) bytes long; a safetensors file starts with an 8-byte header length (HeaderTooSmall)")
        }
        let declared = file.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard declared <= UInt64(SafetensorsFile.maximumHeaderSize) else {
            throw fail(
                "declares a \(declared)-byte header, more than the \(SafetensorsFile.maximumHeaderSize)-byte limit (HeaderTooLarge)"
            )
        }
        let size = Int(declared)
        guard 8 + size <= file.count else {
            throw fail(
                "declares a \(size)-byte header but only \(file.count - 8) bytes follow the length prefix; the file is truncated (InvalidHeaderLength)"
            )
        }
        self.size = size

        // Rule 2: UTF-8 JSON object, no duplicate keys.
        let headerBytes = file[(file.startIndex + 8)..<(file.startIndex + 8 + size)]
        guard headerBytes.withUnsafeBytes({ String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) }) != nil
        else {
            throw fail("header is not valid UTF-8 (InvalidHeader)")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(Data(headerBytes), file: fileName)
        } catch let error as FormatError {
            throw fail("header is not valid JSON (InvalidHeaderDeserialization): \(error.message)")
        }
        guard let object = json.objectValue else {
            throw fail("header should be a JSON object, found \(json.kindName) (InvalidHeaderDeserialization)")
        }

        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        for entry in object.entries {
            if entry.key == "__metadata__" {
                metadata = try Self.metadata(entry.value, fail: fail)
            } else {
                tensors.append(try Self.tensor(named: entry.key, entry.value, fail: fail))
            }
        }

        // Rules 3–4: contiguous from 0 in offset order; byte sizes match dtype × shape.
        tensors.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < (
                $1.dataOffsets.lowerBound, $1.dataOffsets.upperBound
            )
        }
        var expected = 0
        for tensor in tensors {
            let begin = tensor.dataOffsets.lowerBound
            if begin != expected {
                let problem =
                    begin > expected
                    ? "leaves a gap of \(begin - expected) bytes before it"
                    : "overlaps the previous tensor by \(expected - begin) bytes"
                throw fail(
                    "tensor '\(tensor.name)' starts at data offset \(begin) but the previous tensor ends at \(expected): it \(problem); tensors must be packed contiguously from offset 0 (InvalidOffset)"
                )
            }
            let needed = try Self.byteCount(of: tensor, fail: fail)
            if tensor.dataOffsets.count != needed {
                throw fail(
                    "tensor '\(tensor.name)' has data_offsets [\(begin), \(tensor.dataOffsets.upperBound)] = \(tensor.dataOffsets.count) bytes, but \(tensor.dtype.rawValue) \(tensor.shape) needs \(needed) bytes (TensorInvalidInfo)"
                )
            }
            expected = tensor.dataOffsets.upperBound
        }

        // Rule 5: the data buffer ends exactly at the end of the file.
        let available = file.count - 8 - size
        if expected != available {
            let problem =
                expected < available
                ? "has \(available - expected) unexpected trailing bytes after the last tensor"
                : "is truncated: the tensors need \(expected) data bytes but only \(available) are present"
            throw fail("\(problem) (MetadataIncompleteBuffer)")
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    private static func metadata(_ value: JSONValue, fail: (String) -> FormatError) throws -> [String: String] {
        if value.isNull { return [:] }
        guard let object = value.objectValue else {
            throw fail("__metadata__ should be an object of strings, found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for entry in object.entries {
            guard let text = entry.value.stringValue else {
                throw fail(
                    "__metadata__ entry '\(entry.key)' should be a string, found \(entry.value.kindName) (metadata is string → string only)"
                )
            }
            metadata[entry.key] = text
        }
        return metadata
    }

    private static func tensor(named name: String, _ value: JSONValue, fail: (String) -> FormatError) throws
        -> SafetensorsTensorInfo
    {
        guard let object = value.objectValue else {
            throw fail(
                "tensor '\(name)' should be an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        guard let dtypeName = object["dtype"]?.stringValue else {
            throw fail("tensor '\(name)' has no string 'dtype'")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            let known = SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)'; expected one of \(known)")
        }
        // Integer literals only, as serde's usize fields require (no 8.0, no negatives).
        func integers(_ key: String) -> [Int]? {
            guard let values = object[key]?.arrayValue else { return nil }
            let integers = values.compactMap { value -> Int? in
                if case .int(let integer) = value, integer >= 0 { return integer }
                return nil
            }
            return integers.count == values.count ? integers : nil
        }
        guard let shape = integers("shape") else {
            throw fail("tensor '\(name)' needs 'shape': an array of non-negative integers")
        }
        guard let offsets = integers("data_offsets"), offsets.count == 2 else {
            throw fail("tensor '\(name)' needs 'data_offsets': [begin, end], two non-negative integers")
        }
        guard offsets[1] >= offsets[0] else {
            throw fail(
                "tensor '\(name)' has data_offsets [\(offsets[0]), \(offsets[1])] with end before begin (InvalidOffset)"
            )
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1])
    }

    /// The byte size `dtype × shape` implies, with overflow checks; sub-byte types must fill whole bytes.
    static func byteCount(of tensor: SafetensorsTensorInfo, fail: (String) -> FormatError) throws -> Int {
        var elements = 1
        for dimension in tensor.shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw fail("tensor '\(tensor.name)' shape \(tensor.shape) overflows (ValidationOverflow)")
            }
            elements = product
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: tensor.dtype.bitsPerElement)
        guard !overflow else { throw fail("tensor '\(tensor.name)' byte size overflows (ValidationOverflow)") }
        guard bits % 8 == 0 else {
            throw fail(
                "tensor '\(tensor.name)' has \(elements) \(tensor.dtype.rawValue) elements = \(bits) bits, not a whole number of bytes (MisalignedSlice)"
            )
        }
        return bits / 8
    }
}
