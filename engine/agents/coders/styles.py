"""Choosing a draft style by name (`coder.prompt`): native, continue, completion, fim."""

from __future__ import annotations

from engine.agents.coders.completion import CompletionStyle, FimStyle
from engine.agents.coders.drafts import ContinueStyle, DraftStyle, NativeStyle
from engine.config import CoderPrompts, LLMConfig
from engine.llm.client import LLMClient


def make_style(
    name: str, client: LLMClient, llm: LLMConfig, prompts: CoderPrompts | None = None, *, stop: bool = True
) -> DraftStyle:
    """The draft style `coder.prompt` names; `stop=False` lets native replies run past their code."""
    if name == "native":
        return NativeStyle(client, llm, stop=None if stop else [])
    if name == "continue":
        return ContinueStyle(client, llm, prompts)
    if name == "completion":
        return CompletionStyle(client, llm)
    if name == "fim":
        return FimStyle(client, llm)
    raise ValueError(f"unknown coder.prompt {name!r} (native, continue, completion, fim)")
