#!/usr/bin/env python3
"""Writes Tests/ModelsTests/Fixtures/whole-model/<model>/{grads.safetensors,steps.json}: whole-model
reference numbers, as llm.c checks its GPT-2 against PyTorch, for the tiny fixture models
Tests/FormatsTests/Fixtures/gpt2-tiny (tied head, Conv1D weights) and llama-tiny (untied head).

For each model, loaded with transformers in float32 (eager attention, eval mode so no dropout):

- The batch: the fixture's two reference.json texts' token ids, both cut to the shorter length
  L, as a [2, L] batch. The loss is the mean next-token cross-entropy over its 2·(L − 1)
  predictions (each row's last position predicts nothing).
- grads.safetensors: the gradient of that loss with respect to every parameter, by its Hugging
  Face name and in its Hugging Face shape (GPT-2's Conv1D weights [in, out]; a tied head has no
  `lm_head.weight`, its gradient is part of the embedding's), after one forward/backward from the
  checkpoint's weights. float32.
- steps.json: the batch, the optimizer settings, and the loss (before the update) and global
  gradient norm (before clipping) of each of STEPS steps of `torch.optim.AdamW` on that batch
  from the checkpoint's weights, with a constant learning rate, `clip_grad_norm_` before every
  step, and weight decay only on parameters of rank >= 2 (gputrain's rule, docs/formats.md §6.9:
  matrices and embeddings decay; biases and norm weights do not), plus the loss after the last
  update.

Generated with torch 2.15.0 and transformers 5.25.0 (the versions are also written into both
files). Usage, from the repository root:

    .venv/bin/python Tests/ModelsTests/make_whole_model_fixture.py
"""
import json
import os
import re

import safetensors
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FIXTURES = os.path.join(HERE, "..", "FormatsTests", "Fixtures")
OUTPUT = os.path.join(HERE, "Fixtures", "whole-model")
MODELS = ["gpt2-tiny", "llama-tiny"]

STEPS = 10
LEARNING_RATE = 1e-3
BETAS = (0.9, 0.95)
EPSILON = 1e-8
WEIGHT_DECAY = 0.1
MAX_GRAD_NORM = 1.0


def load(name):
    model = AutoModelForCausalLM.from_pretrained(
        os.path.join(MODEL_FIXTURES, name), dtype=torch.float32, attn_implementation="eager")
    model.eval()  # no dropout; gradients are still computed
    return model


def batch(name):
    """The reference texts' ids, cut to the shortest one's length: [2, L] int64."""
    with open(os.path.join(MODEL_FIXTURES, name, "reference.json")) as f:
        cases = json.load(f)["cases"]
    length = min(len(case["ids"]) for case in cases)
    return torch.tensor([case["ids"][:length] for case in cases], dtype=torch.long)


def mean_loss(model, ids):
    """Mean next-token cross-entropy: position t predicts ids[:, t + 1]."""
    logits = model(input_ids=ids).logits
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def gradients(name, ids):
    model = load(name)
    loss = mean_loss(model, ids)
    loss.backward()
    # named_parameters lists a tied head once, under the embedding's name.
    return loss.item(), {key: p.grad.detach().contiguous().clone() for key, p in model.named_parameters()}


def adamw_steps(name, ids):
    model = load(name)
    decayed = [p for p in model.parameters() if p.ndim >= 2]
    plain = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": WEIGHT_DECAY}, {"params": plain, "weight_decay": 0.0}],
        lr=LEARNING_RATE, betas=BETAS, eps=EPSILON)
    losses, norms = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = mean_loss(model, ids)
        loss.backward()
        losses.append(loss.item())
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM).item())
        optimizer.step()
    with torch.no_grad():
        final = mean_loss(model, ids).item()
    return losses, norms, final


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # one summation order, so regenerating gives the same bits
    versions = {"torch": torch.__version__, "transformers": transformers.__version__, "safetensors": safetensors.__version__}
    for name in MODELS:
        ids = batch(name)
        loss, grads = gradients(name, ids)
        losses, norms, final = adamw_steps(name, ids)
        assert abs(losses[0] - loss) < 1e-6, (losses[0], loss)
        folder = os.path.join(OUTPUT, name)
        os.makedirs(folder, exist_ok=True)
        # One metadata key: safetensors writes several in no fixed order, and the file should
        # come out the same byte for byte every time.
        generated_by = "Tests/ModelsTests/make_whole_model_fixture.py with " + ", ".join(
            f"{package} {version}" for package, version in versions.items()) + f"; loss {loss!r}"
        save_file(grads, os.path.join(folder, "grads.safetensors"), metadata={"generated_by": generated_by})
        steps = {
            "model": name,
            "generator": "Tests/ModelsTests/make_whole_model_fixture.py",
            "versions": versions,
            "ids": ids.tolist(),
            "loss_is": "mean next-token cross-entropy over the batch's 2*(L-1) predictions",
            "optimizer": {
                "learning_rate": LEARNING_RATE, "beta1": BETAS[0], "beta2": BETAS[1], "epsilon": EPSILON,
                "weight_decay": WEIGHT_DECAY, "decays": "parameters of rank >= 2", "max_grad_norm": MAX_GRAD_NORM,
            },
            "losses": losses,
            "grad_norms": norms,
            "final_loss": final,
        }
        text = json.dumps(steps, indent=1)
        # Lists of numbers on one line each.
        text = re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
        with open(os.path.join(folder, "steps.json"), "w") as f:
            f.write(text + "\n")
        print(name, "L =", ids.shape[1], "loss", loss, "->", final, "tensors", len(grads))


if __name__ == "__main__":
    main()
