"""Visible examples read from HumanEval-style docstrings, and the comparison they are checked with.

`extract_examples` reads the entry point's docstring as source (``\\n`` keeps its Python meaning),
in docstring order, first example of each call kept. Forms: ``doctest`` (``>>> f(x)``, ``...``
continuations, output up to a blank line, empty output = None), ``doctest_equals`` (``>>> f(x) ==
y``), ``arrow`` (``f(x) => y``, ``==>``, ``->``, ``➞``, ``# => y``), ``equals`` (``f(x) == y``,
``f(x) = y``), ``assert`` (``assert f(x) == y``), ``should_return`` (``should return y``, ``should
be y``), ``returns`` (``f(x) returns y``, ``# returns y``), ``output`` (``Input: ...`` / ``Output:
y``) and ``for_output`` (``For x = ..., the output should be y``).

Arguments must be literals; an unquoted word that is no parameter name (``is_happy(abcd)``) is a
string; a pure builtin may wrap the call (``round(find_zero([1, 2]), 2)``). A docstring that never
calls the entry point but whose examples call one other, undefined name (``list_sort`` for
``sorted_list_sum``) has that name read as the entry point. An output is comparable when it is a
literal once a comment, a sentence's full stop or a parenthetical remark is dropped (``true`` is
True), or a worked derivation (``19 - 5 - 6 = 8``) whose arithmetic agrees. Otherwise the call is
kept with ``expected=None`` (prose, typos, ``("Venus")`` where a 1-tuple was probably meant), or
dropped when the output says it raises. Lines up to the last recurrence (``fib4(n) -> fib4(n-1) +
...``, ``tri(3) = tri(2) + tri(1)``) define the function: only doctests are read from them.
Expected values come from the prompt text only, never from a reference solution or a test.
"""

from __future__ import annotations

import ast
import logging
import re
from typing import Any

from engine.execution.matching import values_match
from engine.types import Example

logger = logging.getLogger(__name__)

_WRAPPERS = frozenset(  # pure builtins an example may wrap its call in: `round(find_zero([1, 2]), 2)`
    {"round", "abs", "sorted", "list", "tuple", "set", "len", "str", "int", "float", "min", "max"}
)
_OPS = (
    ("arrow", r"#\s*(?:==>|=>|->|➞|→)|==>|=>|➞|→|->"),
    ("equals", r"==|=(?!=)"),
    ("should_return", r"should\s+(?:return|be)\b"),
    ("returns", r"(?:#\s*)?returns?\b"),
)
_OP_RE = re.compile(r"[ \t]*(?:" + "|".join(f"(?P<{name}>{rx})" for name, rx in _OPS) + r")[ \t]*")
_FOR_RE = re.compile(
    r"\bfor[ \t]+(?P<args>.+?)[ \t,]*\bthe[ \t]+(?:output|result)[ \t]+should[ \t]+be\b[ \t]*", re.IGNORECASE
)
_INPUT_RE = re.compile(r"^[ \t]*Input[ \t]*:[ \t]*", re.MULTILINE)
_OUTPUT_RE = re.compile(r"^[ \t]*Output[ \t]*:[ \t]*", re.MULTILINE)
_ARITHMETIC = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.USub, ast.UAdd)
_ARITHMETIC += (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)  # no `**` or `<<`: cheap to run
_Vars = set[str] | None  # names that are variables, not unquoted words; None: no unquoted words
_RAISES = re.compile(r"Traceback|\braises?\b|\w*(?:Error|Exception)\b")


def extract_examples(prompt: str, entry_point: str) -> tuple[Example, ...]:
    """The visible examples in the docstring of `entry_point` in `prompt` (forms: module doc).

    Every `call` parses as an expression calling `entry_point` with literal arguments; every
    non-None `expected` is literal source (``ast.literal_eval`` reads it). Calls are deduplicated,
    the first kept. Never raises on odd text: what cannot be read is left out.
    """
    try:
        return _extract(prompt, entry_point)
    except Exception:  # a docstring we cannot read has no examples; it is not an error
        logger.debug("no examples read for %s", entry_point, exc_info=True)
        return ()


def _extract(prompt: str, entry: str) -> tuple[Example, ...]:
    text, params = _docstring_source(prompt, entry)
    if not entry or not text:
        return ()
    found: list[tuple[int, Example]] = []
    doctests: list[tuple[int, Example]] = []
    masked = _read_doctests(text, entry, params, doctests)
    # names that are variables, not unquoted words: parameters and anything the docstring assigns
    variables = None if params is None else {*params, *re.findall(r"\b([A-Za-z_]\w*)\s*=(?!=)", text)}
    name = entry if re.search(rf"(?<![\w.]){re.escape(entry)}\s*\(", text) else _alias(masked, prompt)
    definition_end = _read_inline(masked, name, entry, params, variables, found) if name else 0
    _read_input_output(masked, entry, params, variables, found)
    for m in _FOR_RE.finditer(masked):
        parts = _split_top(m.group("args"), ",")
        for n in range(len(parts), 0, -1):  # prose may follow the arguments: `N = 1000, the sum ...`
            if n < len(parts) and re.match(r"\s*\w+\s*=(?!=)", parts[n]):
                break  # an argument, not prose: do not leave it out
            call = _call_from_args(",".join(parts[:n]), entry, params, variables)
            if call:
                expected = _expected_source(_rest_of(masked, m.end()))
                found.append((m.start(), Example(call, expected, "for_output")))
                break
    seen: set[str] = set()
    examples = []
    for _, ex in sorted([f for f in found if f[0] >= definition_end] + doctests, key=lambda f: f[0]):
        if ex.call not in seen:
            seen.add(ex.call)
            examples.append(ex)
    return tuple(examples)


def _docstring_source(prompt: str, entry: str) -> tuple[str, list[str] | None]:
    """The source between the quotes of the entry point's docstring, and its parameter names.

    A prompt that is not Python (an instruction with `assert f(1) == 2` lines) is read whole, its
    parameter names unknown (None)."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return prompt, None
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    defs = [n for n in ast.walk(tree) if isinstance(n, functions) and n.name == entry]
    if not defs:
        return "", []
    params = [a.arg for a in defs[-1].args.posonlyargs + defs[-1].args.args]
    for stmt in defs[-1].body:  # the docstring, possibly after imports (`import math` first)
        if isinstance(stmt, ast.Expr) and isinstance(getattr(stmt.value, "value", None), str):
            src = ast.get_source_segment(prompt, stmt.value) or ""
            m = re.match(r"(?is)[rbuf]*('''|\"\"\"|'|\")(.*)\1\s*$", src)
            return (m.group(2) if m else src), params
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            break
    return "", params


def _read_doctests(text: str, entry: str, params: list[str] | None, found: list) -> str:
    """Read ``>>>`` examples into `found`; return `text` with their lines blanked (offsets kept)."""
    lines, masked = text.split("\n"), text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"\s*>>>\s?(.*)$", lines[i])
        if not m:
            i += 1
            continue
        start, source, out = i, [m.group(1)], []
        i += 1
        while i < len(lines) and re.match(r"\s*\.\.\.(\s|$)", lines[i]):
            source.append(re.sub(r"^\s*\.\.\.\s?", "", lines[i]))
            i += 1
        while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(">>>"):
            out.append(lines[i].strip())
            i += 1
        masked[start:i] = [" " * len(line) for line in lines[start:i]]
        ex = _doctest_example("\n".join(source).strip(), " ".join(out), entry, params)
        if ex:
            found.append((sum(len(line) + 1 for line in lines[:start]), ex))
    return "\n".join(masked)


def _doctest_example(src: str, output: str, entry: str, params: list[str] | None) -> Example | None:
    node = _parse(src)
    if node is None or (_RAISES.search(output) and not _is_literal(output)):
        return None  # an input the function must reject is no input to run a line on
    if isinstance(node, ast.Compare) and [type(op) for op in node.ops] == [ast.Eq] and output in ("", "True"):
        call = _call_source(ast.get_source_segment(src, node.left) or "", entry, params)
        right = ast.get_source_segment(src, node.comparators[0]) or ""
        return Example(call, _expected_source(right), "doctest_equals") if call else None
    call = _call_source(ast.get_source_segment(src, node) or "", entry, params)
    return Example(call, "None" if output == "" else _expected_source(output), "doctest") if call else None


def _alias(text: str, prompt: str) -> str | None:
    """The one other, undefined name that examples call, in a docstring that never calls the entry."""
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)\s*\(", text):
        end = _close_of(text, m.end() - 1)
        if end and _OP_RE.match(text, end):
            names.add(m.group(1))
    names -= _WRAPPERS | {"print", "assert"}
    if len(names) != 1:
        return None
    name = names.pop()
    return None if re.search(rf"^\s*(?:(?:def|class)\s+{name}\b|{name}\s*=)", prompt, re.MULTILINE) else name


def _read_inline(text: str, name: str, entry: str, params: list[str] | None, variables: _Vars, found: list) -> int:
    """Read ``call <op> expected`` examples into `found`; return where the definition lines end."""
    definition_end = 0
    for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\s*\(", text):
        end = _close_of(text, m.end() - 1)
        if not end:
            continue
        raw = _one_line(text[m.start() : end])
        call = _call_source(entry + raw[len(name) :], entry, params, variables)
        op = _OP_RE.match(text, end)
        rhs = _rest_of(text, op.end()) if op else ""
        if _is_recurrence(rhs, name):  # `fib4(n) -> fib4(n-1) + ...`, `tri(3) = tri(2) + tri(1) + tri(4)`
            definition_end = max(definition_end, _scan(text, end, "\n"))
            continue
        expected = _expected_source(rhs)
        if call is None or op is None or (expected is None and _RAISES.search(rhs)):
            continue  # not an example, or an input the function must reject: no input to run a line on
        line_start = text.rfind("\n", 0, m.start()) + 1
        form = "assert" if text[line_start : m.start()].strip() == "assert" else op.lastgroup or "equals"
        found.append((m.start(), Example(call, expected, form)))
    return definition_end


def _read_input_output(text: str, entry: str, params: list[str] | None, variables: _Vars, found: list) -> None:
    for m in _INPUT_RE.finditer(text):
        out = _OUTPUT_RE.search(text, m.end())
        block = text[m.end() : out.start()] if out else ""
        if not out or not block.strip() or _INPUT_RE.search(block) or block.count("\n") > 8:
            continue
        lines = [re.sub(r"^(\w+)\s*:\s*", r"\1 = ", ln.strip()) for ln in block.split("\n") if ln.strip()]
        call = _call_from_args(", ".join(lines), entry, params, variables)
        if call:
            found.append((m.start(), Example(call, _expected_source(_rest_of(text, out.end())), "output")))


def _call_source(src: str, entry: str, params: list[str] | None, variables: _Vars = None) -> str | None:
    """`src` as a call of `entry` with literal arguments, or None. With `variables` given (never in a
    doctest, which is real Python), a bare name that is not one of them is an unquoted string."""
    tree = _parse(_one_line(src))
    words: list[str] = []
    if tree is None or not _valid_call(tree, entry, params, variables, words):
        return None
    return ast.unparse(tree) if words else _one_line(src)


def _valid_call(node: ast.expr, entry: str, params: list[str] | None, variables: _Vars, words: list[str]) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if any(k.arg is None for k in node.keywords):
        return False
    if node.func.id != entry:  # a pure builtin around exactly one call of the entry point
        inner = [a for a in node.args if entry in _names(a)]
        if node.func.id not in _WRAPPERS or len(inner) != 1:
            return False
        if not _valid_call(inner[0], entry, params, variables, words):
            return False
        return all(a is inner[0] or _is_literal(a) for a in [*node.args, *(k.value for k in node.keywords)])
    if params is not None and any(k.arg not in params for k in node.keywords):
        return False  # a keyword the signature does not have: the call could only raise
    for i, arg in enumerate(node.args):
        if variables is not None and isinstance(arg, ast.Name) and arg.id not in variables | {entry}:
            node.args[i] = ast.Constant(arg.id)  # `is_happy(abcd)`: a string written without quotes
            words.append(arg.id)
    return all(_is_literal(a) for a in [*node.args, *(k.value for k in node.keywords)])


def _is_recurrence(rhs: str, name: str) -> bool:
    """Whether a right-hand side is an expression calling the function itself (before any `, if`)."""
    node = _parse(_split_top(_strip_comment(rhs), ",")[0].strip().rstrip("."))
    return node is not None and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(node)
    )


def _call_from_args(args: str, entry: str, params: list[str] | None, variables: _Vars) -> str | None:
    """A positional call of `entry` from argument text (`3`, `arr = [1], k = 3`), or None."""
    src = f"{entry}({args})"
    node = _parse(src)
    if not isinstance(node, ast.Call) or any(k.arg is None for k in node.keywords):
        return None
    values = [ast.get_source_segment(src, a) or "" for a in node.args]
    named = {k.arg: ast.get_source_segment(src, k.value) or "" for k in node.keywords}
    if params is None:
        return None if named else _call_source(src, entry, params, variables)
    if len(values) + len(named) != len(params):
        return None
    rest = params[len(values) :]
    values += [named[p] for p in rest] if set(named) == set(rest) else list(named.values())  # else in order
    return _call_source(f"{entry}({', '.join(values)})", entry, params, variables)


def _expected_source(text: str) -> str | None:
    """Literal source for an example's output text, or None when it is not comparable."""
    text = _strip_comment(text).strip()
    # a trailing full stop ends the sentence (`should return 16.`) rather than making a float
    for cand in (text[:-1].strip() if text.endswith(".") and not text.endswith("..") else "", text):
        cand = {"true": "True", "false": "False", "none": "None"}.get(cand, cand)
        if _is_literal(cand):
            node = _parse(cand)
            return None if cand.startswith("(") and not isinstance(node, ast.Tuple) else _one_line(cand)
    parts = _split_top(text, "=")
    if len(parts) > 1:  # a worked derivation: `19 - 5 - 6 = 8`
        last = _expected_source(parts[-1])
        ok = last is not None and all(_arith_equals(p, ast.literal_eval(last)) for p in parts[:-1])
        return last if ok else None
    head = text[: _scan(text, 0, "(")]
    if head.strip() and text[len(head) :].startswith("(") and _is_literal(head):  # `'No' (the name ...)`
        return _expected_source(head)
    return None


def _is_literal(src: str | ast.AST) -> bool:
    try:
        value = ast.literal_eval(src.strip() if isinstance(src, str) else src)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return value is not Ellipsis


def _arith_equals(src: str, value: Any) -> bool:
    """Whether `src` is plain arithmetic on numbers that comes to `value`."""
    node = _parse(src)
    if node is None or not all(isinstance(n, _ARITHMETIC) for n in ast.walk(node)):
        return False
    if any(isinstance(n, ast.Constant) and type(n.value) not in (int, float) for n in ast.walk(node)):
        return False
    try:
        code = compile(ast.Expression(node), "<derivation>", "eval")
        return values_match(eval(code, {"__builtins__": {}}), value)
    except Exception:
        return False


def _parse(src: str) -> ast.expr | None:
    try:
        return ast.parse(src.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _scan(text: str, i: int, stops: str) -> int:
    """From `i`, the index of the first char in `stops` outside strings and brackets, or of an
    unmatched closing bracket, or len(text)."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            j = i + 1
            while j < len(text) and text[j] not in (c, "\n"):
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if depth == 0 and c in stops:
            return i
        depth += (c in "([{") - (c in ")]}")
        if depth < 0:
            return i
        i += 1
    return len(text)


def _close_of(text: str, i: int) -> int | None:
    """Index after the bracket closing the one at `i`; None when it is never closed."""
    j = _scan(text, i + 1, "")
    return j + 1 if j < len(text) else None


def _rest_of(text: str, i: int) -> str:
    """From `i` to the end of the line, running on over lines while a bracket is open."""
    return text[i : _scan(text, i, "\n")]


def _strip_comment(text: str) -> str:
    return text[: _scan(text, 0, "#")]


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside strings and brackets (an `=` of `==`, `<=`, `>=`, `!=` is no `=`)."""
    parts, start, i = [], 0, 0
    while (i := _scan(text, i, sep)) < len(text) and text[i] == sep:
        if sep == "=" and (text[i + 1 : i + 2] == "=" or (i > 0 and text[i - 1] in "=<>!")):
            i += 1
            continue
        parts.append(text[start:i])
        start = i = i + 1
    return [*parts, text[start:]]


def _one_line(src: str) -> str:
    """`src` with its line breaks joined, when that leaves the same expression."""
    if "\n" not in src:
        return src.strip()
    joined, before = " ".join(part.strip() for part in src.split("\n")).strip(), _parse(src)
    after = _parse(joined)
    same = before is not None and after is not None and ast.dump(before) == ast.dump(after)
    return joined if same else src.strip()
