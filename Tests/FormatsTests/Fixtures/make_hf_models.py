"""Generates the tiny Hugging Face model fixtures beyond gpt2-tiny and llama-tiny (run from this folder).

Each fixture is a folder written by transformers' `save_pretrained` (safetensors, random weights with
norms and biases perturbed so that a wrong convention shows up in the loss) with a `tokenizer.json`
trained by Hugging Face `tokenizers`, and `reference.json` in llama-tiny's schema: for each text the ids
`tokenizers` gives (`encode(text).ids`, special tokens added by the post-processor as transformers does)
and the mean next-token cross-entropy transformers computes for them. The loss always comes from the
folder as written: the model is reloaded with `from_pretrained(folder, dtype=torch.float32)`, so BF16 and
F16 weights are widened exactly to float32 and the loss is computed in float32, as gputrain does.

Needs `pip install torch transformers tokenizers`; the tests themselves never run Python.
"""
import json
import math
import os
import shutil

import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from make_tokenizer_cases import LLAMA3_REGEX, QWEN2_REGEX, save, sentencepiece_style

# Text the byte-level tokenizers are trained on (a few hundred merges' worth).
CORPUS = """The quick brown fox jumps over the lazy dog. A model reads text as tokens and predicts the next one.
Training lowers the loss; evaluation measures it on text the model has not seen.
def add(a, b):
    return a + b
for index in range(10):
    print(index * index)
The weather in the mountains changes quickly, so hikers carry warm clothes and water.
Numbers like 12, 345 and 6789 are split into digits or groups of digits.
Tokenizers turn words into pieces: common words stay whole, rare ones break into smaller parts.
She said that they're here, we've seen them, and I'll tell you when it's time.
""".splitlines()

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "Héllo wörld: naïve café, 日本語 and 😀!",
    "  Two spaces,\tthen a tab\nand 12345 or 3.14 on a new line.  ",
]

# Longer than the rope fixtures' original_max_position_embeddings, so that every scaled frequency band
# (kept, smoothed, divided) matters.
LONG_TEXT = ("Training lowers the loss; evaluation measures it on text the model has not seen. "
             "The weather in the mountains changes quickly, so hikers carry warm clothes and water. "
             "Tokenizers turn words into pieces: common words stay whole, rare ones break into smaller parts. "
             "Numbers like 12, 345 and 6789 are split into digits or groups of digits.")


# Tokenizers ---------------------------------------------------------------------------------------------


def byte_level(regex, special_tokens, vocab_size=320, bos=None, nfc=False, ignore_merges=False):
    """A byte-level BPE with a Split regex (Llama 3 or Qwen2 style), optionally NFC and a BOS template."""
    tokenizer = Tokenizer(models.BPE())
    if nfc:
        tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    byte_level_processor = processors.ByteLevel(trim_offsets=False)
    if bos is None:
        tokenizer.post_processor = byte_level_processor
    else:
        bos_id = tokenizer.token_to_id(bos)
        tokenizer.post_processor = processors.Sequence([byte_level_processor, processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)])])
    document = json.loads(tokenizer.to_str())
    document["model"]["ignore_merges"] = ignore_merges
    return document


def llama3_style():
    """Llama 3: cl100k regex, ignore_merges, <|begin_of_text|> prepended."""
    return byte_level(LLAMA3_REGEX, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
                      bos="<|begin_of_text|>", ignore_merges=True)


def qwen2_style():
    """Qwen2: NFC, single-digit regex, no BOS."""
    return byte_level(QWEN2_REGEX, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], nfc=True)


def sentencepiece_legacy():
    """Llama 2 / TinyLlama: Prepend("▁") + Replace normalizer, no pre-tokenizer, byte fallback, <s> template."""
    return sentencepiece_style()


def sentencepiece_metaspace():
    """Mistral v0.3-style non-legacy layout: Metaspace(prepend_scheme=first, split=false), no normalizer."""
    document = sentencepiece_style()
    document["normalizer"] = None
    document["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    document["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
        {"type": "ByteFallback"}, {"type": "Fuse"}]}
    return document


def gpt2_tiny():
    with open("gpt2-tiny/tokenizer.json", encoding="utf-8") as f:
        return json.load(f)


# Models -------------------------------------------------------------------------------------------------


def v4_rope_spelling(config, type_key):
    """Rewrites v5 `rope_parameters` into v4 `rope_theta` + `rope_scaling` (type under `type_key`)."""
    parameters = config.pop("rope_parameters")
    config["rope_theta"] = parameters.pop("rope_theta")
    kind = parameters.pop("rope_type")
    config["rope_scaling"] = None if kind == "default" else {type_key: kind, **parameters}
    return config


LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 16}

FIXTURES = [
    # name, config class, config arguments, tokenizer, options
    ("llama-gqa-tied", transformers.LlamaConfig,
     dict(hidden_size=48, intermediate_size=96, num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=True),
     llama3_style, {}),
    ("qwen2-tiny", transformers.Qwen2Config,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
          rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
     qwen2_style, {"extra_rows": 16}),
    ("llama3-rope-v4", transformers.LlamaConfig,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=2, head_dim=16,
          max_position_embeddings=256, rope_parameters=LLAMA3_ROPE),
     llama3_style, {"long": True, "rewrite": lambda c: v4_rope_spelling(c, "type")}),
    ("llama3-rope-v5", transformers.LlamaConfig,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
          max_position_embeddings=256, tie_word_embeddings=True,
          rope_parameters={**LLAMA3_ROPE, "factor": 4.0, "high_freq_factor": 2.0, "original_max_position_embeddings": 32}),
     llama3_style, {"long": True}),
    ("mistral-tiny", transformers.MistralConfig,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
          sliding_window=4096),
     sentencepiece_metaspace, {}),
    ("llama-bf16", transformers.LlamaConfig,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2),
     llama3_style, {"dtype": torch.bfloat16}),
    ("llama-sharded", transformers.LlamaConfig,
     dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2,
          attention_bias=True, mlp_bias=True),
     llama3_style, {"max_shard_size": "20KB"}),
    ("tinyllama-spm", transformers.LlamaConfig,
     dict(hidden_size=32, intermediate_size=80, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
          bos_token_id=1, eos_token_id=2),
     sentencepiece_legacy, {"dtype": torch.float16}),
    ("gpt2-f16-sharded", transformers.GPT2Config,
     dict(n_embd=32, n_layer=2, n_head=4, n_positions=64),
     gpt2_tiny, {"dtype": torch.float16, "max_shard_size": "30KB"}),
]


def special_token_ids(tokenizer):
    """bos/eos ids as the model family's real releases set them, from the tokenizer's own tokens."""
    for bos, eos in [("<s>", "</s>"), ("<|begin_of_text|>", "<|end_of_text|>"), (None, "<|endoftext|>")]:
        if tokenizer.token_to_id(eos) is not None:
            bos_id = tokenizer.token_to_id(bos) if bos else None
            if eos == "<|endoftext|>" and tokenizer.token_to_id("<|im_start|>") is None:
                bos_id = tokenizer.token_to_id(eos)  # GPT-2: one token is bos, eos and unk
            return {"bos_token_id": bos_id, "eos_token_id": tokenizer.token_to_id(eos), "pad_token_id": None}
    raise ValueError("tokenizer has no known end-of-text token")


def perturb(model, generator):
    """Norm weights 1 + N(0, 0.3²) and biases N(0, 0.3²): a convention error (no bias, eps, missing
    weight) then moves the loss visibly."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = 0.3 * torch.randn(parameter.shape, generator=generator)
            if name.endswith(".bias"):
                parameter.copy_(noise)
            elif "norm" in name or "ln_" in name:
                parameter.copy_(1 + noise)


def losses(model, ids_list):
    model.eval()  # from_config leaves dropout on (GPT-2 has 0.1)
    with torch.no_grad():
        return [model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss.item() for ids in ids_list]


def reference_case(tokenizer, text, ids, loss):
    """One case of reference.json; `decoded` (HF's decoding without special tokens) only where it is
    not the text itself (Metaspace decoders drop the first space)."""
    case = {"text": text, "ids": ids, "loss": loss}
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    if decoded != text:
        case["decoded"] = decoded
    return case


def make(name, config_class, arguments, make_tokenizer, options, seed):
    shutil.rmtree(name, ignore_errors=True)
    os.makedirs(name)
    save(make_tokenizer(), f"{name}/tokenizer.json")
    tokenizer = Tokenizer.from_file(f"{name}/tokenizer.json")
    texts = TEXTS + ([LONG_TEXT] if options.get("long") else [])
    ids_list = [tokenizer.encode(text).ids for text in texts]

    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True) + options.get("extra_rows", 0)
    defaults = dict(vocab_size=vocab_size, initializer_range=0.15, **special_token_ids(tokenizer))
    if config_class is not transformers.GPT2Config:
        defaults.update(num_hidden_layers=2, max_position_embeddings=128)
    config = config_class(**{**defaults, **arguments})
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    perturb(model, torch.Generator().manual_seed(seed))
    dtype = options.get("dtype", torch.float32)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(dtype).float())  # the stored values, still computed in float32
    in_memory = losses(model, ids_list)
    model.to(dtype).save_pretrained(name, max_shard_size=options.get("max_shard_size", "50GB"))
    if "rewrite" in options:
        path = f"{name}/config.json"
        with open(path, encoding="utf-8") as f:
            rewritten = options["rewrite"](json.load(f))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(rewritten, f, indent=2, sort_keys=True)
            f.write("\n")

    reloaded = transformers.AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, attn_implementation="eager")
    reference = losses(reloaded, ids_list)
    # The folder must say what the model in memory was (config rewrites included).
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(reference, in_memory)), (name, reference, in_memory)
    # The weights must matter: a model that ignores them would sit at ln(vocab).
    assert all(abs(loss - math.log(vocab_size)) > 0.05 for loss in reference), (name, reference)
    if getattr(config, "rope_parameters", None) and config.rope_parameters.get("rope_type") == "llama3":
        # The scaling must matter too: plain RoPE gives a loss on the long text that differs by
        # ten times the tests' tolerance.
        plain = json.loads(json.dumps(config.to_dict()))
        plain["rope_parameters"] = {"rope_type": "default", "rope_theta": config.rope_parameters["rope_theta"]}
        unscaled = transformers.AutoModelForCausalLM.from_pretrained(
            name, config=config_class.from_dict(plain), dtype=torch.float32, attn_implementation="eager")
        plain_losses = losses(unscaled, ids_list)
        assert abs(reference[-1] - plain_losses[-1]) > 1e-3 * reference[-1], (name, reference, plain_losses)
        print(f"{name}: with plain RoPE the losses would be {plain_losses}")

    with open(f"{name}/reference.json", "w", encoding="utf-8") as f:
        json.dump({"model": name, "transformers_loss_is": "mean next-token cross-entropy over the text's own ids",
                   "cases": [reference_case(tokenizer, *case) for case in zip(texts, ids_list, reference)]},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    sizes = sum(os.path.getsize(os.path.join(name, file)) for file in os.listdir(name))
    print(f"{name}: vocab {vocab_size}, {len(os.listdir(name))} files, {sizes} bytes, losses {reference}")


def main():
    for seed, fixture in enumerate(FIXTURES):
        make(*fixture, seed=100 + seed)


if __name__ == "__main__":
    main()
