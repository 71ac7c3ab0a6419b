/// An element type of a safetensors tensor (docs/formats.md §1.2), spelled as in the file header.
///
/// The cases are declared in the order of the reference implementation's `Dtype` enum (roughly
/// increasing alignment); the writer sorts tensors by this order, descending, like the reference.
public enum SafetensorsDType: String, CaseIterable, Comparable, Sendable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element (sub-byte types pack several elements per byte).
    public var bitsPerElement: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Whether `floats` can widen this type to `Float` (the types LLM checkpoints use).
    public var convertsToFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }

    private var order: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }
}

extension SafetensorsDType {
    /// The float types a model can be saved in, by the names `--dtype` and `torch_dtype` use.
    static let floatNames: [(SafetensorsDType, short: String, torch: String)] = [
        (.f32, "f32", "float32"), (.f16, "f16", "float16"), (.bf16, "bf16", "bfloat16"),
    ]

    /// PyTorch's name for this type (`config.json`'s `torch_dtype`), for the float types.
    public var torchName: String? { Self.floatNames.first { $0.0 == self }?.torch }

    /// The float type called `name` ("f32", "float16", "bf16", "bfloat16", …), or nil.
    public init?(floatName name: String) {
        guard
            let match = Self.floatNames.first(where: { $0.short == name.lowercased() || $0.torch == name.lowercased() })
        else { return nil }
        self = match.0
    }
}
