"""`vigor doctor`'s report: each isolation layer by name, a missing one said so."""

from __future__ import annotations

import asyncio

from engine.execution.doctor import check_sandbox, report_lines
from engine.execution.sandbox import LAYERS


def test_a_missing_layer_is_named() -> None:
    layers = {name: name != "pids_cgroup" for name in LAYERS}
    lines = report_lines({"layers": layers, "missing": ["pids_cgroup"], "job_ok": True})
    assert any(line.startswith("MISSING") and "pids cgroup" in line for line in lines)
    assert lines[-1] == "missing on this machine: pids_cgroup"


def test_the_sandbox_here_runs_a_job_and_reports_every_layer() -> None:
    report = asyncio.run(check_sandbox())
    assert report["job_ok"] is True
    assert set(report["layers"]) == set(LAYERS)
    assert report["missing"] == [name for name in LAYERS if not report["layers"][name]]
