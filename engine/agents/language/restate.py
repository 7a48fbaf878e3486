"""Restatements: a line that re-opens, inside the code being written, what the prefix already has.

A chat model asked to continue code often writes the file again from the top: `import re`, the
helper, then the function itself. Committed inside the open function, those lines become nested
definitions and the outer function returns None. A line restates when, inside a function body,
it defines again a function or class the prefix already defines (the function being written
included), or imports only names the module level already imports. Pure: the prefix and the line.
"""

from __future__ import annotations

import re

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(|^(\s*)class\s+(\w+)\b")
_IMPORT = re.compile(r"^(\s+)(?:import\s+(.+)|from\s+[\w.]+\s+import\s+(.+))$")


def _module_names(prefix: str) -> tuple[set[str], set[str]]:
    """(names defined with def/class anywhere, names imported at module level) in the prefix."""
    defs: set[str] = set()
    imports: set[str] = set()
    for line in prefix.split("\n"):
        m = _DEF.match(line)
        if m:
            defs.add(m.group(2) or m.group(4))
            continue
        if line.startswith("import "):
            imports |= _imported(line[len("import ") :], plain=True)
        elif line.startswith("from ") and " import " in line:
            imports |= _imported(line.split(" import ", 1)[1], plain=False)
    return defs, imports


def _imported(names: str, *, plain: bool) -> set[str]:
    out = set()
    for part in names.strip().strip("()").split(","):
        part = part.strip()
        if not part:
            continue
        if " as " in part:
            out.add(part.split(" as ")[1].strip())
        else:
            out.add(part.split(".")[0] if plain else part)
    return out


def restated_definition(prefix: str, line: str) -> str | None:
    """Why `line` restates what `prefix` already has (a detail for the verdict), else None.

    Only indented lines count: at the module level a new definition is ordinary code."""
    if not line[:1].isspace():
        return None
    defs, imports = _module_names(prefix)
    m = _DEF.match(line)
    if m:
        name = m.group(2) or m.group(4)
        if name in defs:
            return f"`{name}` is already defined above; defining it again inside the body nests a copy"
        return None
    m = _IMPORT.match(line.rstrip())
    if m:
        names = _imported(m.group(2), plain=True) if m.group(2) else _imported(m.group(3), plain=False)
        if names and names <= imports:
            return f"{', '.join(sorted(names))} already imported at the module level"
    return None
