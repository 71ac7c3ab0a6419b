#!/usr/bin/env python3
"""llama.cpp's losses for gputrain's GGUF exports (issue 6, acceptance item 4).

Two modes:

  python make_llama_cpp_losses.py record [EXPORT_DIR]
      Computes, with llama.cpp (llama-cpp-python), the mean next-token cross-entropy of every
      reference case of the Hugging Face fixtures on gputrain's F32 exports, and writes them with
      each file's SHA-256 to llama-cpp-losses.json next to this script. The exports come from
      EXPORT_DIR; without it the script makes them itself by running, from the repository root,
          GPUTRAIN_GGUF_EXPORT_DIR=<tmp> swift test --filter GGUFExportTests/testExportsMatchTheCommittedLlamaCppLosses
      (that test keeps its exports there; it fails on a changed export, which is why the figures
      are being remade, so its exit status is ignored).

  python make_llama_cpp_losses.py loss FILE IDS_JSON
      Prints (last line, JSON) llama.cpp's loss for each id list in IDS_JSON on the GGUF FILE;
      used by the live Swift test.

The exported models are the Hugging Face fixtures with attention and logits sharpened (query/key
weights x8, final norm x16; see Tests/ModelsTests/GGUFExportFixtures.swift), so that a wrong q/k
permutation or Conv1D layout moves the loss well beyond the 1e-3 tolerance.
The ids are evaluated directly (no tokenization), so no BOS is added: the loss is over exactly
the ids transformers and gputrain see.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent
REPOSITORY = HERE.parents[3]

# Export name -> Hugging Face fixture whose reference.json gives the ids (the tied Llama is the
# Llama fixture with tie_word_embeddings switched on; see GGUFExportFixtures.swift).
MODELS = {"llama-tiny": "llama-tiny", "llama-tiny-tied": "llama-tiny", "gpt2-tiny": "gpt2-tiny"}


def losses(path, id_lists):
    """Mean next-token cross-entropy of each id list under the model in the GGUF file at path."""
    from llama_cpp import Llama

    # n_ctx 0: the model's context_length. Default settings otherwise (F16 KV cache, as llama.cpp runs).
    llm = Llama(model_path=str(path), n_ctx=0, logits_all=True, verbose=False)
    result = []
    for ids in id_lists:
        llm.reset()
        llm.eval(ids)
        scores = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
        top = scores.max(axis=1, keepdims=True)
        log_partition = (top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True)))[:, 0]
        targets = np.asarray(ids[1:])
        positions = np.arange(len(ids) - 1)
        result.append(float(np.mean(log_partition[:-1] - scores[positions, targets])))
    return result


def reference_ids(fixture):
    cases = json.loads((FIXTURES / fixture / "reference.json").read_text(encoding="utf-8"))["cases"]
    return [case["ids"] for case in cases]


def export_with_swift(folder):
    env = dict(os.environ, GPUTRAIN_GGUF_EXPORT_DIR=str(folder))
    subprocess.run(
        ["swift", "test", "--filter", "GGUFExportTests/testExportsMatchTheCommittedLlamaCppLosses"],
        cwd=REPOSITORY, env=env, check=False)


def record(export_dir):
    import llama_cpp

    models = []
    for name, fixture in MODELS.items():
        path = Path(export_dir) / f"{name}.f32.gguf"
        if not path.is_file():
            sys.exit(f"{path} is missing: export it with gputrain first (see this script's docstring)")
        models.append({
            "name": name,
            "fixture": fixture,
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "losses": losses(path, reference_ids(fixture)),
        })
        print(name, models[-1]["losses"])
    document = {
        "about": "llama.cpp's mean next-token loss for each reference case of the fixture, on gputrain's F32 GGUF export "
                 "with this SHA-256; made by make_llama_cpp_losses.py",
        "llama_cpp_python": llama_cpp.__version__,
        "models": models,
    }
    (HERE / "llama-cpp-losses.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def main(arguments):
    if arguments[:1] == ["loss"] and len(arguments) == 3:
        id_lists = json.loads(Path(arguments[2]).read_text(encoding="utf-8"))
        print(json.dumps(losses(arguments[1], id_lists)))
    elif arguments[:1] == ["record"] and len(arguments) <= 2:
        if len(arguments) == 2:
            record(arguments[1])
        else:
            with tempfile.TemporaryDirectory() as folder:
                export_with_swift(folder)
                record(folder)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
