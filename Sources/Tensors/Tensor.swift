import Core

/// A float32 array on a `Device` that remembers how it was computed, so that `backward()` can
/// send gradients to the tensors it came from (reverse-mode automatic differentiation).
///
/// Training code talks to tensors only, never to a backend: the same model runs on the OpenCL
/// device and on the reference device. A tensor is a shape plus a contiguous row-major
/// `DeviceBuffer`; operations (`Operations/*.swift`) launch one or a few device calls and
/// return a new tensor. Tensors are immutable once computed: no operation writes into its
/// inputs, which is what makes saved tensors safe to reuse in the backward pass. The only
/// writers are `load(_:)` (weights from a checkpoint) and the optimizer, which update leaves
/// between steps, never while a graph that saved them is waiting for `backward()`.
///
/// Autograd (`Autograd.swift`): a tensor computed from inputs that require gradients carries a
/// `GradientNode` (PyTorch's `grad_fn`) with a backward closure. The node points at its inputs'
/// nodes, not at their buffers, so an intermediate buffer is freed as soon as no later
/// operation saved it for its backward pass (as in PyTorch). Leaves, tensors made from host
/// values or parameters, collect their gradient in `grad`.
///
/// Integer data (token ids, targets, positions, masks) lives in `IntTensor`, which takes no
/// part in differentiation; keeping it a separate type lets the compiler catch a float
/// passed where ids belong.
///
/// The operations, all differentiable unless noted:
/// - arithmetic with NumPy broadcasting: `+ − * /` (also with a `Float`), `maximum`, `minimum`,
///   `greaterOrEqual` (a constant mask), `broadcast(to:)`, `sum(toShape:)`;
/// - elementwise: `negated exp log sqrt tanh sigmoid logSigmoid gelu silu relu squared`,
///   `scaled(by:)`, `addingScalar`, `clamped(to:)`, `dropout`;
/// - reductions: `sum()`, `mean()`, `sum(axis:)`, `mean(axis:)`;
/// - shape: `reshaped` (free), `slice(axis:_:)`, `split`, `concatenate`, `write(_:axis:at:)`
///   (in place, not differentiable: caches);
/// - products: `Tensor.matmul` (batched, transposes), `Tensor.linear` (Conv1D or nn.Linear weights);
/// - `softmax`, `logSoftmax`, `Tensor.crossEntropy`, `Tensor.tokenLogProbs`;
/// - `layerNorm`, `rmsNorm`, `Tensor.embedding`, `gatherRows`, `rope`, `Tensor.attention`.
/// Each throws `DeviceError` naming the operation and the shapes when operands do not fit.
public final class Tensor {
    /// Where the tensor lives; every operand of an operation must live on the same device.
    public let device: Device
    /// Dimensions, outermost first. `[]` is a scalar (one element).
    public let shape: [Int]
    /// The elements, row-major and contiguous; may hold more than `count` elements (a view never does).
    public let buffer: DeviceBuffer
    /// The accumulated gradient of a leaf that requires it (`nil` until a backward pass reaches
    /// it). Parameters of a `ParameterStore` start with a view into the flat gradient buffer.
    public internal(set) var grad: Tensor?
    /// How this tensor was computed, when some input required a gradient and recording was on.
    var gradientNode: GradientNode?
    private var leafRequiresGrad: Bool

    /// Wraps `buffer` (float32, at least `shape`'s element count) as a leaf tensor.
    public init(device: Device, shape: [Int], buffer: DeviceBuffer, requiresGrad: Bool = false) throws {
        try Tensor.requireValid(shape, in: "Tensor('\(buffer.label)')")
        try BufferChecks.require(buffer, holds: shape.reduce(1, *), of: .float32, in: "Tensor('\(buffer.label)')")
        self.device = device
        self.shape = shape
        self.buffer = buffer
        self.leafRequiresGrad = requiresGrad
    }

    /// A new leaf tensor holding `values` (row-major, exactly `shape`'s element count).
    public convenience init(
        device: Device, shape: [Int], values: [Float], requiresGrad: Bool = false, label: String = "tensor"
    ) throws {
        try Tensor.requireValid(shape, in: "Tensor('\(label)')")
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw DeviceError.shapeMismatch(
                operation: "Tensor('\(label)') values for shape \(shape)", lhs: [values.count], rhs: [count])
        }
        let buffer = try device.makeBuffer(count: count, dtype: .float32, label: label)
        try device.write(values, to: buffer)
        try self.init(device: device, shape: shape, buffer: buffer, requiresGrad: requiresGrad)
    }

    /// A new leaf tensor of zeros.
    public static func zeros(device: Device, shape: [Int], requiresGrad: Bool = false, label: String = "zeros") throws
        -> Tensor
    {
        try requireValid(shape, in: "zeros('\(label)')")
        let buffer = try device.makeBuffer(count: shape.reduce(1, *), dtype: .float32, label: label)
        return try Tensor(device: device, shape: shape, buffer: buffer, requiresGrad: requiresGrad)
    }

    /// A new leaf tensor with every element `value`.
    public static func full(
        _ value: Float, device: Device, shape: [Int], requiresGrad: Bool = false, label: String = "full"
    ) throws -> Tensor {
        let tensor = try zeros(device: device, shape: shape, requiresGrad: requiresGrad, label: label)
        if value != 0 { try device.fill(tensor.buffer, value: value, offset: 0, count: tensor.count) }
        return tensor
    }

    /// A scalar leaf tensor (shape `[]`).
    public static func scalar(_ value: Float, device: Device, requiresGrad: Bool = false, label: String = "scalar")
        throws -> Tensor
    {
        try Tensor(device: device, shape: [], values: [value], requiresGrad: requiresGrad, label: label)
    }

    // MARK: Properties

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// The buffer's label, which names the tensor in errors and memory reports.
    public var label: String { buffer.label }
    /// True for tensors not computed by a recorded operation (inputs, parameters, constants).
    public var isLeaf: Bool { gradientNode == nil }
    /// Name of the operation that computed this tensor, if it was recorded.
    public var operation: String? { gradientNode?.operation }

    /// Whether gradients flow to (a leaf) or through (a computed tensor) this tensor.
    ///
    /// Set it on leaves only: `true` makes the next backward passes accumulate into `grad`;
    /// `false` freezes the tensor. A computed tensor requires a gradient exactly when it was
    /// recorded; use `detached()` to cut the graph there instead.
    public var requiresGrad: Bool {
        get { gradientNode != nil || leafRequiresGrad }
        set {
            precondition(
                gradientNode == nil, "requiresGrad can only be set on leaf tensors; use detached() on '\(label)'")
            leafRequiresGrad = newValue
        }
    }

    // MARK: Host transfer

    /// The elements, after all queued work (waits for the device).
    public func values() throws -> [Float] {
        let all = try device.readFloats(buffer)
        return all.count == count ? all : Array(all.prefix(count))
    }

    /// The single element of a one-element tensor (a loss, a norm).
    public func scalar() throws -> Float {
        guard count == 1 else {
            throw DeviceError.invalidArgument(
                operation: "scalar()", message: "'\(label)' has shape \(shape), not one element")
        }
        return try values()[0]
    }

    /// Overwrites the elements with `values` (e.g. weights from a checkpoint). Do not call it
    /// on a tensor that a graph waiting for `backward()` has saved.
    public func load(_ values: [Float]) throws {
        guard values.count == count else {
            throw DeviceError.shapeMismatch(
                operation: "load into '\(label)' of shape \(shape)", lhs: [values.count], rhs: [count])
        }
        try device.write(values, to: buffer)
    }

    /// Sets `grad` to zeros, keeping its buffer (a parameter's gradient is a view that must stay).
    public func zeroGrad() throws {
        if let grad { try device.fill(grad.buffer, value: 0, offset: 0, count: grad.count) }
    }

    // MARK: Graph

    /// The same elements as a leaf that requires no gradient: gradients stop here. Shares the
    /// buffer, so it costs nothing (PyTorch's `detach()`).
    public func detached() -> Tensor {
        Tensor(unchecked: device, shape: shape, buffer: buffer)
    }

    /// A tensor without checks, for operations that made `buffer` themselves.
    init(unchecked device: Device, shape: [Int], buffer: DeviceBuffer) {
        self.device = device
        self.shape = shape
        self.buffer = buffer
        self.leafRequiresGrad = false
    }

    /// Throws unless every dimension is positive.
    static func requireValid(_ shape: [Int], in operation: String) throws {
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw DeviceError.invalidArgument(operation: operation, message: "shape \(shape) has a dimension below 1")
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor('\(label)', shape: \(shape)" + (requiresGrad ? ", requiresGrad" : "")
            + (operation.map { ", op: \($0)" } ?? "") + ")"
    }
}
