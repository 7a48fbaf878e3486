"""Helpers for the adversarial suite: hostile jobs on a real sandbox (importable as `security_helpers`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from engine.execution.sandbox import Job, JobResult, Sandbox

HERE = Path(__file__).parent


def run_jobs(*jobs: Job, **kwargs: Any) -> list[JobResult]:
    """Run jobs on one fresh sandbox (one warm worker), in order."""

    async def go() -> list[JobResult]:
        async with Sandbox(**kwargs) as sandbox:
            return [await sandbox.run(job) for job in jobs]

    return asyncio.run(go())


def processes_with(marker: str) -> list[int]:
    """Host processes whose command line holds `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def full_isolation() -> bool:
    from engine.execution.sandbox import _launcher

    return "--user" in _launcher()


needs_namespaces = pytest.mark.skipif(
    not full_isolation(), reason="user namespaces are not allowed here: the sandbox runs with fewer layers"
)
