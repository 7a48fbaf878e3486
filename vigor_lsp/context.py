"""Build the engine's Task from an editor buffer and a cursor (pure functions, no LSP types)."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from engine import Example, Task, extract_examples, visible_tests_from_examples

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class BufferContext:
    """Where a session writes (`anchor`, a line index) and what the engine sees of the buffer."""

    anchor: int
    task: Task


def anchor_line(lines: list[str], line: int, column: int) -> int:
    """The line a session inserts before: the cursor line, or the next one when text precedes the cursor."""
    if line >= len(lines):
        return len(lines)
    return line + 1 if lines[line][:column].strip() else line


def enclosing_def(above: list[str]) -> tuple[str, int]:
    """The innermost `def` whose body the end of `above` is in: (name, its line), or ('', -1) at module level."""
    for i in range(len(above) - 1, -1, -1):
        text = above[i]
        m = _DEF.match(text)
        if m:
            return m.group(2), i
        if text.strip() and not text[:1].isspace() and not text.lstrip().startswith(("#", '"', "'", ")")):
            return "", -1
    return "", -1


def instruction_above(above: list[str]) -> str:
    """The comment block or docstring right above the cursor, as plain text ('' when there is none)."""
    i = len(above) - 1
    while i >= 0 and not above[i].strip():
        i -= 1
    if i < 0:
        return ""
    last = above[i].strip()
    if last.startswith("#"):
        comments = []
        while i >= 0 and above[i].strip().startswith("#"):
            comments.append(above[i].strip().lstrip("#").strip())
            i -= 1
        return "\n".join(reversed(comments)).strip()
    for quote in ('"""', "'''"):
        if last.endswith(quote):
            j = i
            while j >= 0:
                opened = above[j].strip()
                if (j < i and quote in opened) or (j == i and opened.count(quote) >= 2):
                    try:
                        value = ast.literal_eval("\n".join(s.strip() for s in above[j : i + 1]))
                    except (SyntaxError, ValueError):
                        return ""
                    return value.strip() if isinstance(value, str) else ""
                j -= 1
    return ""


def _example_line(text: str) -> tuple[str, Example] | None:
    """`f(2) == 4`, `assert f(2) == 4` or `f(2) -> 4` as (callee, Example); None for anything else."""
    text = text.strip().rstrip(";")
    if text.startswith("assert "):
        text = text[len("assert ") :]
    if "->" in text and "==" not in text:
        text = text.replace("->", "==", 1)
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return None
    call, expected = node.left, node.comparators[0]
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        return None
    try:
        ast.literal_eval(expected)
        for arg in (*call.args, *(k.value for k in call.keywords)):
            ast.literal_eval(arg)
    except ValueError:
        return None  # only literal arguments and results: the oracle compares them, it evaluates nothing else
    return call.func.id, Example(ast.unparse(call), ast.unparse(expected), form="instruction")


def instruction_examples(instruction: str, entry: str) -> tuple[str, tuple[Example, ...]]:
    """Examples written in the instruction, one per line (`f(2) == 4`), and the function they call.

    Inside a function only calls to it count; at module level the instruction names the function to
    write (the first one its examples call).
    """
    found: list[tuple[str, Example]] = [e for e in map(_example_line, instruction.splitlines()) if e is not None]
    name = entry or (found[0][0] if found else "")
    return name, tuple(ex for callee, ex in found if callee == name)


def build_context(text: str, line: int, column: int, instruction: str | None, session_id: str) -> BufferContext:
    """Split the buffer at the cursor: above is the prefix (the Task prompt), below is suffix context.

    `column` is in code points (the caller decodes the client's position encoding). The instruction is
    the argument when given, else the comment or docstring right above. The enclosing function's
    docstring examples and the instruction's `f(2) == 4` lines feed the Evaluator (each line) and the
    Tester (the finished code), as in a headless docstring task.
    """
    lines = text.splitlines(keepends=True)
    anchor = anchor_line(lines, line, column)
    above = lines[:anchor]
    prompt = "".join(above)
    if prompt and not prompt.endswith("\n"):
        prompt += "\n"
    suffix = "".join(lines[anchor:])
    plain = [s.rstrip("\r\n") for s in above]
    entry, def_line = enclosing_def(plain)
    # only the enclosing function is scanned for examples: a big buffer must not cost a whole-file parse
    examples = extract_examples(textwrap.dedent("".join(above[def_line:])), entry) if entry else ()
    request = (instruction or "").strip() or instruction_above(plain)
    entry, more = instruction_examples(request, entry)
    calls = {ex.call for ex in examples}
    examples = (*examples, *(ex for ex in more if ex.call not in calls))
    task = Task(
        task_id=f"editor/{session_id}",
        prompt=prompt,
        entry_point=entry,
        instruction=request,
        examples=examples,
        # the same gates as a headless docstring task: the Evaluator on each line, the Tester at END
        visible_tests=visible_tests_from_examples(examples, entry),
        suffix=suffix,
    )
    return BufferContext(anchor=anchor, task=task)
