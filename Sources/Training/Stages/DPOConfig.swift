import Core
import Datasets
import Formats
import Tensors

/// The preference-optimization recipe (`gputrain dpo --config …`, the `dpo:` section of a
/// pipeline config): DPO and its variants against a frozen reference, or reference-free SimPO.
public struct DPOConfig: Configuration, Equatable {
    public var run = RunSettings()
    /// The policy starts from `init_from` (the SFT model), which is also the reference.
    public var model = InitSettings()
    /// Preference pairs (docs/formats.md §6.3); `batch_size` below counts pairs.
    public var data = ChatDataSettings()
    public var train = LoopSettings()
    public var optim = OptimizerSettings()
    /// LoRA (rank > 0): train adapters on frozen weights instead of every weight.
    public var lora = LoRASettings()
    public var loss = PreferenceLossSettings()
    public var reference = ReferenceSettings()
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {
        data.path = "runs/tiny-world-data/world/preferences.jsonl"
        optim.learningRate = 1e-4
        optim.warmupSteps = 10
        optim.weightDecay = 0
    }
}

extension DPOConfig: PostTrainingConfiguration {
    public func validate() throws {
        try validatePostTraining()
        _ = try loss.objective(referenceFree: reference.mode == .none)
        if loss.type == .kto {
            try ConfigError.require(
                train.batchSize >= 2, "train.batch_size", train.batchSize,
                mustBe:
                    "at least 2 for loss.type kto, whose KL estimate pairs each prompt with another completion of its batch"
            )
        }
    }
}

/// Which preference loss, with its constants (`loss:` section), named as TRL names them.
public struct PreferenceLossSettings: Codable, Equatable, Sendable {
    /// Which loss of the DPO family, or SimPO.
    public var type = LossType.sigmoid
    /// β: the strength of the pull towards the reference (IPO's τ; SimPO's reward scale).
    public var beta = 0.1
    /// ε: the assumed fraction of flipped labels (sigmoid, conservative, robust, simpo).
    public var labelSmoothing = 0.0
    /// SimPO's target reward margin γ.
    public var simpoGamma = 0.5
    /// α: the weight of the chosen completions' negative log-likelihood added to the loss —
    /// TRL's `rpo_alpha` (RPO) for the DPO family, `cpo_alpha` for SimPO. It keeps the chosen
    /// answers likely while the rejected ones are pushed down; 0 turns it off. The NLL is each
    /// chosen completion's per-token mean, averaged over pairs (TRL averages over the batch's
    /// tokens), so that like the rest of the loss it does not depend on how pairs are batched.
    public var rpoAlpha = 0.0
    /// KTO's weights of the desirable and undesirable completions' terms (TRL's
    /// `desirable_weight`, `undesirable_weight`).
    public var desirableWeight = 1.0
    public var undesirableWeight = 1.0

    /// The losses `type` may name (TRL's `loss_type`).
    public enum LossType: String, ConfigChoice {
        /// DPO; with label smoothing, conservative DPO.
        case sigmoid
        case conservative, robust, ipo, hinge, simpo
        /// ORPO: the chosen completions' NLL plus β times the odds-ratio term, no reference.
        case orpo
        /// KTO, on unpaired desirable and undesirable completions against the reference.
        case kto
    }

    /// The loss these settings describe; `referenceFree` drops the reference (TRL's
    /// `reference_free`), which SimPO never has.
    public func objective(referenceFree: Bool) throws -> PreferenceObjective {
        try ConfigError.require(beta > 0 && beta.isFinite, "loss.beta", beta, mustBe: "a positive number")
        try ConfigError.require(
            rpoAlpha >= 0 && rpoAlpha.isFinite, "loss.rpo_alpha", rpoAlpha, mustBe: "0 (off) or a positive number")
        try ConfigError.require(simpoGamma.isFinite, "loss.simpo_gamma", simpoGamma, mustBe: "a number")
        try ConfigError.require(
            (0..<0.5).contains(labelSmoothing), "loss.label_smoothing", labelSmoothing, mustBe: "in [0, 0.5)")
        let epsilon = Float(labelSmoothing)
        let variant: DPOLoss.Variant
        switch type {
        case .sigmoid: variant = epsilon > 0 ? .conservative(labelSmoothing: epsilon) : .sigmoid
        case .conservative:
            try ConfigError.require(
                epsilon > 0, "loss.label_smoothing", labelSmoothing,
                mustBe: "above 0 (e.g. 0.1) for loss.type conservative; with 0 it is plain sigmoid")
            variant = .conservative(labelSmoothing: epsilon)
        case .robust: variant = .robust(labelSmoothing: epsilon)
        case .ipo: variant = .ipo
        case .hinge: variant = .hinge
        case .simpo:
            return PreferenceObjective(
                .simpo(SimPOLoss(beta: Float(beta), gamma: Float(simpoGamma), labelSmoothing: epsilon)),
                chosenNLLWeight: Float(rpoAlpha))
        case .orpo:
            try ConfigError.require(
                rpoAlpha == 0, "loss.rpo_alpha", rpoAlpha, mustBe: "0 for loss.type orpo, whose NLL term is built in")
            try ConfigError.require(
                labelSmoothing == 0, "loss.label_smoothing", labelSmoothing, mustBe: "0 for loss.type orpo")
            return PreferenceObjective(.orpo(ORPOLoss(beta: Float(beta))), chosenNLLWeight: 1)
        case .kto:
            try ConfigError.require(
                !referenceFree, "reference.mode", "none", mustBe: "cached or model: KTO needs a reference")
            try ConfigError.require(rpoAlpha == 0, "loss.rpo_alpha", rpoAlpha, mustBe: "0 for loss.type kto")
            try ConfigError.require(
                labelSmoothing == 0, "loss.label_smoothing", labelSmoothing, mustBe: "0 for loss.type kto")
            for (key, weight) in [
                ("loss.desirable_weight", desirableWeight), ("loss.undesirable_weight", undesirableWeight),
            ] {
                try ConfigError.require(weight > 0 && weight.isFinite, key, weight, mustBe: "a positive number")
            }
            return PreferenceObjective(
                .kto(
                    KTOLoss(
                        beta: Float(beta), desirableWeight: Float(desirableWeight),
                        undesirableWeight: Float(undesirableWeight))))
        }
        return PreferenceObjective(
            .dpo(DPOLoss(beta: Float(beta), variant: variant), referenceFree: referenceFree),
            chosenNLLWeight: Float(rpoAlpha))
    }
}

/// Where the reference log-probs come from (`reference:` section).
public struct ReferenceSettings: Codable, Equatable, Sendable {
    public var mode = ReferenceMode.cached
}

/// How the frozen reference is evaluated.
public enum ReferenceMode: String, ConfigChoice {
    /// Computed once before training from `model.init_from` and kept in `<run.out>/.cache` for later runs.
    case cached
    /// A frozen copy of `init_from` run at every step (twice the forward work, no file).
    case model
    /// No reference (reference-free DPO).
    case none
}

/// A preference loss as the stage applies it: a loss of the DPO family, SimPO, ORPO's odds-ratio
/// term or KTO, plus the chosen completions' negative log-likelihood where it is weighed in.
///
/// Each item is a pair of sequences with a label. For the pairwise losses they are a chosen and a
/// rejected completion, and the label is the probability that the chosen one is better (1 for a
/// hard label). For KTO they are a completion and its mismatched sequence (its prompt with another
/// completion, for the KL estimate), and the label is 1 (desirable) or 0 (undesirable).
public struct PreferenceObjective {
    /// The pairwise loss.
    public enum Pairwise {
        /// A DPO-family loss, against the reference unless `referenceFree`.
        case dpo(DPOLoss, referenceFree: Bool)
        /// SimPO (never uses a reference).
        case simpo(SimPOLoss)
        /// ORPO's odds-ratio term (never uses a reference; the NLL comes with weight 1).
        case orpo(ORPOLoss)
        /// KTO (always against the reference).
        case kto(KTOLoss)
    }

    /// What one batch of pairs scored.
    public struct Scored {
        /// The loss to minimise: the pairwise loss plus α·NLL.
        public var loss: Tensor
        /// The pairwise loss and its reward metrics.
        public var preference: PreferenceLossOutput
        /// The chosen completions' NLL, when it is part of the loss.
        public var chosenNLL: Tensor?
    }

    public var pairwise: Pairwise
    /// α of `rpo_alpha`; 0 leaves the NLL out.
    public var chosenNLLWeight: Float

    public init(_ pairwise: Pairwise, chosenNLLWeight: Float = 0) {
        self.pairwise = pairwise
        self.chosenNLLWeight = chosenNLLWeight
    }

    /// Why `label` does not fit this loss, or nil when it does: the sigmoid and conservative DPO
    /// losses take soft labels in [0, 1], KTO 1 (desirable) or 0 (undesirable), the others 1.
    public func labelProblem(_ label: Float) -> String? {
        switch pairwise {
        case .dpo(let loss, _) where loss.acceptsSoftLabels:
            return (0...1).contains(label) ? nil : "a chosen probability must be in [0, 1]"
        case .kto:
            return label == 0 || label == 1 ? nil : "a KTO label must be desirable (1) or undesirable (0)"
        case .dpo, .simpo, .orpo:
            return label == 1 ? nil : "soft labels (chosen_probability) need loss.type sigmoid or conservative"
        }
    }

    /// Whether the loss reads reference log-probs.
    public var needsReference: Bool {
        switch pairwise {
        case .dpo(_, let referenceFree): return !referenceFree
        case .kto: return true
        case .simpo, .orpo: return false
        }
    }

    /// The loss of the items `policy` against `reference` (ignored when the loss takes none), with
    /// their `labels` (nil: every label is 1).
    public func callAsFunction(policy: PairLogProbs, reference: PairLogProbs?, labels: [Float]? = nil) throws
        -> Scored
    {
        let labels = labels ?? Array(repeating: 1, count: policy.count)
        if let problem = labels.lazy.compactMap(labelProblem).first {
            throw DeviceError.invalidArgument(operation: "PreferenceObjective", message: problem)
        }
        let preference: PreferenceLossOutput
        switch pairwise {
        case .dpo(let loss, let referenceFree):
            preference = try loss(
                policy: policy, reference: referenceFree ? nil : reference, chosenProbabilities: labels)
        case .simpo(let loss): preference = try loss(policy: policy)
        case .orpo(let loss): preference = try loss(policy: policy)
        case .kto(let loss):
            guard let reference else {
                throw DeviceError.invalidArgument(operation: "PreferenceObjective", message: "KTO needs a reference")
            }
            preference = try loss(policy: policy, reference: reference, desirable: labels.map { $0 == 1 })
        }
        guard chosenNLLWeight > 0 else { return Scored(loss: preference.loss, preference: preference, chosenNLL: nil) }
        let nll = try policy.lengthNormalized().chosen.mean().negated()
        return Scored(
            loss: try preference.loss + nll.scaled(by: chosenNLLWeight), preference: preference, chosenNLL: nll)
    }
}
