import Core

/// Which modules LoRA adapts (`target_modules`, PEFT's rule, docs/formats.md §7.2): a list of names,
/// each matching a module whose path is the name or ends with "." + name; one regular
/// expression that must match the whole module path; "all-linear" (every projection of the
/// transformer blocks, never the output head); or "default", PEFT's choice for the family.
public enum LoRATargets: Codable, Equatable, Sendable {
    case familyDefault
    case names([String])
    case pattern(String)
    case allLinear

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let names = try? container.decode([String].self) {
            self = .names(names)
        } else {
            let text = try container.decode(String.self)
            self = text == "all-linear" ? .allLinear : text == "default" ? .familyDefault : .pattern(text)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .names(let names): try container.encode(names)
        case .pattern(let pattern): try container.encode(pattern)
        case .allLinear: try container.encode("all-linear")
        case .familyDefault: try container.encode("default")
        }
    }

    /// Whether the module at `path` (e.g. "model.layers.0.self_attn.q_proj") is adapted, where
    /// `familyDefault` are the names "default" stands for (PEFT's choice for the model's family).
    public func matches(_ path: String, familyDefault: [String]) -> Bool {
        switch self {
        case .familyDefault: return Self.names(familyDefault).matches(path, familyDefault: familyDefault)
        case .allLinear: return true
        case .names(let names): return names.contains { path == $0 || path.hasSuffix("." + $0) }
        case .pattern(let pattern):
            guard let regex = try? Regex(pattern) else { return false }
            return path.wholeMatch(of: regex) != nil
        }
    }
}

/// A LoRA recipe (the `lora:` section of every post-training stage; PEFT's `LoraConfig`,
/// docs/formats.md §7.1): each adapted projection W₀ gains W₀x + s·B·A·dropout(x), with A [r, in]
/// and B [out, r] trained and W₀ frozen. A rank `r` of 0 (the default) trains every weight instead.
public struct LoRASettings: Codable, Equatable, Sendable {
    /// The rank of each adapter; 0 turns LoRA off.
    public var r = 0
    /// The scale's numerator: s = alpha / r (or alpha / √r with `use_rslora`).
    public var alpha = 16.0
    /// Dropout on the adapters' input while training.
    public var dropout = 0.0
    /// The adapted modules.
    public var targetModules = LoRATargets.familyDefault
    /// Rank-stabilised scaling (alpha / √r).
    public var useRslora = false
    /// Seed of A's initialisation.
    public var seed = 0

    /// A recipe; by default LoRA is off (rank 0), with alpha 16, no dropout and PEFT's default targets.
    public init(
        r: Int = 0, alpha: Double = 16, dropout: Double = 0, targetModules: LoRATargets = .familyDefault,
        useRslora: Bool = false, seed: Int = 0
    ) {
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
        self.useRslora = useRslora
        self.seed = seed
    }

    /// Whether LoRA is on.
    public var isEnabled: Bool { r > 0 }

    /// The factor s applied to B·A.
    public var scale: Float { Float(useRslora ? alpha / Double(r).squareRoot() : alpha / Double(r)) }

    /// What is wrong with the settings (naming the field of the `lora:` section), or nil.
    public var problem: String? {
        guard r >= 0 else { return "'lora.r' must be a rank ≥ 0 (0 turns LoRA off), got \(r)" }
        guard alpha > 0 else { return "'lora.alpha' must be positive, got \(alpha)" }
        guard (0..<1).contains(dropout) else { return "'lora.dropout' must be in [0, 1), got \(dropout)" }
        if case .pattern(let pattern) = targetModules, (try? Regex(pattern)) == nil {
            return "'lora.target_modules' is not a valid regular expression: '\(pattern)'"
        }
        return nil
    }
}
