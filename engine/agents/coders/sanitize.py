"""Sanitising a chat model's answer into a program, the way the official harnesses do.

Written after evalplus's `sanitize` (read, not copied): take the code out of the answer (the
fenced block that parses and defines the entry point, else the longest run of lines that parses),
then keep only the imports and the definitions the entry point depends on, in their order. Tests,
prints, a main block and prose are dropped.
"""

from __future__ import annotations

import ast
import re

_FENCE_BLOCK = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
MAX_SCAN_LINES = 300  # the longest-parsable-run scan is quadratic: bound it


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def longest_parsable_run(text: str) -> str:
    """The contiguous run of lines with the most non-blank lines that parses (evalplus's fallback)."""
    lines = text.split("\n")[:MAX_SCAN_LINES]
    best, best_count = "", 0
    for i in range(len(lines)):
        for j in range(len(lines), i, -1):
            count = sum(1 for line in lines[i:j] if line.strip())
            if count <= best_count:
                break
            chunk = "\n".join(lines[i:j])
            if _parses(chunk):
                best, best_count = chunk, count
                break
    return best


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code of an answer: a fenced block that parses (one defining `entry_point` first, then
    the longest), else the longest parsable run of the whole text."""
    text = text.replace("\r\n", "\n")
    blocks = [m.group(2) for m in _FENCE_BLOCK.finditer(text)]
    good = [b for b in blocks if b.strip() and _parses(b)]
    if entry_point:
        defining = [b for b in good if _defines(b, entry_point)]
        if defining:
            return max(defining, key=len)
    if good:
        return max(good, key=len)
    if blocks:  # a fence whose code does not parse as a whole (cut off): its longest parsable run
        return longest_parsable_run(max(blocks, key=len))
    return longest_parsable_run(text)


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets if isinstance(t, ast.Name)]
    return []


def _source(lines: list[str], node: ast.stmt) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1 : node.end_lineno])


def sanitize(answer: str, entry_point: str | None = None) -> str:
    """The program an answer offers, reduced to the imports and what `entry_point` needs.

    Without an entry point (or when the answer does not define it) every import, definition and
    assignment is kept; other top-level statements (calls, prints, tests, a main block) never are.
    """
    code = extract_code(answer, entry_point)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return ""
    lines = code.split("\n")
    defs: dict[str, ast.stmt] = {}
    for node in tree.body:
        for name in _defined_names(node):
            defs[name] = node
    keep: set[int] = set()
    if entry_point and entry_point in defs:
        todo = [entry_point]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen or name not in defs:
                continue
            seen.add(name)
            keep.add(id(defs[name]))
            todo.extend(_names_used(defs[name]) - seen)
    else:
        keep = {id(node) for node in defs.values()}
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(_source(lines, node) + "\n")
        elif id(node) in keep:  # definitions stand apart from what precedes them, as PEP 8 spaces them
            out.append(("\n" if out else "") + _source(lines, node) + "\n")
    return "".join(out)
