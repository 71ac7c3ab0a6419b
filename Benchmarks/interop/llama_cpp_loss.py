"""llama.cpp's loss for a GGUF file: python llama_cpp_loss.py FILE.gguf TOKENIZER_FOLDER TEXT (ids from the
folder's tokenizer.json, no special tokens). Compare with `gputrain eval --model FOLDER --data TEXT_FILE --json`."""
import sys, numpy as np
from llama_cpp import Llama
from tokenizers import Tokenizer
gguf, folder, text = sys.argv[1], sys.argv[2], sys.argv[3]
ids = Tokenizer.from_file(folder + "/tokenizer.json").encode(text, add_special_tokens=False).ids
llm = Llama(model_path=gguf, logits_all=True, verbose=False, n_ctx=128)
llm.eval(ids)
logits = np.array(llm.scores[:len(ids)], dtype=np.float64)
lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
nll = lse[:-1] - logits[np.arange(len(ids)-1), ids[1:]]
print("llama.cpp loss", nll.mean(), "tokens", len(ids)-1)
