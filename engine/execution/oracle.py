"""The speculative oracle, child side: the first-arrival rule (docs/design.md) under a line tracer.

Runs inside a sandbox child (`engine.execution.worker`), so it imports only the standard library
and `engine.examples`. The candidate is the last statement of `program`. On each visible example
the program is executed and the example's call evaluated under `sys.settrace`, tracing only the
code object that holds the candidate, and the example stops at the first of:

- the candidate's statement finishing its first execution (the next line event in its frame, or
  its frame returning): `ok`, or `wrong_return` when the candidate is a `return` of the example's
  top-level call and the example's value differs from the expected literal;
- an exception propagating out of that first execution: `raised`;
- an open loop's header (a loop whose body encloses the candidate) running a second time in a
  frame before the candidate ran there: `unreached` (a completion would have run later body lines);
- a recursive frame of the same function running past the candidate (implicit fall-through or a
  back-edge) while the first execution is still in progress: `unreached` for the same reason;
- the example's CPU-time budget running out: `timeout` if the candidate had started, else
  `unreached` (the prefix's doing, e.g. `while i < n:` before `i += 1` is written).

Progress facts are streamed to the worker (`started`, per-example outcomes), so a child killed for
a hang in C code still tells whether the candidate had started.
"""

from __future__ import annotations

import ast
import builtins
import io
import signal
import sys
import types
from dataclasses import dataclass
from typing import Any

from engine.execution.matching import encode_value

PROGRAM_FILE = "<vigor-candidate>"
EXAMPLE_FILE = "<vigor-example>"
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
_MISSING = object()


class _Stop(BaseException):
    """Raised into the traced code to end an example once its outcome is decided."""


@dataclass(frozen=True)
class Site:
    """Where the candidate sits: its statement's line span, its scope, open loops and soft context."""

    start: int
    end: int
    scope: ast.AST | None  # innermost def/class holding the candidate; None at module level
    module_time: bool  # runs while the module executes (no enclosing function)
    loop_lines: frozenset[int]  # header lines of open loops in the candidate's own scope
    soft: bool  # inside an open `try` or `with` body of its own scope (a handler may still come)
    is_return: bool


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _contains(node: ast.AST, line_no: int) -> bool:
    return node.lineno <= line_no <= (node.end_lineno or node.lineno)  # type: ignore[attr-defined]


def _header_end(node: ast.stmt) -> int:
    """The last line of a compound statement's header (its non-block parts)."""
    end = node.lineno
    for name, value in ast.iter_fields(node):
        if name in _BLOCK_FIELDS:
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST) and hasattr(child, "end_lineno"):
                end = max(end, child.end_lineno or end)  # type: ignore[attr-defined]
    return end


def _inner_block(stmt: ast.stmt, line_no: int) -> tuple[str, list[ast.stmt]] | None:
    """The block of `stmt` (field name, statements) that holds `line_no`, if any."""
    for name in _BLOCK_FIELDS:
        for item in getattr(stmt, name, None) or ():
            block = item.body if name in ("handlers", "cases") else [item]
            if any(isinstance(s, ast.stmt) and _contains(s, line_no) for s in block):
                return name, (block if name in ("handlers", "cases") else getattr(stmt, name))
    return None


def locate(tree: ast.Module, line_no: int) -> Site:
    """Find the candidate's statement (the innermost one on `line_no`) and what encloses it.

    A one-line compound statement whose header reaches `line_no` (`if x: return 1`) is the
    candidate itself: its header runs even when its body does not.
    """
    chain: list[tuple[ast.stmt, str]] = []
    stmts: list[ast.stmt] = tree.body
    stmt: ast.stmt | None = None
    while True:
        found = next((s for s in reversed(stmts) if _contains(s, line_no)), None)
        if found is None:
            break
        stmt = found
        inner = None if (found.lineno == line_no or _header_end(found) >= line_no) else _inner_block(found, line_no)
        if inner is None:
            break
        chain.append((found, inner[0]))
        stmts = inner[1]
    if stmt is None:
        raise ValueError(f"no statement at line {line_no}")
    scope_at = max((i for i, (n, _) in enumerate(chain) if isinstance(n, _SCOPES)), default=-1)
    own = chain[scope_at + 1 :]
    loops = frozenset(n.lineno for n, f in own if isinstance(n, (ast.For, ast.AsyncFor, ast.While)) and f == "body")
    soft_nodes = (ast.Try, _TRY_STAR, ast.With, ast.AsyncWith)
    soft = any(isinstance(n, soft_nodes) and f == "body" for n, f in own) or isinstance(stmt, soft_nodes)
    return Site(
        start=stmt.lineno,
        end=stmt.end_lineno or stmt.lineno,
        scope=chain[scope_at][0] if scope_at >= 0 else None,
        module_time=not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n, _ in chain),
        loop_lines=loops,
        soft=soft,
        is_return=isinstance(stmt, ast.Return),
    )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TRY_STAR = getattr(ast, "TryStar", ast.Try)


def find_code(module_code: types.CodeType, scope: ast.AST | None) -> types.CodeType | None:
    """The code object compiled from `scope` (matched by name and first line), or the module's."""
    if scope is None:
        return module_code
    name = getattr(scope, "name", "")
    decorators = getattr(scope, "decorator_list", [])
    first = min([scope.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
    stack = [module_code]
    while stack:
        code = stack.pop()
        if code.co_name == name and code.co_firstlineno == first and code is not module_code:
            return code
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return None


class Probe:
    """The line tracer of one example: decides the outcome at the first arrival."""

    def __init__(self, code: types.CodeType, site: Site, report: Any):
        self.code = code
        self.site = site
        self.report = report
        self.compare = site.is_return and not (code.co_flags & _GENERATOR_FLAGS)
        self.reset(-1)

    def reset(self, index: int) -> None:
        self.index = index
        self.tracked: Any = None  # the frame running the candidate's first execution
        self.outcome: dict[str, Any] | None = None
        self.top_return = False
        self.headers: dict[Any, set[int]] = {}
        self.ran: set[Any] = set()  # other frames that executed the candidate (recursion)
        self.raising: set[Any] = set()
        self.timed_out = False
        self.stopping = False

    def decide(self, outcome: str, **detail: Any) -> None:
        if self.outcome is None:
            self.outcome = {"outcome": outcome, **detail}

    def global_trace(self, frame: Any, event: str, arg: Any) -> Any:
        return self.local_trace if frame.f_code is self.code else None

    def local_trace(self, frame: Any, event: str, arg: Any) -> Any:
        if self.stopping:
            return self.local_trace  # our stop is unwinding the stack: decide nothing more
        if self.top_return:  # the value is out; anything more of this code is another call
            self.outcome = self.outcome or {"outcome": "ok", "compared": False}
            raise _Stop
        if self.outcome is not None:
            raise _Stop
        if event == "line":
            self._line(frame, frame.f_lineno)
        elif event == "exception":
            self._exception(frame, arg)
        elif event == "return":
            return self._return(frame)
        return self.local_trace

    def _line(self, frame: Any, line: int) -> None:
        site = self.site
        in_span = site.start <= line <= site.end
        if line <= site.end:
            self.raising.discard(frame)  # execution goes on here: any exception was handled
        if self.tracked is None:
            if in_span:
                self.tracked = frame
                self.report({"ex": self.index, "started": True})
            elif line in site.loop_lines:
                self._header(frame, line)
        elif frame is self.tracked:
            if not in_span:
                self._stop("ok", compared=False)
        elif in_span:
            self.ran.add(frame)
        elif frame in self.ran and line < site.start:
            self._stop("unreached", why="a recursive call ran past the candidate")
        elif line in site.loop_lines:
            self._header(frame, line)

    def _exception(self, frame: Any, arg: Any) -> None:
        exc_type, exc, _ = arg
        if issubclass(exc_type, _Stop):
            self.stopping = True
            return
        self.raising.add(frame)
        if frame is self.tracked:
            self._stop("raised", exc_type=exc_type.__name__, message=str(exc)[:200], name_error=exc_type is NameError)

    def _return(self, frame: Any) -> Any:
        if frame in self.raising:
            return None  # unwinding: the exception is on its way out
        if frame is self.tracked:
            back = frame.f_back
            if self.compare and back is not None and back.f_code.co_filename == EXAMPLE_FILE:
                self.top_return = True  # let the example expression finish with this value
                return None
            self._stop("ok", compared=False)
        if frame in self.ran and not self.site.is_return:
            self._stop("unreached", why="a recursive call fell through past the candidate")
        return None

    def _stop(self, outcome: str, **detail: Any) -> None:
        self.decide(outcome, **detail)
        self.stopping = True
        raise _Stop

    def _header(self, frame: Any, line: int) -> None:
        hits = self.headers.setdefault(frame, set())
        if line in hits:
            self._stop("unreached", why=f"the open loop at line {line} went round before the candidate ran")
        hits.add(line)


def run_candidate(program: str, line_no: int, examples: list[list[Any]], timeout_s: float) -> dict[str, Any]:
    """(In a sandbox child.) The first-arrival outcome of the candidate on each example.

    `examples` holds `[call_source, expected_source_or_None, stdin_or_None]` rows (a script-style
    example has an empty call and the input to feed on stdin). Returns `{"module_time",
    "examples": [outcome, ...]}`; each outcome has `outcome` in ok / wrong_return / raised /
    timeout / unreached plus detail.
    """
    from engine.execution.matching import values_match
    from engine.execution.worker import progress

    tree = ast.parse(program, PROGRAM_FILE)
    site = locate(tree, line_no)
    module_code = compile(tree, PROGRAM_FILE, "exec")
    code = find_code(module_code, site.scope)
    if code is None:
        return {"module_time": site.module_time, "examples": [], "error": "candidate code object not found"}
    probe = Probe(code, site, progress)

    def on_timeout(signum: int, _frame: Any) -> None:
        probe.timed_out = True
        probe.stopping = True
        raise _Stop

    signal.signal(signal.SIGPROF, on_timeout)
    outcomes = []
    for index, (call, expected_src, stdin) in enumerate(_runs(examples, site.module_time)):
        probe.reset(index)
        value, error = _run_one(module_code, call, stdin, probe, timeout_s)
        outcome = _conclude(probe, value, error, expected_src, values_match)
        if outcome["outcome"] == "raised":
            # Soft when a handler may still be written around it, when the missing name may be
            # defined by later module code (which runs before any example calls the function),
            # or when the program read input the example did not supply.
            outcome["soft"] = site.soft
            outcome["deferrable"] = (bool(outcome.get("name_error")) and not site.module_time) or (
                outcome["exc_type"] == "EOFError" and stdin is None
            )
            if outcome["exc_type"] == "SystemExit":  # a line that ends the process: no handler saves it
                outcome["soft"] = outcome["deferrable"] = False
        outcome = {"ex": index, **outcome}
        progress(outcome)
        outcomes.append(outcome)
    return {"module_time": site.module_time, "examples": outcomes}


def _runs(examples: list[list[Any]], module_time: bool) -> list[tuple[str | None, str | None, str | None]]:
    """(call, expected, stdin) per run: module-level candidates run once per distinct stdin (or
    once without input); function-level candidates once per example."""
    rows = [(row[0] or None, row[1], row[2] if len(row) > 2 else None) for row in examples]
    if module_time:
        inputs = list(dict.fromkeys(stdin for _, _, stdin in rows if stdin is not None))
        return [(None, None, stdin) for stdin in inputs] or [(None, None, None)]
    return [row for row in rows if row[0] is not None or row[2] is not None]


def _run_one(
    module_code: types.CodeType, call: str | None, stdin: str | None, probe: Probe, timeout_s: float
) -> tuple[Any, Any]:
    namespace: dict[str, Any] = {"__name__": "__vigor__", "__builtins__": builtins}
    sys.stdin = io.StringIO(stdin or "")
    value: Any = _MISSING
    error: BaseException | None = None
    example = compile(call, EXAMPLE_FILE, "eval") if call is not None else None
    signal.setitimer(signal.ITIMER_PROF, timeout_s)
    sys.settrace(probe.global_trace)
    try:
        exec(module_code, namespace)
        if example is not None:
            value = eval(example, namespace)
    except _Stop:
        pass
    except BaseException as exc:
        error = exc
    finally:
        sys.settrace(None)
        signal.setitimer(signal.ITIMER_PROF, 0)
    return value, error


def _conclude(
    probe: Probe, value: Any, error: BaseException | None, expected_src: str | None, match: Any
) -> dict[str, Any]:
    if probe.top_return and probe.outcome is None:
        if value is _MISSING or expected_src is None:
            return {"outcome": "ok", "compared": False}
        try:
            expected = ast.literal_eval(expected_src)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return {"outcome": "ok", "compared": False}
        # `observed` is what the trusted side compares; this child's own comparison is only a hint.
        observed = encode_value(value)
        if match(value, expected):
            return {"outcome": "ok", "compared": True, "observed": observed}
        return {
            "outcome": "wrong_return",
            "actual": _short_repr(value),
            "expected": expected_src[:200],
            "observed": observed,
        }
    if probe.outcome is not None:
        return probe.outcome
    if probe.timed_out:
        if probe.tracked is not None:
            return {"outcome": "timeout"}
        return {"outcome": "unreached", "why": "the prefix ran out of time before the candidate ran"}
    if probe.tracked is not None and error is not None:
        return {
            "outcome": "raised",
            "exc_type": type(error).__name__,
            "message": str(error)[:200],
            "name_error": type(error) is NameError,
        }
    if error is not None:
        return {"outcome": "unreached", "why": f"the prefix raised {type(error).__name__} before the candidate ran"}
    if probe.tracked is not None:
        return {"outcome": "unreached", "why": "the code under test stopped the tracer"}
    return {"outcome": "unreached", "why": "never reached (an untaken branch or an uncalled function)"}


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text[:200]
