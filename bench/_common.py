"""Shared helpers for the benchmark scripts (run from the repo root: python bench/<name>.py)."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the scripted LLM server lives with the tests
sys.path.insert(0, str(ROOT))  # ahead of tests/, whose engine/ folder would shadow the package


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def report(name: str, data: dict[str, Any]) -> None:
    """Print a JSON line and a human line."""
    data = {"bench": name, "machine": machine(), "commit": _commit(), **data}
    print(json.dumps(data))


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""
