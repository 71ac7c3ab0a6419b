"""PEFT's loss (or reward score) for a gputrain LoRA adapter folder on its base model.

Usage: python peft_loss.py BASE_FOLDER ADAPTER_FOLDER TEXT_FILE [--reward]
Prints the mean next-token loss of PeftModel.from_pretrained(base, adapter) on the text's ids
(tokenized with the base's tokenizer.json, no special tokens added), or with --reward the score
of AutoModelForSequenceClassification(num_labels=1) + the adapter for the whole text.
Compare with `gputrain eval --model ADAPTER_FOLDER --data TEXT_FILE --json` or `gputrain score`.
"""
import sys
import torch
from peft import PeftModel
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

base, adapter, text_file = sys.argv[1:4]
ids = Tokenizer.from_file(base + "/tokenizer.json").encode(open(text_file).read(), add_special_tokens=False).ids
x = torch.tensor([ids])
with torch.no_grad():
    if "--reward" in sys.argv:
        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=torch.float32)
        print("peft score", PeftModel.from_pretrained(model, adapter).eval()(input_ids=x).logits[0, 0].item())
    else:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        print("peft loss", PeftModel.from_pretrained(model, adapter).eval()(input_ids=x, labels=x).loss.item())
