import Tensors

/// One parameter as its model family declares it: the checkpoint key, the shape and the role.
/// Everything else about the parameter follows from these three: its place in the flat
/// parameter buffer, its weight decay, its fresh values, whether LoRA can adapt it.
public struct ParameterDeclaration: Sendable, Equatable {
    /// The checkpoint key, e.g. "model.layers.0.mlp.up_proj.weight".
    public var name: String
    /// Dimensions, outermost first (PyTorch order, as stored in checkpoints).
    public var shape: [Int]
    public var role: ParameterRole

    public init(_ name: String, shape: [Int], role: ParameterRole) {
        self.name = name
        self.shape = shape
        self.role = role
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The parameter as a `ParameterStore` lays it out: trainable, decayed as its role says.
    public var spec: ParameterSpec { ParameterSpec(name, shape: shape, decays: role.decays) }
}

/// What a parameter does in the forward pass, which decides its weight decay, its fresh values
/// (docs/formats.md §3.6) and whether LoRA can adapt it.
public enum ParameterRole: Sendable, Equatable {
    /// Rows looked up by id: a token or position embedding. Decayed; drawn N(0, σ).
    case embedding
    /// The untied LM head [vocab, hidden]. Decayed; drawn N(0, σ).
    case head
    /// A norm's scale. Not decayed; starts at 1.
    case normScale
    /// The bias of a norm or a projection. Not decayed; starts at 0.
    case bias
    /// The weight of a projection inside a transformer block, stored as `layout` says; `residual`
    /// when its output is added to the residual stream (attention output, MLP down projection).
    /// Decayed; drawn N(0, σ) with σ as the family's initialisation says; LoRA can adapt it.
    case projection(layout: WeightLayout, residual: Bool)

    /// Whether AdamW's weight decay applies: the Hugging Face Trainer's rule, which excludes
    /// biases and norm weights.
    public var decays: Bool {
        switch self {
        case .embedding, .head, .projection: return true
        case .normScale, .bias: return false
        }
    }
}

/// A projection's declared parameters: its weight and, when it has one, its bias.
struct ProjectionParameters: Sendable {
    /// The module path, e.g. "transformer.h.0.attn.c_attn": what LoRA targets and names its
    /// adapters after.
    let module: String
    let weight: ParameterDeclaration
    let bias: ParameterDeclaration?
    /// How the weight is stored.
    let layout: WeightLayout

    /// `module.weight` mapping `inputs` to `outputs` features, stored as `layout` says, and
    /// `module.bias` [outputs] when `bias`.
    init(_ module: String, inputs: Int, outputs: Int, layout: WeightLayout, bias: Bool, residual: Bool = false) {
        self.module = module
        self.layout = layout
        weight = ParameterDeclaration(
            module + ".weight", shape: layout == .inputOutput ? [inputs, outputs] : [outputs, inputs],
            role: .projection(layout: layout, residual: residual))
        self.bias = bias ? ParameterDeclaration(module + ".bias", shape: [outputs], role: .bias) : nil
    }

    /// Weight, then bias: checkpoint order.
    var all: [ParameterDeclaration] { [weight] + (bias.map { [$0] } ?? []) }
}
