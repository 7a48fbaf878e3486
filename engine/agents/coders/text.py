"""Turning a model's answer into continuation lines: fences stripped, echoed prefix removed."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*```[\w+-]*\s*$")
_SCAFFOLD = re.compile(r"^(if __name__\b|print\(|assert\b|#\s*(test|example|usage|check)\b)", re.I)


def strip_fences(text: str) -> str:
    """The content of the first fenced block if there is one, else the text without stray fences."""
    lines = text.replace("\r\n", "\n").split("\n")
    opens = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if opens:
        start = opens[0] + 1
        end = next((i for i in opens[1:] if i > opens[0]), len(lines))
        body = lines[start:end]
        if any(line.strip() for line in body):
            return "\n".join(body)
    return "\n".join(line for line in lines if not _FENCE.match(line) and not line.strip().startswith("```"))


def _norm(line: str) -> str:
    return line.strip()


def _skip_docstring(lines: list[str], i: int) -> int:
    """Index after a docstring starting at lines[i] (if one does), else i."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        return i
    s = lines[i].strip()
    for q in ('"""', "'''"):
        if s.startswith(q) or s[1:].startswith(q) and s[0] in "rbuRBU":
            body = s[s.index(q) + 3 :]
            if q in body:
                return i + 1
            j = i + 1
            while j < len(lines) and q not in lines[j]:
                j += 1
            return j + 1
    return i


def continuation_lines(prefix: str, answer: str, *, base_indent: int | None = None) -> list[str]:
    """The lines that come after `prefix`, read from a model answer.

    Models often echo part of the prompt: the whole prefix tail, or just the open function's
    header (then maybe its docstring). Both echoes are removed; the rest is the continuation.
    When the next line must be indented (`base_indent`) and the model answered at column 0,
    the answer is re-indented by that amount.
    """
    lines = [line.rstrip() for line in strip_fences(answer).split("\n")]
    pre = [_norm(line) for line in prefix.split("\n") if line.strip()]
    nonblank = [(i, _norm(line)) for i, line in enumerate(lines) if line.strip()]
    best = 0
    for m in range(min(len(pre), len(nonblank)), 0, -1):
        if [t for _, t in nonblank[:m]] == pre[-m:]:
            best = m
            break
    if best:
        lines = lines[nonblank[best - 1][0] + 1 :]
    else:
        headers = [p for p in pre if p.startswith(("def ", "async def "))]
        if headers and nonblank and nonblank[0][1] == headers[-1]:
            lines = lines[_skip_docstring(lines, nonblank[0][0] + 1) :]
    while lines and not lines[0].strip():
        lines.pop(0)
    if base_indent and lines and lines[0].strip() and not lines[0].startswith(" "):
        lines = [(" " * base_indent + line) if line.strip() else line for line in lines]
    out = []
    for line in lines:
        if _SCAFFOLD.match(line):
            break
        out.append(line.replace("\t", "    ") if line.startswith("\t") else line)
    while out and not out[-1].strip():
        out.pop()
    return out


def expected_indent(prefix: str) -> int:
    """The indentation a next body line most plausibly has: deeper after a header, else the last."""
    for line in reversed(prefix.split("\n")):
        if line.strip() and not line.lstrip().startswith("#"):
            width = len(line) - len(line.lstrip(" "))
            stripped = line.strip()
            if stripped.endswith(":"):
                return width + 4
            if stripped.endswith(('"""', "'''")):
                return width
            return width
    return 0
