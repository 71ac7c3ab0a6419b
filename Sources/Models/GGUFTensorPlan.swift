import Formats
import Tensors

/// One tensor of a GGUF export: its llama.cpp name, where its values come from, and how they are
/// rearranged on the way (docs/formats.md §5.6).
struct GGUFTensorPlan {
    /// Where the values come from.
    enum Source {
        /// A parameter of the model, by checkpoint key.
        case parameter(String)
        /// Values computed for the export (RoPE frequency factors).
        case generated([Float])
    }

    /// How a parameter's row-major values are rearranged.
    enum Transform {
        case none
        /// Hugging Face's half-split RoPE rows back to the adjacent-pair order of llama.cpp's
        /// `llama` architecture (docs/formats.md §3.4): within each of `heads` heads, view the rows as
        /// [2, d_h/2] and swap the two axes.
        case adjacentRotaryPairs(heads: Int)
        /// A GPT-2 Conv1D weight [in, out] to the [out, in] of a linear layer.
        case transpose
    }

    /// The GGUF tensor name.
    var name: String
    var source: Source
    var transform: Transform = .none
    /// The shape after the transform, PyTorch order (outermost first).
    var shape: [Int]
    /// Stored as F32 even in an F16 export: 1-D tensors, norms and learned positions, as the
    /// reference converter keeps them (ggml kernels expect F32 there).
    var keepsFloat32: Bool

    init(_ name: String, from source: Source, shape: [Int], transform: Transform = .none, keepsFloat32: Bool = false) {
        self.name = name
        self.source = source
        self.transform = transform
        self.shape = shape
        self.keepsFloat32 = keepsFloat32 || shape.count <= 1 || name.hasSuffix("_norm.weight")
    }

    /// The plan that writes `parameter` as `name`, rearranged by `transform` (a transpose
    /// reverses the shape).
    init(_ name: String, from parameter: ParameterDeclaration, transform: Transform = .none, keepsFloat32: Bool = false)
    {
        var shape = parameter.shape
        if case .transpose = transform { shape.reverse() }
        self.init(
            name, from: .parameter(parameter.name), shape: shape, transform: transform, keepsFloat32: keepsFloat32)
    }

    /// The ggml dimensions: the shape reversed (fastest-varying first).
    var dimensions: [Int] { shape.reversed() }

    /// The values in the GGUF layout.
    func values(from parameters: ParameterStore) throws -> [Float] {
        switch source {
        case .generated(let values):
            return values
        case .parameter(let key):
            let values = try parameters.values(of: key)
            switch transform {
            case .none: return values
            case .adjacentRotaryPairs(let heads): return Self.adjacentRotaryPairs(values, rows: shape[0], heads: heads)
            case .transpose: return Self.transpose(values, rows: shape[1], columns: shape[0])
            }
        }
    }

    /// Row `h·d_h + 2i + k` of the result is row `h·d_h + k·d_h/2 + i` of `values` (rows of
    /// `values.count / rows` elements; a bias has one element per row).
    static func adjacentRotaryPairs(_ values: [Float], rows: Int, heads: Int) -> [Float] {
        let width = values.count / rows
        let headDimension = rows / heads
        let half = headDimension / 2
        var result = [Float](repeating: 0, count: values.count)
        for head in 0..<heads {
            for i in 0..<half {
                for k in 0..<2 {
                    let target = (head * headDimension + 2 * i + k) * width
                    let source = (head * headDimension + k * half + i) * width
                    result[target..<(target + width)] = values[source..<(source + width)]
                }
            }
        }
        return result
    }

    /// `values` [rows, columns] row-major, transposed to [columns, rows].
    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<rows {
            for column in 0..<columns {
                result[column * rows + row] = values[row * columns + column]
            }
        }
        return result
    }
}
