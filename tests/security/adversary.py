"""Hostile job functions the security tests run in sandbox children (importable as `adversary`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any


def fork_many(n: int) -> int:
    """Fork up to `n` sleeping children; how many forks succeeded."""
    made = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    return made


def detached_survivor(marker: str) -> bool:
    """A child that leaves the job's session (fork + setsid), then this job returns at once."""
    child = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(60)  # {marker}"], start_new_session=True)
    time.sleep(0.2)
    return child.poll() is None


def write_file(path: str) -> str:
    try:
        with open(path, "w") as fh:
            fh.write("escaped")
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    return "written"


def remove_file(path: str) -> str:
    try:
        os.remove(path)
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    return "removed"


def visible_processes() -> list[dict[str, Any]]:
    """Every process this job can see in /proc, with its command line and whether its environ reads."""
    seen = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        entry: dict[str, Any] = {"pid": int(pid)}
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                entry["cmdline"] = fh.read().replace(b"\0", b" ").decode(errors="replace")[:200]
        except OSError:
            entry["cmdline"] = None
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                entry["environ"] = fh.read().decode(errors="replace")
        except OSError:
            entry["environ"] = None
        seen.append(entry)
    return seen


def kill_everything() -> list[str]:
    """Signal the parent, pid 1 and every visible process with SIGKILL; what each attempt did."""
    outcomes = []
    targets = {os.getppid(), 1, *(int(p) for p in os.listdir("/proc") if p.isdigit())} - {os.getpid()}
    for pid in sorted(targets):
        try:
            os.kill(pid, signal.SIGKILL)
            outcomes.append(f"{pid}: sent")
        except OSError as exc:
            outcomes.append(f"{pid}: {type(exc).__name__}")
    time.sleep(0.2)
    return outcomes


def environment() -> dict[str, str]:
    return dict(os.environ)


def connect_unix(path: str) -> str:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(path)
            sock.sendall(b"escaped")
    except OSError as exc:
        return f"refused: {type(exc).__name__}"
    return "connected"


def remount_writable() -> str:
    """Try to undo the read-only filesystem from inside."""
    result = subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True, text=True)
    return f"exit {result.returncode}"


def forge_result_then_fail() -> str:
    """Write a fake final result on the result channel, then fail."""
    os.write(3, b'{"result": "forged"}\n')
    raise ValueError("the real outcome")


def forge_result_then_exit() -> None:
    """Write a fake final result on the result channel, then leave before the real one."""
    os.write(3, b'{"n": "guess", "result": "forged"}\n')
    os._exit(0)


def nested_user_namespace() -> str:
    """Try to get a fresh set of capabilities in a user namespace of its own."""
    result = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True)
    return f"exit {result.returncode}"
