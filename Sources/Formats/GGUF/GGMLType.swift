/// A ggml tensor element type (docs/formats.md §5.2), with its block layout: quantized types pack
/// `blockSize` elements into `typeSize` bytes; plain types have a block of one element.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    /// The type id stored in tensor infos.
    public let rawValue: UInt32
    /// The type name as ggml prints it.
    public let name: String
    /// Elements per block.
    public let blockSize: Int
    /// Bytes per block.
    public let typeSize: Int

    public static let f32 = GGMLType(0, "F32", 1, 4)
    public static let f16 = GGMLType(1, "F16", 1, 2)
    public static let bf16 = GGMLType(30, "BF16", 1, 2)

    /// Every type a current ggml reads from GGUF files (ids 4, 5 and 31–33, 36–38 were removed),
    /// so the reader can check files with quantized tensors too. Sizes as in ggml's type traits.
    public static let known: [GGMLType] = [
        .f32, .f16,
        GGMLType(2, "Q4_0", 32, 18), GGMLType(3, "Q4_1", 32, 20), GGMLType(6, "Q5_0", 32, 22),
        GGMLType(7, "Q5_1", 32, 24),
        GGMLType(8, "Q8_0", 32, 34), GGMLType(9, "Q8_1", 32, 40), GGMLType(10, "Q2_K", 256, 84),
        GGMLType(11, "Q3_K", 256, 110),
        GGMLType(12, "Q4_K", 256, 144), GGMLType(13, "Q5_K", 256, 176), GGMLType(14, "Q6_K", 256, 210),
        GGMLType(15, "Q8_K", 256, 292),
        GGMLType(16, "IQ2_XXS", 256, 66), GGMLType(17, "IQ2_XS", 256, 74), GGMLType(18, "IQ3_XXS", 256, 98),
        GGMLType(19, "IQ1_S", 256, 50),
        GGMLType(20, "IQ4_NL", 32, 18), GGMLType(21, "IQ3_S", 256, 110), GGMLType(22, "IQ2_S", 256, 82),
        GGMLType(23, "IQ4_XS", 256, 136),
        GGMLType(24, "I8", 1, 1), GGMLType(25, "I16", 1, 2), GGMLType(26, "I32", 1, 4), GGMLType(27, "I64", 1, 8),
        GGMLType(28, "F64", 1, 8), GGMLType(29, "IQ1_M", 256, 56), .bf16, GGMLType(34, "TQ1_0", 256, 54),
        GGMLType(35, "TQ2_0", 256, 66), GGMLType(39, "MXFP4", 32, 17), GGMLType(40, "NVFP4", 64, 36),
        GGMLType(41, "Q1_0", 128, 18),
    ]

    private static let byID = Dictionary(uniqueKeysWithValues: known.map { ($0.rawValue, $0) })

    private init(_ rawValue: UInt32, _ name: String, _ blockSize: Int, _ typeSize: Int) {
        self.rawValue = rawValue
        self.name = name
        self.blockSize = blockSize
        self.typeSize = typeSize
    }

    /// The type with id `rawValue`, `nil` if ggml does not define it.
    public init?(rawValue: UInt32) {
        guard let type = Self.byID[rawValue] else { return nil }
        self = type
    }

    /// The bytes of `elementCount` elements (a whole number of blocks).
    public func byteCount(elements elementCount: Int) -> Int { elementCount / blockSize * typeSize }

    public var description: String { "\(name) (type \(rawValue))" }
}
