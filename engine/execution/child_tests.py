"""(In the sandbox child.) Running test code against a finished program; stdlib only."""

from __future__ import annotations

from typing import Any

_MATCH_HELPER = "from engine.execution.matching import values_match as _vigor_match\n"


def child_run_tests(code: str, tests: list[str]) -> dict[str, Any]:
    """(In the sandbox child.) Exec the code, then each test statement; count passes and failures."""
    env: dict[str, Any] = {"__name__": "__vigor_test__"}
    try:
        exec(compile(_MATCH_HELPER + code, "<solution>", "exec"), env)
    except BaseException as exc:
        return {"ran": 0, "passed": 0, "failed": len(tests), "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    passed, failures = 0, []
    for src in tests:
        try:
            exec(compile(src, "<visible test>", "exec"), env)
            passed += 1
        except BaseException as exc:
            failures.append(f"{src.strip()[:120]} -> {type(exc).__name__}: {str(exc)[:120]}")
    return {
        "ran": len(tests),
        "passed": passed,
        "failed": len(failures),
        "ok": not failures and bool(tests),
        "failures": failures[:5],
    }


def child_run_program(program: str) -> dict[str, Any]:
    """(In the sandbox child.) Exec a whole test program; it passes when nothing raises."""
    env: dict[str, Any] = {"__name__": "__main__"}
    try:
        exec(compile(program, "<scored program>", "exec"), env)
    except BaseException as exc:
        return {"passed": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"passed": True}


def child_run_stdio(code: str, cases: list[list[str]]) -> dict[str, Any]:
    """(In the sandbox child.) Run the code as a script on each (stdin, expected stdout) case."""
    from engine.execution.checks import stdio_ok

    passed, failures = 0, []
    for stdin, expected in cases:
        try:
            ok = stdio_ok(code, stdin, expected)
        except BaseException as exc:  # what the script raises is a result
            ok, expected = False, f"{type(exc).__name__}: {exc}"[:120]
        if ok:
            passed += 1
        else:
            failures.append(f"stdin {stdin[:60]!r} -> expected {str(expected)[:60]!r}")
    return {"ran": len(cases), "passed": passed, "failed": len(failures), "ok": not failures, "failures": failures[:5]}
