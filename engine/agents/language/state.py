"""The Language agent's state and its structural bookkeeping: where a line goes, what it opens.

Nothing here parses. A candidate line is *planned* (its indentation fitted to the spine, its kind
read from its first keyword and its last character: header, decorator, one-line compound, simple
statement, or a logical line left open); `engine.agents.language.agent` then asks libcst whether the plan holds,
and `advance` applies a committed line's plan to the state.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property

from engine.agents.language.blocks import (
    CLAUSE_WORDS,
    HARD_COMPOUND,
    Clause,
    Frame,
    Scan,
    keyword_of,
    measure,
    neutral,
    real_body,
    render,
    scan_line,
    skeleton_body,
    split_indent,
)
from engine.reasons import Reason
from engine.types import Classification, Label


@dataclass(frozen=True)
class Unit:
    """The logical line being written (or decorators waiting for their def): started, not finished."""

    lines: tuple[tuple[bool, str], ...]  # (starts a logical line, text without indentation if it does)
    scan: Scan
    mode: str  # "body" (first statement of a new body), "suite" (a statement after others), "clause"
    depth: int  # its depth in the skeleton (the number of enclosing compound statements)
    indent: tuple[int, int]
    indent_str: str
    start_line: int
    kw_line: int  # the line of its latest logical line (the `def` after decorators)
    head: str  # the skeleton text that precedes it


@dataclass(frozen=True)
class ParseState:
    """What the agent knows about a committed prefix; a value, the prefix only grows."""

    prefix: str = ""
    n_lines: int = 0
    base: int = 0  # line count of the closed part: complete top-level statements before the open one
    open_text: str = ""  # code lines of the open top-level statement (comments and blank lines left out)
    compile_text: str = ""  # the same as the compiler checks it: earlier members of a class body left out
    frames: tuple[Frame, ...] = ()  # the spine, outermost first
    needs_body: bool = False  # the last logical line was a block header
    unit: Unit | None = None
    broken: str = ""  # set when the prefix itself does not parse: every candidate is then invalid

    @cached_property
    def open_problem(self) -> str | None:
        """The builtin compiler's objection to the open statement as it stands (None if it compiles)."""
        return compile_error(self.compile_text) if self.compile_text else None

    @cached_property
    def skel_open(self) -> str:
        return render(self.frames, True)

    @cached_property
    def skel_closed(self) -> str:
        return render(self.frames, False)


@dataclass(frozen=True)
class Plan:
    """Where a candidate line goes and what it is, decided without parsing."""

    kind: str  # non_code | open | error | decorator | header | inline | simple
    mode: str = ""
    depth: int = 0
    lines: tuple[tuple[bool, str], ...] = ()
    scan: Scan = field(default_factory=Scan)
    indent: tuple[int, int] = (0, 0)
    indent_str: str = ""
    start_line: int = 0
    kw_line: int = 0
    keyword: str | None = None
    header: str = ""  # the latest logical line's first physical line, unindented


def invalid(detail: str, reason: str = Reason.PARSE_INVALID) -> Classification:
    """An `invalid` label with its reason code and one-line detail."""
    return Classification(Label.INVALID, reason, detail)


def compile_error(text: str) -> str | None:
    """The builtin compiler's objection to `text`, or None; warnings are not objections."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<vigor>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{exc.msg}"
    except (ValueError, MemoryError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def place(state: ParseState, width: tuple[int, int], keyword: str | None) -> tuple[str, int] | Classification:
    """Fit a new logical line's indentation to the open-block stack: (mode, depth) or invalid."""
    frames = state.frames
    if state.needs_body:
        top = frames[-1]
        if width[0] > top.indent[0] and width[1] > top.indent[1]:
            return "body", len(frames)
        if width[0] > top.indent[0]:
            return invalid("inconsistent use of tabs and spaces in indentation", Reason.PARSE_INDENT)
        clause = top.clauses[-1]
        return invalid(
            f"expected an indented block after '{clause.keyword}' on line {clause.line_no}", Reason.PARSE_INDENT
        )
    levels = [(0, 0)] + [f.body_indent for f in frames if f.body_indent is not None]
    for depth, level in enumerate(levels):  # noqa: B007 - depth is read after the loop
        if level[0] == width[0]:
            if level[1] != width[1]:
                return invalid("inconsistent use of tabs and spaces in indentation", Reason.PARSE_INDENT)
            break
    else:
        if width[0] > levels[-1][0]:
            return invalid(
                f"unexpected indent: column {width[0]}, no block header opens a body there "
                f"(statements here are at column {levels[-1][0]})",
                Reason.PARSE_INDENT,
            )
        cols = ", ".join(str(level[0]) for level in levels)
        return invalid(f"unindent to column {width[0]} matches no open block (columns {cols})", Reason.PARSE_INDENT)
    if keyword in CLAUSE_WORDS:
        if depth >= len(frames):
            return invalid(f"'{keyword}' continues no compound statement at column {width[0]}")
        return "clause", depth
    return "suite", depth


def plan_line(state: ParseState, line: str) -> Plan | Classification:
    """Decide where `line` goes (by indentation and the open unit) and what kind of line it is."""
    unit = state.unit
    if unit is not None and unit.scan.open:
        scan, code_end, error = scan_line(line, unit.scan)
        lines = unit.lines + ((False, line),)
        where = Plan(
            "",
            unit.mode,
            unit.depth,
            lines,
            scan,
            unit.indent,
            unit.indent_str,
            unit.start_line,
            unit.kw_line,
        )
        return _with_kind(state, line, where, code_end, error)
    ws, rest = split_indent(line)
    if not rest or rest.startswith("#"):
        return Plan("non_code")
    width = measure(ws)
    n = state.n_lines + 1
    if unit is not None:  # decorators wait for their def or class, at their own indentation
        if width != unit.indent:
            return invalid(
                f"a decorated definition goes on at the decorator's column {unit.indent[0]}", Reason.PARSE_INDENT
            )
        mode, depth, start, lines = unit.mode, unit.depth, unit.start_line, unit.lines + ((True, rest),)
    else:
        placed = place(state, width, keyword_of(rest))
        if isinstance(placed, Classification):
            return placed
        mode, depth = placed
        start, lines = n, ((True, rest),)
    scan, code_end, error = scan_line(line, Scan())
    return _with_kind(state, line, Plan("", mode, depth, lines, scan, width, ws, start, n), code_end, error)


def _with_kind(state: ParseState, line: str, where: Plan, code_end: int, error: bool) -> Plan:
    """The kind of the logical line `where` describes, read from its first keyword and last character."""
    header = next(text for starts, text in reversed(where.lines) if starts)
    keyword = keyword_of(header)
    if error:
        kind = "error"
    elif where.scan.open:
        kind = "open"
    elif line[:code_end].rstrip().endswith(":"):
        kind = "header"
    elif header.startswith("@"):
        kind = "decorator"
    elif keyword in HARD_COMPOUND or (keyword == "case" and _in_match(state, where.depth)):
        kind = "inline"
    else:
        kind = "simple"
    return replace(where, kind=kind, keyword=keyword, header=header)


def _in_match(state: ParseState, depth: int) -> bool:
    return depth > 0 and state.frames[depth - 1].clauses[-1].keyword == "match"


def own_repair(plan: Plan, pad: str, real: bool) -> str:
    """What the candidate itself needs to stand alone: a body for a header, a `finally` for a try."""
    kw = plan.keyword or ""
    indent = plan.indent_str if real else pad
    text = ""
    if plan.kind == "header":
        text = real_body(kw, indent) if real else skeleton_body(kw, pad)
    elif plan.kind == "decorator":
        text = f"{indent}def _(): pass\n"
    if plan.kind in ("header", "inline") and kw == "try":
        text += f"{indent}finally:\n{indent}{'    ' if real else ' '}pass\n"
    return text


def what_is_open(state: ParseState) -> str | None:
    """What keeps the prefix from being a complete program, in words; None when nothing does."""
    if state.broken:
        return f"the prefix does not parse: {state.broken}"
    u = state.unit
    if u is not None:
        if u.scan.quote:
            return f"the string opened in the statement from line {u.start_line} is not closed"
        if u.scan.brackets:
            return f"bracket '{u.scan.brackets[-1]}' in the statement from line {u.start_line} is not closed"
        if u.scan.backslash:
            return f"the statement from line {u.start_line} ends with a backslash continuation"
        return f"the decorator on line {u.start_line} has no def or class yet"
    if state.needs_body:
        clause = state.frames[-1].clauses[-1]
        return f"'{clause.keyword}' on line {clause.line_no} has no body yet"
    for frame in state.frames:
        if frame.open_try:
            return f"'try' on line {frame.clauses[0].line_no} has no except or finally yet"
    return None


def advance(state: ParseState, line: str) -> ParseState:
    """The state after `line`, prefix text aside: the structural bookkeeping, no parsing."""
    n = state.n_lines + 1
    if state.broken:
        return replace(state, n_lines=n)
    plan = plan_line(state, line)
    if isinstance(plan, Classification):
        return replace(state, n_lines=n, broken=f"line {n}: {plan.detail}")
    if plan.kind == "non_code":
        return replace(state, n_lines=n)
    if plan.kind == "error" or (plan.kind in ("header", "inline") and plan.keyword is None):
        return replace(state, n_lines=n, broken=f"line {n} does not parse")
    frames, base, open_text, compile_text = state.frames, state.base, state.open_text, state.compile_text
    if state.unit is None:
        if plan.mode == "suite":
            if plan.depth == 0:  # a new top-level statement: the open one is closed for good
                base, open_text, compile_text = state.n_lines, "", ""
            elif frames[plan.depth - 1].clauses[-1].keyword == "class":
                # Members of a class body compile independently: keep the checked text to the one
                # being written (a class-level `global` after a use in an earlier member is missed).
                compile_text = compile_text[: frames[plan.depth - 1].body_at]
            frames = frames[: plan.depth]
        elif plan.mode == "clause":
            frames = frames[: plan.depth + 1]
        else:
            frames = frames[:-1] + (replace(frames[-1], body_indent=plan.indent),)
    open_text += line + "\n"
    compile_text += line + "\n"
    if plan.kind in ("open", "decorator"):
        head = state.unit.head if state.unit is not None else render(frames, plan.mode != "clause")
        unit = Unit(
            plan.lines,
            plan.scan,
            plan.mode,
            plan.depth,
            plan.indent,
            plan.indent_str,
            plan.start_line,
            plan.kw_line,
            head,
        )
        return ParseState(state.prefix, n, base, open_text, compile_text, frames, False, unit)
    needs_body = False
    if plan.kind in ("header", "inline"):
        kw = plan.keyword or ""
        clause = Clause(kw, plan.kw_line, neutral(kw, plan.header), inline=plan.kind == "inline")
        if plan.mode == "clause":
            f = frames[plan.depth]
            body_at = len(compile_text)
            frames = frames[: plan.depth] + (Frame(f.indent, f.indent_str, None, f.clauses + (clause,), body_at),)
        else:
            frames = frames + (Frame(plan.indent, plan.indent_str, None, (clause,), len(compile_text)),)
        needs_body = plan.kind == "header"
    return ParseState(state.prefix, n, base, open_text, compile_text, frames, needs_body, None)
