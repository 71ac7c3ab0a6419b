"""Renders chat templates with Jinja2 the way transformers does (trim_blocks, lstrip_blocks,
loopcontrols, sandboxed) and writes chat-template-cases.json for ChatTemplateTests.

The templates are the shipped ones for plain messages (tool branches left out), as in
tokenizer_config.json of: a generic ChatML fine-tune, Qwen2.5-Instruct (default system prompt),
Meta-Llama-3-8B-Instruct, and Llama-3.1-8B-Instruct (date header)."""
import json
from datetime import datetime

from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = {
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    "qwen2.5": "{%- if messages[0]['role'] == 'system' %}\n    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n{%- else %}\n    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\") %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n",
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    "llama3.1": "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n{%- endif %}\n\n{#- This block extracts the system message, so we can slot it into the right place. #}\n{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n\n{#- System message #}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{{- system_message }}\n{{- \"<|eot_id|>\" }}\n\n{%- for message in messages %}\n    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n",
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of Varn?"}, {"role": "assistant", "content": "Tolbek"}],
    [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "  Hi there \n"},
     {"role": "assistant", "content": " Hello! \n\n"}, {"role": "user", "content": "2 + 2?"},
     {"role": "assistant", "content": "4"}],
    [{"role": "system", "content": "Answer in a full sentence."}, {"role": "user", "content": "Où est Zürich? 🏔"}],
]


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(Exception(message))
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    cases = []
    for name, source in TEMPLATES.items():
        template = env.from_string(source)
        for messages in CONVERSATIONS:
            for generation in (False, True):
                text = template.render(messages=messages, add_generation_prompt=generation, bos_token="<|begin_of_text|>",
                                       eos_token="<|eot_id|>")
                cases.append({"template": name, "messages": messages, "add_generation_prompt": generation, "text": text})
    with open("chat-template-cases.json", "w") as file:
        json.dump({"templates": TEMPLATES, "cases": cases}, file, indent=1, ensure_ascii=False)
        file.write("\n")


if __name__ == "__main__":
    main()
