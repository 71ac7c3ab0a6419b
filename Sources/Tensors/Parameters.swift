import Core

/// One named parameter: its Hugging Face key, shape, and how the optimizer treats it.
public struct ParameterSpec: Sendable, Equatable {
    /// The checkpoint key (e.g. "h.0.attn.c_attn.weight", "model.layers.0.mlp.up_proj.weight").
    public var name: String
    /// Dimensions, outermost first (PyTorch order, as stored in checkpoints).
    public var shape: [Int]
    /// Whether AdamW's weight decay applies.
    public var decays: Bool
    /// Whether the parameter is trained (has a gradient and optimizer state); frozen ones are
    /// constants (LoRA's base weights, a reference model).
    public var trainable: Bool

    /// `decays` defaults to the Hugging Face Trainer's rule, which excludes biases and norm
    /// weights: here, every parameter of rank ≥ 2 decays (matrices, embeddings) and vectors do not.
    public init(_ name: String, shape: [Int], decays: Bool? = nil, trainable: Bool = true) {
        self.name = name
        self.shape = shape
        self.decays = decays ?? (shape.count >= 2)
        self.trainable = trainable
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The same parameter, trained or frozen as `trainable` says.
    public func with(trainable: Bool) -> ParameterSpec {
        var spec = self
        spec.trainable = trainable
        return spec
    }
}

/// Where every parameter lives in the flat buffers (as llm.c lays out GPT-2's parameters).
///
/// Trainable parameters share one flat buffer: decayed ones first, then the others, so that
/// one fused AdamW launch over the whole buffer decays exactly its first `decayCount` elements.
/// Frozen parameters live in a second flat buffer without gradients or optimizer state. Each
/// offset is a multiple of the device's `viewAlignment` (OpenCL sub-buffers need it); the
/// padding between parameters holds zeros and zero gradients, so it never changes.
public struct ParameterLayout: Sendable, Equatable {
    /// A parameter and its place.
    public struct Entry: Sendable, Equatable {
        /// The parameter.
        public var spec: ParameterSpec
        /// Element offset in the trainable buffer (or the frozen one when not `spec.trainable`).
        public var offset: Int
    }

    /// Entries in buffer order: trainable decayed, trainable not decayed, frozen (each group in
    /// the order given).
    public let entries: [Entry]
    /// Elements of the trainable buffer (including padding).
    public let trainableCount: Int
    /// Elements at the start of the trainable buffer that weight decay applies to.
    public let decayCount: Int
    /// Elements of the frozen buffer (including padding).
    public let frozenCount: Int

    /// Lays out `specs` with offsets aligned to `alignment` elements. Names must be unique.
    public init(_ specs: [ParameterSpec], alignment: Int) throws {
        var seen = Set<String>()
        for spec in specs {
            guard seen.insert(spec.name).inserted else {
                throw DeviceError.invalidArgument(
                    operation: "ParameterLayout", message: "parameter '\(spec.name)' appears twice")
            }
            try Tensor.requireValid(spec.shape, in: "ParameterLayout '\(spec.name)'")
        }
        let alignment = max(alignment, 1)
        func place(_ group: [ParameterSpec], from start: Int) -> (entries: [Entry], end: Int) {
            var offset = start
            var placed: [Entry] = []
            for spec in group {
                offset = (offset + alignment - 1) / alignment * alignment
                placed.append(Entry(spec: spec, offset: offset))
                offset += spec.count
            }
            return (placed, offset)
        }
        let decayed = place(specs.filter { $0.trainable && $0.decays }, from: 0)
        let plain = place(specs.filter { $0.trainable && !$0.decays }, from: decayed.end)
        let frozen = place(specs.filter { !$0.trainable }, from: 0)
        entries = decayed.entries + plain.entries + frozen.entries
        // Decay may cover the padding before the first undecayed parameter: it holds zeros.
        decayCount = decayed.end
        trainableCount = plain.end
        frozenCount = frozen.end
    }

    /// The entry named `name`, if any.
    public func entry(_ name: String) -> Entry? { entries.first { $0.spec.name == name } }

    /// Elements that are parameters (without padding), trainable and frozen.
    public var parameterCounts: (trainable: Int, frozen: Int) {
        entries.reduce(into: (0, 0)) { sums, entry in
            if entry.spec.trainable { sums.0 += entry.spec.count } else { sums.1 += entry.spec.count }
        }
    }
}

/// The parameters of a model on a device: flat buffers laid out by a `ParameterLayout`, and a
/// leaf `Tensor` per parameter that is a view into them.
///
/// A trainable parameter's tensor requires a gradient and its `grad` is a view into the flat
/// `gradients` buffer from the start, so backward passes accumulate straight into it and the
/// optimizer and gradient clipping see all gradients as one buffer. `zeroGrad()` clears them
/// all with one fill. Frozen parameters' tensors require no gradient.
public final class ParameterStore {
    /// Where the buffers live.
    public let device: Device
    /// Names, shapes and offsets.
    public let layout: ParameterLayout
    /// The flat trainable parameters (what AdamW updates).
    public let parameters: DeviceBuffer
    /// The flat gradients, matching `parameters` element for element.
    public let gradients: DeviceBuffer
    /// The flat frozen parameters.
    public let frozenParameters: DeviceBuffer
    private let tensors: [String: Tensor]

    /// Allocates zeroed buffers for `specs` on `device`; fill them with `load` or an initializer.
    public convenience init(device: Device, specs: [ParameterSpec], label: String = "parameters") throws {
        try self.init(device: device, layout: ParameterLayout(specs, alignment: device.viewAlignment), label: label)
    }

    /// Allocates zeroed buffers for `layout`, which must be aligned for `device`.
    public init(device: Device, layout: ParameterLayout, label: String = "parameters") throws {
        self.device = device
        self.layout = layout
        parameters = try device.makeBuffer(count: layout.trainableCount, dtype: .float32, label: label)
        gradients = try device.makeBuffer(count: layout.trainableCount, dtype: .float32, label: "\(label) gradients")
        frozenParameters = try device.makeBuffer(count: layout.frozenCount, dtype: .float32, label: "\(label) (frozen)")
        var tensors: [String: Tensor] = [:]
        for entry in layout.entries {
            let spec = entry.spec
            let base = spec.trainable ? parameters : frozenParameters
            let view = try device.makeView(of: base, offset: entry.offset, count: spec.count, label: spec.name)
            let tensor = try Tensor(device: device, shape: spec.shape, buffer: view, requiresGrad: spec.trainable)
            if spec.trainable {
                let gradientView = try device.makeView(
                    of: gradients, offset: entry.offset, count: spec.count, label: "grad of \(spec.name)")
                tensor.grad = try Tensor(device: device, shape: spec.shape, buffer: gradientView)
            }
            tensors[spec.name] = tensor
        }
        self.tensors = tensors
    }

    /// Parameter names in layout order.
    public var names: [String] { layout.entries.map(\.spec.name) }

    /// The parameter named `name` (a Hugging Face key).
    public func tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw DeviceError.invalidArgument(operation: "ParameterStore", message: "no parameter named '\(name)'")
        }
        return tensor
    }

    /// The parameter named `name`, or nil.
    public subscript(name: String) -> Tensor? { tensors[name] }

    /// Sets every trainable gradient to zero (one fill over the flat gradient buffer).
    public func zeroGrad() throws {
        try device.fill(gradients, value: 0, offset: 0, count: layout.trainableCount)
    }

    /// Overwrites parameter `name` with `values` (row-major, its exact element count).
    public func load(_ name: String, values: [Float]) throws {
        try tensor(name).load(values)
    }

    /// The values of parameter `name`.
    public func values(of name: String) throws -> [Float] {
        try tensor(name).values()
    }

    /// Every parameter's values by name, read with one transfer per flat buffer (for saving).
    public func allValues() throws -> [String: [Float]] {
        try layout.unpack(trainable: device.readFloats(parameters), frozen: device.readFloats(frozenParameters))
    }
}

extension ParameterLayout {
    /// Splits flat arrays into per-parameter arrays by name: the trainable parameters from
    /// `trainable`, and the frozen ones from `frozen` when given.
    public func unpack(trainable: [Float], frozen: [Float]?) -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for entry in entries {
            guard let flat = entry.spec.trainable ? trainable : frozen else { continue }
            result[entry.spec.name] = Array(flat[entry.offset..<(entry.offset + entry.spec.count)])
        }
        return result
    }

    /// Packs per-parameter arrays of the trainable parameters into one flat array in layout
    /// order (zeros in the padding); throws on a missing name or a wrong length.
    public func packTrainable(_ values: [String: [Float]], operation: String) throws -> [Float] {
        var flat = [Float](repeating: 0, count: trainableCount)
        for entry in entries where entry.spec.trainable {
            guard let array = values[entry.spec.name] else {
                throw DeviceError.invalidArgument(operation: operation, message: "no values for '\(entry.spec.name)'")
            }
            guard array.count == entry.spec.count else {
                throw DeviceError.shapeMismatch(
                    operation: "\(operation) '\(entry.spec.name)'", lhs: [array.count], rhs: entry.spec.shape)
            }
            flat.replaceSubrange(entry.offset..<(entry.offset + array.count), with: array)
        }
        return flat
    }
}
