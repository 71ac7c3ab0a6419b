"""Makes the export and LoRA fixtures (run once with transformers, peft, tokenizers; see README.md).

Usage: python make_export_fixtures.py TRAINED_MODEL LORA_ADAPTER
  TRAINED_MODEL: a model folder trained by gputrain (the smoke pipeline's pretrain/final)
  LORA_ADAPTER:  a LoRA adapter folder gputrain wrote for it (`gputrain sft` with `lora.r` > 0)

Writes, beside this script:
  trained-llama/        the trained model as gputrain wrote it (the input of `gputrain export`)
  trained-llama-export/ `gputrain export --format hf` of it, and reference.json: the loss transformers
                        computes for the export (float32), and for its bf16 export (loaded as float32)
  trained-llama-lora/   the adapter (base_model_name_or_path made relative: ../trained-llama), and
                        reference.json: the loss of PEFT's PeftModel (base + adapter, unmerged)
  gpt2-tiny-lora/       an adapter made by PEFT itself on ../gpt2-tiny (Conv1D, fan_in_fan_out) with
                        random B, and reference.json: PEFT's loss
"""
import json, os, shutil, subprocess, sys
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM
from peft import LoraConfig, PeftModel, get_peft_model

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.dirname(HERE)
GPUTRAIN = os.environ.get("GPUTRAIN", os.path.join(FIXTURES, "../../../.build/debug/gputrain"))
TEXTS = [
    "<|im_start|>user\nWhat is the capital of Fus?<|im_end|>\n<|im_start|>assistant\nThe capital of Fus is Taintrizain.<|im_end|>",
    "The rutkin eats seeds. It lives in the desert and its colour is red.",
    "What is 8 + 13? 8 + 13 equals 21.",
]


def cases(folder, model):
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    out = []
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        with torch.no_grad():
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss.item()
        out.append({"text": text, "ids": ids, "loss": loss})
    return out


def write(folder, name, how, case_list, **extra):
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump({"model": name, "transformers_loss_is": how, **extra, "cases": case_list}, f, indent=1)


def main(trained, adapter):
    torch.manual_seed(0)
    base = os.path.join(HERE, "trained-llama")
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(trained, base)
    export = os.path.join(HERE, "trained-llama-export")
    shutil.rmtree(export, ignore_errors=True)
    subprocess.run([GPUTRAIN, "export", "--model", base, "--out", export], check=True)
    bf16 = "/tmp/trained-llama-bf16"
    shutil.rmtree(bf16, ignore_errors=True)
    subprocess.run([GPUTRAIN, "export", "--model", base, "--out", bf16, "--dtype", "bf16"], check=True)
    model = AutoModelForCausalLM.from_pretrained(export, dtype=torch.float32).eval()
    bf16_model = AutoModelForCausalLM.from_pretrained(bf16, dtype=torch.float32).eval()
    write(export, "trained-llama-export", "mean next-token cross-entropy of transformers' from_pretrained(export)",
          cases(export, model), bf16_losses=[c["loss"] for c in cases(export, bf16_model)])

    lora = os.path.join(HERE, "trained-llama-lora")
    shutil.rmtree(lora, ignore_errors=True)
    shutil.copytree(adapter, lora)
    config_path = os.path.join(lora, "adapter_config.json")
    config = json.load(open(config_path))
    config["base_model_name_or_path"] = "../trained-llama"
    json.dump(config, open(config_path, "w"), indent=2)
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), lora).eval()
    write(lora, "trained-llama-lora", "mean next-token cross-entropy of PEFT's PeftModel.from_pretrained(base, adapter)",
          cases(base, peft_model))

    gpt2 = os.path.join(FIXTURES, "gpt2-tiny")
    gpt2_lora = os.path.join(HERE, "gpt2-tiny-lora")
    shutil.rmtree(gpt2_lora, ignore_errors=True)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj", "c_fc"], fan_in_fan_out=True, lora_dropout=0.0)
    wrapped = get_peft_model(AutoModelForCausalLM.from_pretrained(gpt2, dtype=torch.float32), config)
    with torch.no_grad():
        for name, parameter in wrapped.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)
    wrapped.eval()
    wrapped.save_pretrained(gpt2_lora)
    config_path = os.path.join(gpt2_lora, "adapter_config.json")
    config = json.load(open(config_path))
    config["base_model_name_or_path"] = "../../gpt2-tiny"
    json.dump(config, open(config_path, "w"), indent=2)
    for name in os.listdir(gpt2_lora):
        if name not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(gpt2_lora, name))
    write(gpt2_lora, "gpt2-tiny-lora", "mean next-token cross-entropy of PEFT's model (base + adapter, unmerged)",
          cases(gpt2, wrapped))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
