"""A clone (or a virtualenv) under /tmp still runs: the jobs' tmpfs over /tmp does not hide the code
the sandbox imports, and that code stays read-only to the jobs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio, json
    from engine.execution.sandbox import Job, Sandbox

    PROBE = '''
    import engine.execution.child_tests as m
    try:
        open(m.__file__ + ".x", "w")
        wrote = True
    except OSError:
        wrote = False
    print_ok = m.child_run_program("x = 1")["passed"]
    if wrote or not print_ok:
        raise AssertionError(f"wrote={wrote} ran={print_ok}")
    '''

    async def main():
        async with Sandbox() as sb:
            res = await sb.run(Job("engine.execution.child_tests:child_run_program", (PROBE,)))
            print(json.dumps({"value": res.value, "error": res.error, "layers": sb.isolation.get("layers")}))

    asyncio.run(main())
    """
)


def test_sandbox_runs_from_a_clone_under_tmp(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is where a clone under /tmp would be"
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "engine", clone / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=clone, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = __import__("json").loads(proc.stdout.strip().splitlines()[-1])
    assert out["value"] == {"passed": True}, out
