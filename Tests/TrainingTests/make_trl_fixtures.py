#!/usr/bin/env python3
"""Prints Tests/TrainingTests/TRLFixtures.swift: KTO and ORPO losses, their gradients and metrics,
computed once by TRL's own code (TRL 1.16.0: `trl.KTOTrainer._compute_loss` and
`trl.experimental.orpo.ORPOTrainer.get_batch_loss_metrics` with `odds_ratio_loss`) on fixed
sequence log-probs.

The trainers' methods run unbound, on a stand-in `self` that holds the settings and a stand-in
model whose per-token log-probs put each sequence's summed (KTO) log-prob in one position, so the
loss arithmetic, the KL estimate, the weights and the metrics are TRL's, not a re-implementation.
Gradients are torch autograd's with respect to the policy's sequence log-probs (KTO), and to the
chosen and rejected mean log-probs and the NLL (ORPO). Usage (TRL is not an interop client of the
tests; install it only to regenerate):

    .venv/bin/pip install trl==1.16.0
    .venv/bin/python Tests/TrainingTests/make_trl_fixtures.py > Tests/TrainingTests/TRLFixtures.swift
"""
from collections import defaultdict
from types import SimpleNamespace

import torch
import trl
from trl import KTOTrainer
from trl.experimental.orpo import ORPOTrainer

assert trl.__version__ == "1.16.0", trl.__version__

generator = torch.Generator().manual_seed(20261207)


def uniform(count, low, high):
    return (low + (high - low) * torch.rand(count, generator=generator)).float()


def floats(values):
    values = values.detach().reshape(-1).tolist() if torch.is_tensor(values) else list(values)
    return "[" + ", ".join("%.9g" % float(v) for v in values) + "]"


def bools(values):
    return "[" + ", ".join("true" if v else "false" for v in values) + "]"


ACCELERATOR = SimpleNamespace(device="cpu", gather_for_metrics=lambda x: x, unwrap_model=lambda m: m)


def kto(labels, beta, desirable_weight, undesirable_weight, kl_shift):
    """One KTO batch through TRL's `_compute_loss`; kl_shift moves the KL sequences' log-probs."""
    count = len(labels)
    width = 5
    policy = uniform(count, -30, -8)
    reference = policy + uniform(count, -3, 3)
    policy_kl = uniform(count, -40, -15)
    reference_kl = policy_kl - uniform(count, -1, 1) - kl_shift
    leaf = policy.double().clone().requires_grad_(True)

    def model(**kwargs):
        # The sequence's log-prob sits in the last position; the sum over positions is TRL's.
        log_probs = torch.cat((torch.zeros(count, width - 2, dtype=torch.float64), leaf[:, None]), dim=1)
        zeros = torch.zeros(count, width - 1, dtype=torch.float64)
        return SimpleNamespace(log_probs=log_probs, entropy=zeros, mean_logits=zeros)

    model.training = True
    stand_in = SimpleNamespace(
        model=model, accelerator=ACCELERATOR, calculate_KL=True, precompute_ref_logps=True, loss_type="kto",
        beta=beta, desirable_weight=desirable_weight, undesirable_weight=undesirable_weight,
        _metrics={"train": defaultdict(list)}, aux_loss_enabled=False, _total_train_tokens=0, _tp_size=1,
        _compute_kl_logps=lambda model, batch: policy_kl.double())
    batch = {
        "input_ids": torch.ones(count, width, dtype=torch.long),
        "attention_mask": torch.ones(count, width, dtype=torch.long),
        "completion_mask": torch.tensor([[0, 0, 1, 1, 1]] * count),
        "label": torch.tensor(labels),
        "ref_logps": reference.double(),
        "ref_KL_logps": reference_kl.double(),
    }
    loss = KTOTrainer._compute_loss(stand_in, model, batch, False)
    loss.backward()
    metrics = {name: values[-1] for name, values in stand_in._metrics["train"].items()}
    return f"""        KTOCase(
            beta: {beta}, desirableWeight: {desirable_weight}, undesirableWeight: {undesirable_weight},
            labels: {bools(labels)},
            policy: {floats(policy)},
            reference: {floats(reference)},
            policyKL: {floats(policy_kl)},
            referenceKL: {floats(reference_kl)},
            loss: {loss.item():.12g}, gradient: {floats(leaf.grad)},
            kl: {metrics["kl"]:.12g}, chosenReward: {metrics["rewards/chosen"]:.12g},
            rejectedReward: {metrics["rewards/rejected"]:.12g}),"""


def orpo(count, beta):
    """One ORPO batch through TRL's `get_batch_loss_metrics`."""
    chosen = uniform(count, -2.5, -0.05).double().requires_grad_(True)
    rejected = uniform(count, -2.5, -0.05).double().requires_grad_(True)
    nll = torch.tensor(float(uniform(1, 0.5, 2.5)), dtype=torch.float64, requires_grad=True)
    logits = torch.zeros(count, 3, dtype=torch.float64)
    stand_in = SimpleNamespace(
        beta=beta, accelerator=ACCELERATOR, aux_loss_enabled=False,
        concatenated_forward=lambda model, batch: (chosen, rejected, logits, logits, nll))
    stand_in.odds_ratio_loss = lambda c, r: ORPOTrainer.odds_ratio_loss(stand_in, c, r)
    loss, metrics = ORPOTrainer.get_batch_loss_metrics(stand_in, None, {}, "train")
    loss.backward()
    return f"""        ORPOCase(
            beta: {beta},
            chosen: {floats(chosen)},
            rejected: {floats(rejected)},
            nll: {nll.item():.9g},
            loss: {loss.item():.12g},
            chosenGradient: {floats(chosen.grad)},
            rejectedGradient: {floats(rejected.grad)},
            nllGradient: {nll.grad.item():.12g},
            logOddsRatio: {metrics["log_odds_ratio"]:.12g}, logOddsChosen: {metrics["log_odds_chosen"]:.12g}),"""


def main():
    kto_cases = [
        kto([True, False, True, True, False, False], 0.1, 1.0, 1.0, kl_shift=2.0),
        kto([True, True, False, True, False, True, True], 0.5, 1.0, 1.33, kl_shift=4.0),
        # The KL sequences' log-ratios average below 0: TRL clamps the estimate to 0.
        kto([False, True, False, False, True], 0.2, 1.2, 1.0, kl_shift=-3.0),
    ]
    orpo_cases = [orpo(4, 0.1), orpo(6, 0.25)]
    print("// Generated by make_trl_fixtures.py (TRL 1.16.0); do not edit.")
    print()
    print("/// KTO and ORPO computed by TRL's own trainer code on fixed sequence log-probs.")
    print("enum TRLFixtures {")
    print("    struct KTOCase {")
    print("        let beta, desirableWeight, undesirableWeight: Float")
    print("        /// Desirable (true) or undesirable, per example.")
    print("        let labels: [Bool]")
    print("        /// Summed completion log-probs of the policy and reference, and of the KL sequences")
    print("        /// (each prompt with the previous example's completion).")
    print("        let policy, reference, policyKL, referenceKL: [Float]")
    print("        let loss: Double")
    print("        /// ∂loss/∂policy.")
    print("        let gradient: [Double]")
    print("        let kl, chosenReward, rejectedReward: Double")
    print("    }")
    print()
    print("    struct ORPOCase {")
    print("        let beta: Float")
    print("        /// Mean per-token completion log-probs of the chosen and rejected completions.")
    print("        let chosen, rejected: [Float]")
    print("        let nll: Float")
    print("        let loss: Double")
    print("        let chosenGradient, rejectedGradient: [Double]")
    print("        let nllGradient, logOddsRatio, logOddsChosen: Double")
    print("    }")
    print()
    print("    static let kto: [KTOCase] = [")
    for case in kto_cases:
        print(case)
    print("    ]")
    print()
    print("    static let orpo: [ORPOCase] = [")
    for case in orpo_cases:
        print(case)
    print("    ]")
    print("}")


if __name__ == "__main__":
    main()
