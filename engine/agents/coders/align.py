"""Aligning a native reply to the committed prefix (docs/design.md, "Drafting the way
the model is best asked").

A chat model asked for the complete function restates what is already written: imports, helpers,
the signature, the docstring, the body lines committed so far. Those are recognised and skipped;
the draft is what the reply adds after the last committed line of the function being written.
Helpers and imports the function needs that the prefix lacks are kept (after the function, or
imports at the top of a still empty body); anything else the reply adds at the top level (tests,
prints, a main block) ends the draft, and so does prose outside the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.agents.coders.text import _skip_docstring, continuation_lines, expected_indent

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
_TOP_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)|^class\s+(\w+)")
_IMPORT = re.compile(r"^(?:import\s+([\w., ]+?)(?:\s+as\s+(\w+))?|from\s+[\w.]+\s+import\s+(.+))\s*$")
_FENCE_BLOCK = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Aligned:
    """The draft a reply offers after the prefix, and how it was read."""

    lines: tuple[str, ...]
    complete: bool  # the reply finished the code: END follows the lines
    skipped: int  # restated lines recognised and skipped
    ended_by: str  # function_end | reply_end | cut_off | extra: <what> | diverged | no_header


def reply_code(answer: str, name: str | None) -> str:
    """The code part of a reply: the fenced block defining `name`, else the longest, else the text."""
    text = answer.replace("\r\n", "\n")
    blocks = _FENCE_BLOCK.findall(text)
    if not blocks:
        return text
    if name:
        for block in blocks:
            if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", block, re.M):
                return block
    return max(blocks, key=len)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def open_function(prefix_lines: list[str], entry_point: str | None = None) -> int | None:
    """Index of the header of the outermost function the prefix is still inside, else None.

    Open: every later non-blank line is deeper than the header, or the signature is not closed yet.
    The outermost one is aligned on, since a native reply restates the whole function."""
    last = max((i for i, line in enumerate(prefix_lines) if line.strip()), default=None)
    if last is None:
        return None
    opened = []
    for i, line in enumerate(prefix_lines):
        m = _DEF.match(line)
        if m is None:
            continue
        width = len(m.group(1))
        later = [ln for ln in prefix_lines[_header_end(prefix_lines, i) + 1 : last + 1] if ln.strip()]
        if all(_indent(ln) > width for ln in later):
            opened.append((m.group(2) != entry_point, width, i))
    return min(opened)[2] if opened else None


def _header_end(lines: list[str], start: int) -> int:
    """Index of the line that closes a (possibly multi-line) signature starting at `start`."""
    depth = 0
    for j in range(start, len(lines)):
        code = lines[j].split("#", 1)[0]
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and code.rstrip().endswith(":"):
            return j
    return len(lines) - 1


def defined_names(code: str) -> set[str]:
    """Names the code defines at any level with def, class or import (what a restatement repeats)."""
    names: set[str] = set()
    for line in code.split("\n"):
        s = line.strip()
        m = _TOP_DEF.match(s)
        if m:
            names.add(m.group(1) or m.group(2))
            continue
        m = _IMPORT.match(s)
        if m:
            if m.group(3):
                parts = m.group(3).strip("() ").split(",")
                names |= {p.split(" as ")[-1].strip() for p in parts if p.strip()}
            else:
                names |= {m.group(2) or p.strip().split(".")[0] for p in (m.group(1) or "").split(",") if p.strip()}
    return names


def _blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Top-level statements (with their indented bodies) of lines at column 0: (kind, lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.strip() and not line[0].isspace() and not line.startswith((")", "]", "}")):
            s = line.strip()
            kind = "def" if _TOP_DEF.match(s) else "import" if _IMPORT.match(s) else "" if s.startswith("#") else s
            if out and out[-1][0] == "decorator":
                out[-1] = ("def", out[-1][1] + [line])
                continue
            out.append(("decorator" if s.startswith("@") else kind, [line]))
        elif out:
            out[-1][1].append(line)
        else:
            out.append(("", [line]))
    return out


def _shift(lines: list[str], by: int) -> list[str]:
    if by == 0:
        return lines
    if by > 0:
        return [(" " * by + line) if line.strip() else line for line in lines]
    return [line[min(-by, _indent(line)) :] if line.strip() else line for line in lines]


def align_reply(prefix: str, answer: str, entry_point: str | None = None, *, cut_off: bool = False) -> Aligned:
    """The draft lines a reply offers after `prefix` (see the module docstring).

    `cut_off`: the reply stopped at its token limit, so its last line may be partial and whether
    the code was finished is unknown.
    """
    prefix_lines = prefix.rstrip("\n").split("\n") if prefix.strip() else []
    header = open_function(prefix_lines, entry_point)
    name = m.group(2) if header is not None and (m := _DEF.match(prefix_lines[header])) else None
    if name is None or (entry_point and name != entry_point and entry_point not in defined_names(prefix)):
        # no open function, or the task's function is still to be written after it
        return _align_program(prefix, answer, entry_point, cut_off=cut_off)
    code = reply_code(answer, name).replace("\t", "    ")
    reply = code.split("\n")
    r = next((i for i, line in enumerate(reply) if (m := _DEF.match(line)) and m.group(2) == name), None)
    if r is None:  # the reply is the body alone (or something else): the old reading of a continuation
        lines = continuation_lines(prefix, answer, base_indent=expected_indent(prefix))
        if cut_off:
            lines = lines[:-1]
        return Aligned(tuple(lines), not cut_off, 0, "no_header")
    width = _indent(reply[r])
    shift = _indent(prefix_lines[header]) - width
    body_start = _skip_docstring(reply, _header_end(reply, r) + 1)
    body_end = next(
        (j for j in range(body_start, len(reply)) if reply[j].strip() and _indent(reply[j]) <= width),
        len(reply),
    )
    body = reply[body_start:body_end]
    committed = _committed_body(prefix_lines, _header_end(prefix_lines, header) + 1)
    start = _after_committed(body, committed)
    if start is None:
        return Aligned((), False, 0, "diverged")
    draft = _shift(body[start:], shift)
    skipped = r + body_start + start
    function_ended = body_end < len(reply)
    if cut_off and not function_ended:
        draft = draft[:-1]
        while draft and not draft[-1].strip():
            draft.pop()
        return Aligned(tuple(draft), False, skipped, "cut_off")
    while draft and not draft[-1].strip():
        draft.pop()
    extra, ended_by = _needed_extras(prefix, reply[:r], reply[body_end:], body, width)
    if extra["imports"] and not committed:
        draft = _shift(extra["imports"], _indent(prefix_lines[header]) + 4) + draft
    elif extra["imports"]:
        extra["after"] = extra["imports"] + extra["after"]
    if extra["after"]:
        draft = draft + ["", ""] + _shift(extra["after"], shift)
    return Aligned(tuple(draft), True, skipped, ended_by if function_ended else "reply_end")


def _committed_body(prefix_lines: list[str], first: int) -> list[str]:
    """The function's committed body lines (stripped) from `first`, its docstring left out: the one
    right after the header, or after the imports a prompt may put before it (HumanEval/115)."""
    lead = first
    while lead < len(prefix_lines) and (not prefix_lines[lead].strip() or _IMPORT.match(prefix_lines[lead].strip())):
        lead += 1
    after = _skip_docstring(prefix_lines, lead)
    kept = prefix_lines[first:lead] + prefix_lines[after:] if after > lead else prefix_lines[first:]
    return [ln.strip() for ln in kept if ln.strip()]


def _after_committed(body: list[str], committed: list[str]) -> int | None:
    """Index in the reply's body just after its restatement of the committed body lines."""
    if not committed:
        return 0
    seen = [(j, line.strip()) for j, line in enumerate(body) if line.strip()]
    found = _after_restated(seen, committed)
    if found is not None:
        return found
    # imports of the committed body the reply moved out of the function or left out: the rest
    # must still be restated; restated imports at the top of the reply's body are skipped
    code = [t for t in committed if not _IMPORT.match(t)]
    if len(code) == len(committed):
        return None
    rest = [(j, t) for j, t in seen if not _IMPORT.match(t)]
    if not code:
        return rest[0][0] if rest else len(body)
    return _after_restated(rest, code)


def _after_restated(seen: list[tuple[int, str]], committed: list[str]) -> int | None:
    if [t for _, t in seen[: len(committed)]] == committed:
        return seen[len(committed) - 1][0] + 1
    # the reply rewrote something earlier: resume after its last copy of the last committed line
    hits = [j for j, t in seen if t == committed[-1]]
    return hits[-1] + 1 if hits else None


def _needed_extras(
    prefix: str, before: list[str], after: list[str], body: list[str], width: int
) -> tuple[dict[str, list[str]], str]:
    """Helpers and imports from around the function that its body uses and the prefix lacks.

    Returns {"imports": [...], "after": [...]} and what ended the draft after the function."""
    have = defined_names(prefix)
    used = set(_WORD.findall("\n".join(body)))
    imports: list[str] = []
    helpers: list[str] = []
    strip = _shift(before, -width)
    for kind, block in _blocks(strip):
        names = defined_names("\n".join(block))
        if kind == "import" and names & used and not names <= have:
            imports.extend(ln for ln in block if ln.strip())
        elif kind == "def" and names & used and not names <= have:
            helpers += block
    ended_by = "function_end"
    for kind, block in _blocks(_shift(after, -width)):
        names = defined_names("\n".join(block))
        if kind == "" or (kind in ("def", "import") and names and names <= have):
            continue  # blank lines, or a restatement of what the prefix already has
        if kind == "import":
            if names & used:
                imports.extend(ln for ln in block if ln.strip())
            continue
        if kind == "def" and names & used:
            helpers += block
            continue
        ended_by = "extra: unused definition" if kind == "def" else f"extra: {kind[:40]}"
        break
    while helpers and not helpers[-1].strip():
        helpers.pop()
    return {"imports": imports, "after": helpers}, ended_by


def _align_program(prefix: str, answer: str, entry_point: str | None, *, cut_off: bool) -> Aligned:
    """No open function: the reply continues a program. Its echo of the prefix and definitions the
    prefix already has are skipped; with an entry point, a top-level statement that is not a
    definition or import (a test, a print) ends the draft."""
    lines = continuation_lines(prefix, reply_code(answer, entry_point), base_indent=None)
    if cut_off:
        lines = lines[:-1]
    have = defined_names(prefix)
    out: list[str] = []
    ended_by = "cut_off" if cut_off else "reply_end"
    for kind, block in _blocks(lines):
        names = defined_names("\n".join(block))
        if kind in ("def", "import") and names and names <= have:
            continue
        if entry_point and kind not in ("", "def", "import"):
            ended_by = f"extra: {kind[:40]}"
            break
        out += block
    while out and not out[-1].strip():
        out.pop()
    return Aligned(tuple(out), not cut_off, 0, ended_by)
