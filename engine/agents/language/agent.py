"""The Language agent: labels each candidate line with libcst, the authoritative parser
(docs/design.md, "The step loop", step 2).

Incremental by construction. The state never holds a parse tree and nothing re-parses the
committed prefix: it keeps the *spine* of the open top-level statement (the compound statements
enclosing the end of the prefix, their clauses and indentations, see `engine.agents.language.blocks`), the
logical line still being written (open bracket, string, backslash or pending decorators), and
the open statement's text. To label a candidate, libcst parses a skeleton a few lines long: the
spine's headers in neutral form with `pass` bodies, the candidate's logical line, and a minimal
repair (a `pass` body after a header, `def _(): pass` after a decorator, closing quotes and
brackets, `finally: pass` after each open `try`). Executable lines and headers are then compiled
with the builtin `compile` together with the open top-level statement only, which catches what the
grammar allows but Python refuses (`return` outside a function, `break` outside a loop ...).
`start` reads a prefix once: a fold of the same bookkeeping, then one libcst parse of the whole
prefix (closed as END would need) to refuse a prefix that does not parse.

Choices worth knowing:
- Tabs follow CPython: a tab advances to the next multiple of 8, and an indentation whose order
  differs when tabs count as 1 is rejected (`parse.indent`, as CPython raises TabError).
- A fragment with an open bracket or string is viable when libcst, given the closers, fails
  only at a token of the repair (its furthest failure lies past the candidate's text): permissive
  by design, a real line must never be called invalid.
- `nonlocal x` whose binding is still to be written compiles only later: such a line is a
  fragment, not an executable line, until then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from libcst import ParserSyntaxError

from engine.agents.language.blocks import MAX_NESTING, Scan, closers_of, real_body, real_closers, skeleton_closers
from engine.agents.language.state import (
    ParseState,
    Plan,
    advance,
    compile_error,
    invalid,
    own_repair,
    plan_line,
    what_is_open,
)
from engine.reasons import Reason
from engine.types import END, Classification, Label

__all__ = ["LanguageAgent", "ParseState", "ast_parse", "libcst_parse", "parser_named"]

Parse = Callable[[str], object]
_ERROR_AT = re.compile(r"error at (\d+):(\d+): ")


def libcst_parse(text: str) -> object:
    """Parse a module with libcst's native parser (raises libcst.ParserSyntaxError)."""
    try:
        from libcst.native import parse_module
    except ImportError:  # pragma: no cover - a pure-Python libcst build
        import libcst

        return libcst.parse_module(text)
    return parse_module(text, None)


def ast_parse(text: str) -> object:
    """CPython's own parser (raises SyntaxError): the `context.parser: ast` ablation."""
    import ast

    return ast.parse(text)


def parser_named(name: str) -> Parse:
    """The parse function `context.parser` names: libcst, ast, or `package.module:function`."""
    if name == "libcst":
        return libcst_parse
    if name == "ast":
        return ast_parse
    from engine.plugins import load_factory

    return load_factory(name, "context.parser")


def _fragment(detail: str) -> Classification:
    return Classification(Label.FRAGMENT, Reason.PARSE_FRAGMENT, detail)


class LanguageState(Protocol):
    """What the loop reads of a Language agent's state: the committed prefix it stands for."""

    @property
    def prefix(self) -> str: ...


class Language(Protocol):
    """The Language agent's interface: pure functions of an opaque state that only grows by lines."""

    def start(self, prefix: str) -> LanguageState:
        """The state for a committed prefix."""
        ...

    def classify(self, state: Any, line: str) -> Classification:
        """Label one candidate next line (or END) for the prefix `state` stands for."""
        ...

    def commit(self, state: Any, line: str) -> Any:
        """The state after `line` is appended (speculation commits draft lines ahead on a copy)."""
        ...


class LanguageAgent:
    """Labels candidate lines for a prefix; `start`, `classify` and `commit` are pure in the state."""

    def __init__(self, *, parse: Parse = libcst_parse):
        self._parse_fn = parse  # replaceable in tests (to watch what is parsed); libcst decides

    def start(self, prefix: str) -> ParseState:
        """The state for a committed prefix (text ending with a newline, or empty); validated once."""
        if prefix and not prefix.endswith("\n"):
            prefix += "\n"
        state = ParseState()
        for line in prefix.split("\n")[:-1]:
            state = advance(state, line)
        state = replace(state, prefix=prefix)
        if not state.broken:
            problem = self._validate(state)
            if problem:
                state = replace(state, broken=problem)
        return state

    def commit(self, state: ParseState, line: str) -> ParseState:
        """The state after `line` (classified non-invalid) is appended to the prefix."""
        return replace(advance(state, line), prefix=state.prefix + line + "\n")

    def classify(self, state: ParseState, line: str) -> Classification:
        """Label one candidate next line (or END) for the prefix `state` stands for."""
        if line == END:
            return self._end(state)
        if state.broken:
            return invalid(f"the prefix does not parse: {state.broken}")
        if "\n" in line or "\r" in line:
            return invalid("a candidate is a single line")
        plan = plan_line(state, line)
        if isinstance(plan, Classification):
            return plan
        if plan.kind == "non_code":
            return Classification(Label.NON_CODE, Reason.PARSE_NON_CODE)
        if len(plan.scan.brackets) > MAX_NESTING:
            return invalid("too many nested parentheses")
        pad = " " * plan.depth
        head = (
            state.unit.head
            if state.unit is not None
            else (state.skel_open if plan.mode == "body" else state.skel_closed)
        )
        unit_text = "".join(f"{pad}{text}\n" if starts else f"{text}\n" for starts, text in plan.lines)
        enclosing = state.frames[: plan.depth]
        closers = skeleton_closers(enclosing)
        if plan.kind == "open":
            repair_line = head.count("\n") + len(plan.lines) + 1
            err = self._open_error(head + unit_text, plan.scan, closers, repair_line)
            return invalid(err) if err else _fragment(_open_detail(plan.scan))
        err = self._error(head + unit_text + own_repair(plan, pad, real=False) + closers)
        if plan.kind == "error" or err is not None:
            return invalid(err[0] if err else "unbalanced brackets or a stray backslash")
        if plan.kind == "decorator":
            return _fragment("decorator")
        objection = _compiler_objection(state, plan, line)
        if objection is not None:
            return objection
        if plan.kind == "header":
            return _fragment(f"block header '{plan.keyword}'")
        closers_text = real_closers(enclosing)
        if plan.kind == "inline" and plan.keyword == "try":
            closers_text = own_repair(plan, "", real=True) + closers_text
        return Classification(
            Label.EXECUTABLE,
            Reason.PARSE_OK,
            program=state.prefix + line + "\n" + closers_text,
            line_no=state.n_lines + 1,
            blocks=tuple((f.clauses[-1].keyword, f.clauses[-1].line_no) for f in enclosing),
        )

    def _error(self, text: str) -> tuple[str, tuple[int, int] | None] | None:
        """libcst's one-line message and failure position for `text`, or None when it parses."""
        try:
            self._parse_fn(text)
        except (ParserSyntaxError, SyntaxError, RecursionError, ValueError) as exc:
            lines = [ln for ln in str(exc).split("\n") if ln.strip()]
            msg = lines[1] if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
            m = _ERROR_AT.search(msg)
            pos = (int(m.group(1)), int(m.group(2))) if m else None
            msg = _ERROR_AT.sub("", msg).replace("parser error: ", "").replace("tokenizer error: ", "")
            return msg.strip(), pos
        return None

    def _open_error(self, text: str, scan: Scan, closers: str, repair_line: int) -> str | None:
        """None when `text` (ending inside a bracket, string or backslash) can still be completed.

        The repair starts a fresh line. libcst reports where the token after the failing one starts,
        so a failure past the closing quote (or past the repair's first token) means the candidate's
        own text parsed. An f-string may be open inside a replacement field: then a `}` is tried too.
        """
        first: str | None = None
        for extra in ("", "}") if scan.quote else ("",):
            threshold = (repair_line, len(extra) + len(scan.quote))
            err = self._error(text + extra + closers_of(scan) + "\n" + closers)
            if err is None or (err[1] is not None and err[1] > threshold):
                return None
            first = first or err[0]
        return first

    def _end(self, state: ParseState) -> Classification:
        """END is complete when nothing is open: no unit, no bodiless header, no try without handler."""
        what = what_is_open(state)
        if what is None and state.open_problem:
            what = f"compile: {state.open_problem}"
        if what is not None:
            return Classification(Label.END, Reason.PARSE_END_INCOMPLETE, what)
        return Classification(Label.END, Reason.PARSE_END_COMPLETE)

    def _validate(self, state: ParseState) -> str:
        """Parse the whole prefix once, closed as `what_is_open` would need; the parser's objection."""
        u = state.unit
        if u is not None and u.scan.open:
            return self._open_error(state.prefix, u.scan, real_closers(state.frames), state.n_lines + 1) or ""
        text = state.prefix
        if u is not None:
            text += f"{u.indent_str}def _(): pass\n"
        elif state.needs_body:
            text += real_body(state.frames[-1].clauses[-1].keyword, state.frames[-1].indent_str)
        text += real_closers(state.frames)
        err = self._error(text)
        if err is not None:
            return err[0]
        problem = compile_error(text)
        if problem is not None and "nonlocal" not in problem:
            return f"compile: {problem}"
        return ""


def _open_detail(scan: Scan) -> str:
    if scan.quote:
        return "open string"
    if scan.brackets:
        return f"open bracket '{scan.brackets[-1]}'"
    return "backslash continuation"


def _compiler_objection(state: ParseState, plan: Plan, line: str) -> Classification | None:
    """What the builtin compiler says of the open statement + the line (+ closers), as a label.

    Only the open top-level statement is compiled (a new top-level statement alone, once the one
    before it is known to compile; in a class body, the member being written without the earlier
    ones); a `from __future__` import needs the whole file to judge.
    """
    new_top = state.unit is None and plan.mode == "suite" and plan.depth == 0
    if new_top and state.open_problem:
        return invalid(f"compile: the statement above does not compile: {state.open_problem}")
    base = "" if new_top else state.compile_text
    if new_top and "__future__" in plan.header:
        base = state.prefix
    tail = own_repair(plan, "", real=True) + real_closers(state.frames[: plan.depth])
    problem = compile_error(base + line + "\n" + tail)
    if problem is None:
        return None
    if "nonlocal" in problem and "binding" in problem:
        return _fragment(f"compile: {problem} (a later line may bind it)")
    return invalid(f"compile: {problem}")
