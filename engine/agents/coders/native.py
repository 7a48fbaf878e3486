"""The native chat request: the way a chat model's makers ask it for code.

A chat model is asked for the complete function (or program) with the code so far in a python
fence, in the words its makers evaluate it with ("Can you complete the following Python
function?"), under the chat template's own default system prompt (no system message is sent).
Its reply restates the code so far; `engine.agents.coders.align` turns it into the lines that
come after the committed prefix. The one-shot baseline sends exactly this request, once.
"""

from __future__ import annotations

import re

from engine.types import Task

ASK_FUNCTION = "Can you complete the following Python function?"
ASK_PROGRAM = "Can you complete the following Python code?"
NATIVE_MAX_TOKENS = 512  # what the makers' evaluation allows an answer; the reply explains its code too

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+\w+")


def native_messages(task: Task, prefix: str, evidence: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The chat messages of a native request for the code after `prefix` (never anything hidden).

    `evidence` (repair) lists what a previous attempt got wrong on the visible examples; it follows
    the fenced code so the request stays the native one with a note added.
    """
    ask = ASK_FUNCTION if any(_DEF.match(line) for line in prefix.split("\n")) else ASK_PROGRAM
    parts = []
    if task.instruction.strip():
        parts.append(task.instruction.strip() + "\n")
    parts.append(f"{ask}\n```python\n{prefix.rstrip()}\n```")
    if task.suffix.strip():
        parts.append(f"The code that follows it, to keep as it is:\n```python\n{task.suffix.rstrip()}\n```")
    if evidence:
        notes = "\n".join(f"- {e}" for e in evidence)
        parts.append(f"A previous attempt was wrong on these examples; do not repeat its mistake:\n{notes}")
    return [{"role": "user", "content": "\n".join(parts)}]
