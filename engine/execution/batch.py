"""Evaluating several candidates in one sandbox child, each in a fork of it (the Evaluator's prefetch).

Runs inside a sandbox child, so it imports only the standard library and its own package.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from typing import Any

from engine.execution.oracle import run_candidate


class _Expired(BaseException):
    """Raised into the predicted code's tests when their CPU time is up."""


def run_candidates(
    items: list[list[Any]], examples: list[list[Any]], timeout_s: float, after: list[Any] | None = None
) -> dict[str, Any]:
    """(In a sandbox child.) `run_candidate` for several `[program, line_no]`, each in a fork of this child.

    The Evaluator's prefetch of a draft's coming lines. Each line runs in its own fork, so whatever
    one leaves behind (patched builtins, modules, threads, an exit) cannot reach the next, and each
    is decided exactly as it would be alone; one that ends without a result comes back as
    `{"crashed": why}`.

    `after`, `[function path, args, cpu_s]`: a job to run last, in its own fork too (the visible
    tests of the draft's predicted final code); its value comes back as `after`, or None when it
    used up `cpu_s` of CPU time or failed (the real Tester then runs it under its own limits).
    """
    out = [_in_fork(run_candidate, program, line_no, examples, timeout_s) for program, line_no in items]
    value = None
    if after is not None:
        value = _in_fork(_run_after, after)
        if isinstance(value, dict) and "crashed" in value:
            value = None
    return {"candidates": out, "after": value}


def _run_after(after: list[Any]) -> Any:
    from engine.execution.entry import resolve

    expired = []

    def on_timeout(signum: int, _frame: Any) -> None:
        expired.append(True)
        raise _Expired

    signal.signal(signal.SIGPROF, on_timeout)
    # repeating: a test runner that catches the first interruption is interrupted again at once
    signal.setitimer(signal.ITIMER_PROF, float(after[2]), 0.05)
    try:
        value = resolve(after[0])(*after[1])
    except BaseException:
        value = None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return None if expired else value


def _in_fork(func: Any, *args: Any) -> Any:
    """`func(*args)` in a forked child of this process: its JSON value, or `{"crashed": why}`.

    The fork answers on a pipe of its own with one line stamped with a nonce drawn here; anything
    else (no line, two, a torn one) is a crash, as on the worker's own result channel.
    """
    nonce = secrets.token_hex(16)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            line = json.dumps({"n": nonce, "value": func(*args)}, default=repr)
        except BaseException as exc:
            line = json.dumps({"n": nonce, "crashed": f"{type(exc).__name__}: {exc}"[:300]})
        data = memoryview((line + "\n").encode())
        while data:
            data = data[os.write(write_end, data) :]
        os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    lines = b"".join(chunks).split(b"\n")
    try:
        msg = json.loads(lines[0]) if len(lines) == 2 and not lines[1] else None
    except ValueError:
        msg = None
    if not isinstance(msg, dict) or msg.get("n") != nonce or len(msg) != 2:
        why = "no result" if not chunks else "output that the evaluation did not send"
        return {"crashed": f"{why} (exit status {os.waitstatus_to_exitcode(status)})"}
    return msg["value"] if "value" in msg else {"crashed": msg.get("crashed")}
