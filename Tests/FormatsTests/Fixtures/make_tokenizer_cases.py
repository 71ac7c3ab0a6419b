"""Generates the tokenizer fixtures the Swift tests compare against (run from this folder).

Writes `tokenizers/*.json` (variants of the two Hugging Face fixture tokenizers covering the other
pre-tokenizer regexes, ignore_merges, a BOS template, NFC, Digits, and a SentencePiece-style BPE with
byte fallback) and `tokenizer-cases.json`: for each tokenizer and text, the ids Hugging Face
`tokenizers` gives (with and without special tokens) and its decoding of them, plus decodings of
random id sequences. Needs `pip install tokenizers`; the tests themselves never run Python.
"""
import json
import random

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(document, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
        f.write("\n")


def variants():
    """name -> tokenizer.json document."""
    gpt2 = load("gpt2-tiny/tokenizer.json")
    llama = load("llama-tiny/tokenizer.json")
    result = {}

    llama3 = json.loads(json.dumps(llama))
    llama3["model"]["ignore_merges"] = True
    llama3["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [0], "tokens": ["<|begin_of_text|>"]}}}]}
    result["llama3-style"] = llama3

    qwen2 = json.loads(json.dumps(llama))
    qwen2["normalizer"] = {"type": "NFC"}
    qwen2["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = QWEN2_REGEX
    qwen2["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    result["qwen2-style"] = qwen2

    smollm = json.loads(json.dumps(gpt2))
    smollm["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    smollm["model"]["merges"] = [" ".join(pair) for pair in smollm["model"]["merges"]]  # legacy merge strings
    result["smollm-style"] = smollm

    prefixed = json.loads(json.dumps(gpt2))
    prefixed["pre_tokenizer"]["add_prefix_space"] = True
    prefixed["added_tokens"].append({"id": 400, "content": "<|im_start|>", "single_word": False, "lstrip": True,
                                     "rstrip": True, "normalized": False, "special": True})
    prefixed["added_tokens"].append({"id": 401, "content": "cat", "single_word": True, "lstrip": False,
                                     "rstrip": False, "normalized": True, "special": False})
    result["gpt2-prefix-space"] = prefixed

    custom = json.loads(json.dumps(gpt2))
    custom["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\d+"}, "behavior": "Contiguous", "invert": False},
        {"type": "Split", "pattern": {"String": ","}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"[.!?]"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    result["custom-splits-a"] = custom

    inverted = json.loads(json.dumps(gpt2))
    inverted["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\s+"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"[a-z]+"}, "behavior": "Isolated", "invert": True},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]}
    result["custom-splits-b"] = inverted

    spm = sentencepiece_style()
    metaspace = json.loads(json.dumps(spm))
    metaspace["normalizer"] = None
    metaspace["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    metaspace["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True},
        {"type": "ByteFallback"}, {"type": "Fuse"}]}
    result["metaspace-style"] = metaspace
    result["sentencepiece-style"] = spm
    return result


def sentencepiece_style():
    """A Llama-2-style BPE: byte fallback, <unk>/<s>/</s>, Prepend+Replace normalizer, no pre-tokenizer."""
    corpus = []
    rng = random.Random(3)
    words = "the a of to and in is it you that he was for on are with as I his they be at one have this from".split()
    for _ in range(3000):
        corpus.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + rng.choice([".", "!", "?", ","]))
    trained = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    trained.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    trained.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=200, special_tokens=[], limit_alphabet=40,
                                                            show_progress=False))
    document = json.loads(trained.to_str())
    learned = sorted(document["model"]["vocab"].items(), key=lambda item: item[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for byte in range(256):
        vocab["<0x%02X>" % byte] = len(vocab)
    for token, _ in learned:
        vocab.setdefault(token, len(vocab))
    special = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
                "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": document["model"]["merges"]},
    }


FIXED_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they'RE here, don't YOU think? It'S 'll 'VE 'd 'M x'ſ",
    "a  b   c    d\n\ne\n \n  f\t\tg \t h  ",
    "   leading and trailing   ",
    "\n\n\nx\r\n\r\ny\r\rz",
    "12 345 6789 1234567 3.14159 -42 1e10 ١٢٣٤٥ ² ½ Ⅻ",
    "def f(x):\n    return x**2  # square\n\n\tpass",
    "(word) [x] {y} \"quoted\" 'single' <tag> a->b c=>d !!!\n\n?? ...",
    "naïve café résumé e\u0301t\u0301 a\u0308o\u0308 Å Å",
    "日本語のテキストと中文文本，还有한국어.",
    "emoji 😀🎉👍🏽 ❤️‍🔥 🇫🇷🇩🇪 family 👨‍👩‍👧‍👦!",
    "Привет, мир! Γειά σου κόσμε. مرحبا بالعالم. नमस्ते दुनिया.",
    "nbsp\u00a0here ideographic\u3000space nel\u0085x vt\u000bff\u000cx zw\u200bj\u200dk bom\ufeffz \u2028\u2029",
    "<|endoftext|>hello<|endoftext|> world <|endoftext|>",
    "<|begin_of_text|><|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "a <|im_start|>  b  <|im_start|>c cat concat cat. _cat cat_",
    "<s>sentence</s> <unk> <0x41>",
    "",
    " ",
    "\n",
    "x" * 300 + " " + "ab" * 150,
    "\u0000\u0001\u001f control \u007f",
]

POOLS = [
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    list("0123456789"),
    [" ", " ", "  ", "   ", "\n", "\n\n", "\t", "\r\n", " \n"],
    list("!?.,;:'\"()[]{}-_/\\@#$%^&*+=<>|`~"),
    ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL"],
    list("的一是不了人我在有他这为之大来以个中上们日本語"),
    ["😀", "🎉", "👍🏽", "❤️", "🇫🇷", "👨‍👩‍👧", "🤖"],
    ["e\u0301", "a\u0308", "\u0301", "n\u0303", "\u20dd"],
    list("привет мир γειά σου مرحبا नमस्ते"),
    ["١", "٢", "²", "½", "\u00a0", "\u3000", "\u0085", "\u2028", "ſ", "ß", "İ"],
    ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<s>", "</s>", "<unk>"],
    ["the ", "and ", "of ", "he was ", "cat ", "hello ", "world"],
]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(1, 30)):
        pool = rng.choice(POOLS)
        parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
    return "".join(parts)


def main():
    import os
    os.makedirs("tokenizers", exist_ok=True)
    paths = {"gpt2-tiny": "gpt2-tiny/tokenizer.json", "llama-tiny": "llama-tiny/tokenizer.json"}
    for name, document in variants().items():
        paths[name] = f"tokenizers/{name}.json"
        save(document, paths[name])
    rng = random.Random(2024)
    texts = FIXED_TEXTS + [random_text(rng) for _ in range(40)]
    cases = []
    decodes = []
    for name, path in paths.items():
        tokenizer = Tokenizer.from_file(path)
        for text in texts:
            plain = tokenizer.encode(text, add_special_tokens=False).ids
            with_special = tokenizer.encode(text, add_special_tokens=True).ids
            decoded = tokenizer.decode(plain, skip_special_tokens=False)
            # Fields equal to the text or to `ids` are left out to keep the file small.
            case = {"tokenizer": name, "text": text, "ids": plain}
            if with_special != plain:
                case["ids_with_special_tokens"] = with_special
            if decoded != text:
                case["decoded"] = decoded
            case["decoded_skipping_special"] = tokenizer.decode(plain, skip_special_tokens=True)
            if case["decoded_skipping_special"] == decoded:
                del case["decoded_skipping_special"]
            cases.append(case)
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        for _ in range(15):
            ids = [rng.randrange(size) for _ in range(rng.randint(1, 12))]
            decodes.append({"tokenizer": name, "ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=False)})
    with open("tokenizer-cases.json", "w", encoding="utf-8") as f:
        # One case per line keeps the file small and its diffs readable.
        def lines(items):
            return ",\n".join(json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in items)
        f.write('{"generated_by": %s,\n"tokenizers": %s,\n"cases": [\n%s\n],\n"decodes": [\n%s\n]}\n' % (
            json.dumps(f"tokenizers {tokenizers.__version__} (make_tokenizer_cases.py)"),
            json.dumps(paths), lines(cases), lines(decodes)))


if __name__ == "__main__":
    main()
