"""`vigor doctor`: which of the sandbox's isolation layers this machine allows (docs/security.md)."""

from __future__ import annotations

from typing import Any

from engine.execution.sandbox import LAYERS, Job, Sandbox

WHAT = {
    "user_namespace": "user namespace (capabilities only over the sandbox's own namespaces)",
    "pid_namespace": "PID namespace and its own /proc (the host's processes out of sight)",
    "network_namespace": "network namespace (no network)",
    "readonly_filesystem": "read-only filesystem, private /tmp and /dev",
    "pids_cgroup": "pids cgroup (a process limit that holds for root)",
    "job_pid_namespace": "a PID namespace per job (every process of a job dies with it)",
}


async def check_sandbox() -> dict[str, Any]:
    """Start a worker, run one trivial job, and report the layers applied and the job's outcome."""
    async with Sandbox() as sandbox:
        isolation = await sandbox.start()
        result = await sandbox.run(Job("engine.execution.child_tests:child_run_program", ("x = 1",), timeout_s=10))
    return {**isolation, "job_ok": result.ok and bool((result.value or {}).get("passed"))}


def report_lines(report: dict[str, Any]) -> list[str]:
    """The doctor's report, one line per layer, then a verdict line."""
    layers = report.get("layers", {})
    lines = [f"{'ok     ' if layers.get(name) else 'MISSING'} {WHAT[name]}" for name in LAYERS]
    lines.append(f"{'ok     ' if report.get('job_ok') else 'FAILED '} a job runs in the sandbox")
    missing = report.get("missing") or []
    lines.append("all layers applied" if not missing else f"missing on this machine: {', '.join(missing)}")
    return lines
