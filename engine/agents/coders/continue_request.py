"""The old chat request, "continue this code, do not repeat it" (`coder.prompt: continue`).

Kept as a named variant so the tables can separate the prompt's effect from the loop's.
"""

from __future__ import annotations

from engine.config import CoderPrompts
from engine.types import Task


def build_messages(
    task: Task,
    prefix: str,
    feedback: tuple[str, ...] = (),
    *,
    next_line_only: bool = False,
    prompts: CoderPrompts | None = None,
) -> list[dict[str, str]]:
    """The old "continue this code" chat request (`coder.prompt: continue`); nothing hidden."""
    p = prompts or CoderPrompts()
    parts = []
    if task.instruction:
        parts.append(p.task.format(instruction=task.instruction.strip()))
    ask = "the next line" if next_line_only else "the rest of the code"
    parts.append(p.code.format(ask=ask, prefix=prefix))
    if task.suffix.strip():
        parts.append(p.suffix.format(suffix=task.suffix))
    if feedback:
        parts.append(p.feedback.format(rejected="\n".join(f"- {f}" for f in feedback)))
    return [{"role": "system", "content": p.system}, {"role": "user", "content": "\n".join(parts)}]
