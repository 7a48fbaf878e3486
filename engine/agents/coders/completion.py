"""Request styles for completion models: the raw prefix, or fill-in-the-middle.

`completion` sends the code so far as is to `/v1/completions` and reads the text that follows;
inside a function it stops at the next top-level statement (what comes after the function is
not part of the task). `fim` wraps prefix and suffix in Qwen2.5-Coder's fill-in-the-middle tokens
(`<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>`), so code after the cursor is context, never rewritten.
llama.cpp's server (the bundled model's) serves both.
"""

from __future__ import annotations

from typing import Any

from engine.agents.coders.align import open_function
from engine.agents.coders.drafts import RequestStyle
from engine.agents.coders.streaming import Read
from engine.config import LLMConfig
from engine.llm.client import ChatResult, LLMClient
from engine.types import Task

FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"
# A new top-level statement after the function: the raw completion is over.
TOP_LEVEL_STOP = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert ", "\n#"]
FIM_STOP = ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>"]


def fim_prompt(prefix: str, suffix: str) -> str:
    """Qwen's fill-in-the-middle prompt for the code between `prefix` and `suffix`."""
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}"


def raw_prompt(task: Task, prefix: str) -> str:
    """The raw completion prompt: the instruction as a comment when there is one, then the code."""
    if not task.instruction.strip():
        return prefix
    comment = "\n".join(f"# {line}".rstrip() for line in task.instruction.strip().split("\n"))
    return f"{comment}\n{prefix}"


def read_completion(prefix: str, text: str, cut_off: bool) -> tuple[list[str], bool, str]:
    """The lines a raw completion adds; inside a function, the first top-level line ends them."""
    if prefix and not prefix.endswith("\n"):  # the completion finishes the prefix's last line first
        text = text.split("\n", 1)[1] if "\n" in text else ""
    lines = text.replace("\t", "    ").split("\n")
    inside = open_function(prefix.rstrip("\n").split("\n")) is not None
    out: list[str] = []
    for line in lines:
        if inside and line.strip() and not line[0].isspace():
            while out and not out[-1].strip():
                out.pop()
            return out, True, "top_level"
        out.append(line.rstrip())
    if cut_off:
        out = out[:-1]
    while out and not out[-1].strip():
        out.pop()
    return out, not cut_off, "cut_off" if cut_off else "reply_end"


class _RawStyle(RequestStyle):
    """Completion models: `/v1/completions`, the answer read as the text after the prompt."""

    def __init__(self, client: LLMClient, llm: LLMConfig):
        self.client = client
        self.llm = llm

    def reader(self, task: Task, prefix: str) -> Read:
        return lambda text, cut: read_completion(prefix, text, cut)

    async def _send(self, n: int, temperature: float, seed: int | None, request: dict[str, Any]) -> ChatResult:
        return await self.client.complete(n=n, temperature=temperature, seed=seed, **request)


class CompletionStyle(_RawStyle):
    """The raw prefix on `/v1/completions`, stopped at the next top-level statement."""

    name = "completion"

    def _request(self, task: Task, prefix: str, evidence: tuple[str, ...], where: str = "") -> dict[str, Any]:
        inside = open_function(prefix.rstrip("\n").split("\n")) is not None
        return {
            "prompt": raw_prompt(task, prefix),
            "stop": TOP_LEVEL_STOP if inside else None,
            "context": f"{where or task.task_id} completion",
        }


class FimStyle(_RawStyle):
    """Fill-in-the-middle: prefix and the code after the cursor, Qwen's FIM tokens."""

    name = "fim"

    def _request(self, task: Task, prefix: str, evidence: tuple[str, ...], where: str = "") -> dict[str, Any]:
        inside = open_function(prefix.rstrip("\n").split("\n")) is not None
        return {
            "prompt": fim_prompt(raw_prompt(task, prefix), task.suffix),
            "stop": FIM_STOP + (TOP_LEVEL_STOP if inside and not task.suffix.strip() else []),
            "context": f"{where or task.task_id} fim",
        }
