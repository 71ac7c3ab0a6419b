import Core
import Formats
import Tensors

/// The LoRA adapters of one model: which projections are adapted, their scale, and whether
/// they are on. The adapter weights themselves live in the model's `ParameterStore` beside the
/// frozen base weights, as `<module>.lora_A.weight` [r, in] and `<module>.lora_B.weight` [out, r].
///
/// Turning the adapters off gives the base model back without a second copy of its weights:
/// the reference model of DPO, PPO and GRPO with LoRA (docs/formats.md §7.5).
public final class LoRAAdapters {
    /// The recipe: rank, scale, dropout and targets.
    public let settings: LoRASettings
    /// The adapted projections, in checkpoint order.
    public let modules: [LinearModule]
    /// Whether the adapters take part in the forward pass (off: the frozen base model).
    public var isEnabled = true
    /// The seed of this training step's adapter dropout; nil (evaluation, generation) for none.
    public var dropoutSeed: UInt64?
    private let moduleIndex: [String: Int]

    /// The adapters `settings` asks for on a model of `config`; throws when a target matches
    /// no projection, naming the targets and the projections there are.
    public init(settings: LoRASettings, config: ModelConfig) throws {
        self.settings = settings
        let candidates = ModelParameters.linearModules(for: config)
        let targets = settings.targetModules
        let familyDefault = config.family.defaultLoRATargets
        modules = candidates.filter { targets.matches($0.path, familyDefault: familyDefault) }
        var unmatched: [String] = []
        if case .names(let names) = targets {
            unmatched = names.filter { name in
                !candidates.contains { LoRATargets.names([name]).matches($0.path, familyDefault: familyDefault) }
            }
        }
        guard !modules.isEmpty, unmatched.isEmpty else {
            // Each projection by its path inside a block ("attn.c_proj", "self_attn.q_proj"): a name that picks it in every layer.
            let kinds = Set(
                candidates.map {
                    $0.path.split(separator: ".").drop { Int($0) == nil }.dropFirst().joined(separator: ".")
                })
            throw FormatError(
                file: "config",
                "'lora.target_modules' \(unmatched.isEmpty ? "" : "entry \(unmatched) ")matches no module of "
                    + "this \(config.modelType.rawValue) model; its projections are \(kinds.sorted().joined(separator: ", ")) "
                    + "(or use \"all-linear\")")
        }
        // A rank above a matrix's smaller side adds parameters without adding anything it can express.
        if let narrow = modules.first(where: { settings.r > min($0.inputs, $0.outputs) }) {
            throw FormatError(
                file: "config",
                "'lora.r' is \(settings.r), above the size of \(narrow.path) (\(narrow.inputs)×\(narrow.outputs)); "
                    + "choose a rank of at most \(min(narrow.inputs, narrow.outputs))")
        }
        moduleIndex = Dictionary(uniqueKeysWithValues: modules.enumerated().map { ($1.path, $0) })
    }

    /// The adapter parameters (trainable), A then B for each module.
    public var specs: [ParameterSpec] {
        modules.flatMap { module in
            [
                ParameterSpec(Self.aName(module.path), shape: [settings.r, module.inputs]),
                ParameterSpec(Self.bName(module.path), shape: [module.outputs, settings.r]),
            ]
        }
    }

    /// The name of module `path`'s A matrix.
    public static func aName(_ path: String) -> String { path + ".lora_A.weight" }
    /// The name of module `path`'s B matrix.
    public static func bName(_ path: String) -> String { path + ".lora_B.weight" }

    /// Whether `name` is an adapter parameter.
    public static func isAdapterParameter(_ name: String) -> Bool {
        name.hasSuffix(".lora_A.weight") || name.hasSuffix(".lora_B.weight")
    }

    /// PEFT's initialisation (`init_lora_weights: true`): A ~ U(−1/√in, 1/√in) drawn from the
    /// settings' seed, B = 0, so the adapted model starts equal to the base.
    public func initialize(in store: ParameterStore) throws {
        var random = SeededGenerator(seed: UInt64(settings.seed) ^ 0x10BA_AD00)
        for module in modules {
            let bound = 1 / Float(module.inputs).squareRoot()
            try store.load(
                Self.aName(module.path),
                values: (0..<(settings.r * module.inputs)).map { _ in
                    (random.nextUniform() * 2 - 1) * bound
                })
            try store.load(Self.bName(module.path), values: [Float](repeating: 0, count: module.outputs * settings.r))
        }
    }

    /// The adapter's contribution s·B·A·dropout(x) for module `path` on input rows `x`
    /// [rows, in], or nil when the module is not adapted or the adapters are off.
    public func delta(_ x: Tensor, module path: String, parameters: ParameterStore) throws -> Tensor? {
        guard isEnabled, let index = moduleIndex[path] else { return nil }
        var input = x
        if let seed = dropoutSeed, settings.dropout > 0 {
            input = try x.dropout(
                probability: Float(settings.dropout), seed: seed &+ UInt64(index + 1) &* 0xA24B_AED4_963E_E407)
        }
        let down = try Tensor.linear(input, weight: parameters.tensor(Self.aName(path)), layout: .outputInput)
        return try Tensor.linear(down, weight: parameters.tensor(Self.bName(path)), layout: .outputInput).scaled(
            by: settings.scale)
    }

    /// Runs `body` with the adapters off (the base model), restoring their state afterwards.
    public func disabled<T>(_ body: () throws -> T) rethrows -> T {
        let wasEnabled = isEnabled
        isEnabled = false
        defer { isEnabled = wasEnabled }
        return try body()
    }
}
