"""Job functions the sandbox tests run in children (importable by the worker as `sandbox_jobs`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time


def add(a: int, b: int) -> int:
    return a + b


def fail() -> None:
    raise ValueError("boom")


def noisy() -> str:
    for _ in range(2000):
        print("x" * 100)
        print("y" * 100, file=sys.stderr)
    return "quiet result"


def sleep_with_grandchild(marker: str) -> None:
    """Start a grandchild in a session of its own (out of the job's process group), then hang."""
    from engine.execution.worker import progress

    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(60)  # {marker}"], start_new_session=True)
    time.sleep(0.3)
    progress({"grandchild_running": child.poll() is None})
    time.sleep(60)


def progress_then_hang() -> None:
    from engine.execution.worker import progress

    progress({"step": 1})
    while True:
        pass


def where_am_i() -> dict[str, object]:
    before = sorted(os.listdir("."))
    with open("scratch.txt", "w") as fh:
        fh.write("private")
    return {"cwd": os.getcwd(), "tmpdir": os.environ.get("TMPDIR", ""), "before": before}


def allocate(megabytes: int) -> int:
    block = bytearray(megabytes << 20)
    return len(block)


def connect(port: int) -> str:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    return "connected"


def read_env(name: str) -> str | None:
    return os.environ.get(name)
