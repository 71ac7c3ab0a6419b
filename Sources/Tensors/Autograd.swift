import Core

/// Whether operations record the graph that `backward()` needs.
///
/// Recording is on by default. Turn it off for generation, evaluation and reference models
/// with `Tensor.withNoGrad { … }`: nothing is recorded, so no intermediate buffer is kept alive
/// for a backward pass. Devices are used from one thread at a time, so this is a plain global.
public enum GradientMode {
    /// True when operations record their backward closures.
    public internal(set) static var isEnabled = true
}

extension Tensor {
    /// Runs `body` with recording off (PyTorch's `torch.no_grad()`), restoring the previous
    /// mode afterwards, also when `body` throws. Nests.
    public static func withNoGrad<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = GradientMode.isEnabled
        GradientMode.isEnabled = false
        defer { GradientMode.isEnabled = previous }
        return try body()
    }
}

/// One recorded operation: how to turn the gradient of its output into gradients of its
/// inputs (PyTorch's `grad_fn`).
///
/// A node holds its inputs' nodes (or, for leaves, the leaf tensors), never the inputs'
/// buffers: what the backward closure needs, it captures explicitly (e.g. a matmul captures its
/// two operands, an addition only their shapes). The output is not captured either (that would
/// be a reference cycle); closures that need it capture `output.detached()`.
final class GradientNode {
    /// Where the gradient of one input goes.
    enum Edge {
        /// The input was computed by a recorded operation.
        case node(GradientNode)
        /// The input is a leaf that requires a gradient.
        case leaf(Tensor)
        /// The input needs no gradient (a constant, a frozen parameter, a detached tensor).
        case none
    }

    /// Receives the output's gradient and the sink for the inputs' gradients.
    typealias Backward = (_ gradient: Tensor, _ sink: GradientSink) throws -> Void

    let operation: String
    let device: Device
    /// The output's shape: every gradient arriving here is reshaped to it.
    let shape: [Int]
    private(set) var inputs: [Edge]
    private(set) var backward: Backward?

    init(operation: String, device: Device, shape: [Int], inputs: [Edge], backward: @escaping Backward) {
        self.operation = operation
        self.device = device
        self.shape = shape
        self.inputs = inputs
        self.backward = backward
    }

    /// True once a backward pass has run through the node and dropped what it saved.
    var isReleased: Bool { backward == nil }

    /// Drops the closure (and the tensors it saved) and the links to the inputs.
    func release() {
        backward = nil
        inputs = []
    }
}

extension Tensor {
    /// Gives `self` (the fresh output of `operation`) a gradient node over `inputs` when
    /// recording is on and some input requires a gradient; otherwise leaves it a constant.
    /// `backward` runs with recording off, so it may use tensor operations freely.
    @discardableResult
    func recorded(_ operation: String, inputs: [Tensor], backward: @escaping GradientNode.Backward) -> Tensor {
        guard GradientMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return self }
        let edges: [GradientNode.Edge] = inputs.map { input in
            if let node = input.gradientNode { return .node(node) }
            return input.requiresGrad ? .leaf(input) : .none
        }
        gradientNode = GradientNode(
            operation: operation, device: device, shape: shape, inputs: edges, backward: backward)
        return self
    }

    /// Computes the gradient of this tensor with respect to every leaf that requires one and
    /// adds it to the leaves' `grad` (so micro-batches accumulate until `zeroGrad`).
    ///
    /// `gradient` is the seed dL/d(self); it may be omitted for a one-element tensor (a loss),
    /// where it is 1. The graph is released as the pass goes (each node's saved tensors are
    /// freed as soon as it ran), so a graph supports one backward pass; run the forward again
    /// for another.
    public func backward(gradient seed: Tensor? = nil) throws {
        let seed =
            try seed
            ?? {
                guard count == 1 else {
                    throw DeviceError.invalidArgument(
                        operation: "backward",
                        message: "'\(label)' has shape \(shape): pass a gradient for non-scalar tensors")
                }
                return try Tensor.full(1, device: device, shape: shape, label: "backward seed")
            }()
        guard seed.count == count, seed.device === device else {
            throw DeviceError.shapeMismatch(operation: "backward seed of '\(label)'", lhs: seed.shape, rhs: shape)
        }
        try Tensor.withNoGrad {
            guard let root = gradientNode else {
                guard requiresGrad else {
                    throw DeviceError.invalidArgument(
                        operation: "backward", message: "'\(label)' does not require a gradient (nothing recorded it)")
                }
                try GradientSink.accumulate(seed, intoLeaf: self)
                return
            }
            let pass = BackwardPass()
            try pass.add(seed, to: root)
            for node in try BackwardPass.topologicalOrder(from: root) {
                guard let gradient = pass.take(node), let backward = node.backward else {
                    node.release()
                    continue
                }
                try backward(gradient, GradientSink(pass: pass, node: node))
                node.release()
            }
        }
    }
}

/// The state of one backward pass: the gradient collected so far for each node not yet run.
final class BackwardPass {
    /// A gradient and whether this pass allocated its buffer (then later contributions may be
    /// added in place; otherwise the buffer may be shared, e.g. passed through by an addition).
    private struct Slot {
        var gradient: Tensor
        var owned: Bool
    }

    private var slots: [ObjectIdentifier: Slot] = [:]

    /// Removes and returns the gradient collected for `node`.
    func take(_ node: GradientNode) -> Tensor? {
        slots.removeValue(forKey: ObjectIdentifier(node))?.gradient
    }

    /// Adds `gradient` (any shape with the node's element count) to the node's slot.
    func add(_ gradient: Tensor, to node: GradientNode) throws {
        let gradient = try gradient.reshaped(node.shape)
        let key = ObjectIdentifier(node)
        guard let slot = slots[key] else {
            slots[key] = Slot(gradient: gradient, owned: false)
            return
        }
        if slot.owned {
            try GradientSink.addInPlace(gradient, into: slot.gradient)
        } else {
            slots[key] = Slot(gradient: try slot.gradient + gradient, owned: true)
        }
    }

    /// Lets `write(buffer, accumulate)` produce the node's gradient directly: into a fresh
    /// zeroed buffer (accumulate false) or into the owned buffer collected so far (true).
    func add(to node: GradientNode, writing write: (DeviceBuffer, Bool) throws -> Void) throws {
        let key = ObjectIdentifier(node)
        if let slot = slots[key], slot.owned {
            try write(slot.gradient.buffer, true)
            return
        }
        let fresh = try Tensor.zeros(device: node.device, shape: node.shape, label: "grad of \(node.operation)")
        try write(fresh.buffer, false)
        if let slot = slots[key] { try GradientSink.addInPlace(slot.gradient, into: fresh) }
        slots[key] = Slot(gradient: fresh, owned: true)
    }

    /// Every node reachable from `root`, each after all nodes that consume its output.
    static func topologicalOrder(from root: GradientNode) throws -> [GradientNode] {
        var postOrder: [GradientNode] = []
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
        // Iterative depth-first search: deep models would overflow a recursive one.
        var stack: [(node: GradientNode, nextInput: Int)] = [(root, 0)]
        while let top = stack.last {
            if top.node.isReleased {
                throw DeviceError.invalidArgument(
                    operation: "backward",
                    message:
                        "the graph through '\(top.node.operation)' was released by an earlier backward(); run the forward pass again"
                )
            }
            guard top.nextInput < top.node.inputs.count else {
                postOrder.append(top.node)
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].nextInput += 1
            if case .node(let input) = top.node.inputs[top.nextInput], visited.insert(ObjectIdentifier(input)).inserted
            {
                stack.append((input, 0))
            }
        }
        return postOrder.reversed()
    }
}

/// What a backward closure uses to hand over its inputs' gradients, by input index (the order
/// of `inputs` in `recorded`). Gradients for inputs that need none are skipped, so closures
/// can ask `needsGradient(i)` to avoid computing them at all.
struct GradientSink {
    fileprivate let pass: BackwardPass
    fileprivate let node: GradientNode

    /// True when input `index` wants a gradient.
    func needsGradient(_ index: Int) -> Bool {
        if case .none = node.inputs[index] { return false }
        return true
    }

    /// Adds `gradient` (same element count as the input) to input `index`'s gradient.
    func add(_ gradient: Tensor, to index: Int) throws {
        switch node.inputs[index] {
        case .none: return
        case .node(let input): try pass.add(gradient, to: input)
        case .leaf(let leaf): try GradientSink.accumulate(gradient, intoLeaf: leaf)
        }
    }

    /// For operations whose device call can add into its output (`matmul`'s β, `copy2D`'s
    /// accumulate): `write(buffer, accumulate)` must overwrite `buffer` with the gradient of
    /// input `index` when `accumulate` is false (the buffer is then freshly zeroed, so writing
    /// only a part of it is fine), or add the gradient to it when true.
    func add(to index: Int, accumulating write: (DeviceBuffer, Bool) throws -> Void) throws {
        switch node.inputs[index] {
        case .none: return
        case .node(let input): try pass.add(to: input, writing: write)
        case .leaf(let leaf):
            if let grad = leaf.grad {
                try write(grad.buffer, true)
            } else {
                let fresh = try Tensor.zeros(device: leaf.device, shape: leaf.shape, label: "grad of \(leaf.label)")
                try write(fresh.buffer, false)
                leaf.grad = fresh
            }
        }
    }

    /// For device calls that only overwrite: `write(buffer)` writes the gradient of input
    /// `index` into a buffer of the input's size; it is written straight into a fresh gradient
    /// when possible, else into a temporary that is then added.
    func add(to index: Int, overwriting write: (DeviceBuffer) throws -> Void) throws {
        try add(
            to: index,
            accumulating: { buffer, accumulate in
                guard accumulate else { return try write(buffer) }
                let shape = try inputShape(index)
                let temporary = try Tensor.zeros(device: node.device, shape: shape, label: "grad of \(node.operation)")
                try write(temporary.buffer)
                try GradientSink.addInPlace(
                    temporary, into: Tensor(unchecked: node.device, shape: shape, buffer: buffer))
            })
    }

    /// Shape of input `index`'s gradient.
    private func inputShape(_ index: Int) throws -> [Int] {
        switch node.inputs[index] {
        case .node(let input): return input.shape
        case .leaf(let leaf): return leaf.shape
        case .none:
            throw DeviceError.invalidArgument(operation: node.operation, message: "input \(index) needs no gradient")
        }
    }

    /// Adds `gradient` to a leaf's `grad`, allocating it (as a copy: the gradient's buffer may
    /// be shared with other tensors) on first use.
    static func accumulate(_ gradient: Tensor, intoLeaf leaf: Tensor) throws {
        guard gradient.count == leaf.count else {
            throw DeviceError.shapeMismatch(
                operation: "gradient of '\(leaf.label)'", lhs: gradient.shape, rhs: leaf.shape)
        }
        if let grad = leaf.grad {
            try addInPlace(gradient, into: grad)
        } else {
            let copy = try Tensor.zeros(device: leaf.device, shape: leaf.shape, label: "grad of \(leaf.label)")
            try leaf.device.unary(.scale(1), gradient.buffer, out: copy.buffer, count: leaf.count)
            leaf.grad = copy
        }
    }

    /// target += addend, elementwise over the target's element count.
    static func addInPlace(_ addend: Tensor, into target: Tensor) throws {
        let count = target.count
        guard addend.count == count else {
            throw DeviceError.shapeMismatch(
                operation: "gradient accumulation into '\(target.label)'", lhs: addend.shape, rhs: target.shape)
        }
        try target.device.binary(
            .add, target.buffer, addend.buffer, out: target.buffer,
            shape: BroadcastShape(dims: [1, 1, 1, count], aStrides: [0, 0, 0, 1], bStrides: [0, 0, 0, 1]))
    }
}
