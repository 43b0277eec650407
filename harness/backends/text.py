"""Helpers every model backend shares: rendering prompts, per-sample seeds.

Stop-sequence truncation of generated text is `codeharness.core.extract.truncate_at_stop`.
"""

from __future__ import annotations

import hashlib

from codeharness.core.errors import HarnessError
from codeharness.core.records import Prompt


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render_prompt(tokenizer, prompt: Prompt, model: str) -> str:
    """The exact text the model continues: chat messages go through the tokenizer's chat
    template, ending with the assistant's turn opened."""
    if not prompt.is_chat:
        return prompt.text
    if not has_chat_template(tokenizer):
        raise HarnessError(f"model {model!r} has no chat template; use a completion prompt style "
                           "(--prompt completion)")
    return tokenizer.apply_chat_template(prompt.messages, tokenize=False, add_generation_prompt=True)


def sample_seed(seed: int, problem_id: str, sample_index: int) -> int:
    """A 63-bit seed for one sample, so its randomness depends neither on the order nor on
    the company in which it is generated."""
    digest = hashlib.sha256(f"{seed}\0{problem_id}\0{sample_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1
