"""The sandbox: forked children with rlimits, a private directory, timeouts that kill the whole group."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from engine.execution.sandbox import Job, JobResult, Sandbox

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _jobs_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(HERE))


def run(*jobs: Job, **kwargs: object) -> list[JobResult]:
    async def go() -> list[JobResult]:
        async with Sandbox(**kwargs) as sandbox:  # type: ignore[arg-type]
            return await sandbox.run_many(list(jobs))

    return asyncio.run(go())


def test_returns_the_job_value() -> None:
    (res,) = run(Job("sandbox_jobs:add", (2, 3)))
    assert res.ok and res.value == 5 and not res.timed_out


def test_reports_the_job_error_without_failing_the_sandbox() -> None:
    bad, good = run(Job("sandbox_jobs:fail"), Job("sandbox_jobs:add", (1, 1)))
    assert not bad.ok and bad.error == "ValueError: boom"
    assert good.ok and good.value == 2


def test_output_of_the_code_does_not_reach_the_protocol() -> None:
    (res,) = run(Job("sandbox_jobs:noisy"))
    assert res.ok and res.value == "quiet result"


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_timeout_kills_every_process_of_the_job_even_in_another_session() -> None:
    from engine.execution.sandbox import _launcher

    if "--user" not in _launcher():
        pytest.skip("no PID namespace per job on this platform (a named missing layer)")
    marker = f"vigor-grandchild-{os.getpid()}-{time.time_ns()}"
    (res,) = run(Job("sandbox_jobs:sleep_with_grandchild", (marker,), timeout_s=1.5))
    assert res.timed_out and not res.ok
    assert res.progress == ({"grandchild_running": True},)
    for _ in range(50):
        if not _processes_with(marker):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild outlived the timeout")


def test_progress_survives_a_killed_child() -> None:
    (res,) = run(Job("sandbox_jobs:progress_then_hang", timeout_s=0.5))
    assert res.timed_out
    assert res.progress == ({"step": 1},)


def test_each_child_runs_in_its_own_private_directory_removed_afterwards() -> None:
    first, second = run(Job("sandbox_jobs:where_am_i"), Job("sandbox_jobs:where_am_i"))
    for res in (first, second):
        assert res.value["cwd"] == res.value["tmpdir"] != os.getcwd()
        # nothing of another job in sight; only code that lives under /tmp (a clone there) is bound back in
        code_under_tmp = {Path(p).parts[2] for p in [*sys.path, str(HERE)] if p.startswith("/tmp/")}
        assert set(res.value["before"]) <= code_under_tmp
    assert not Path(first.value["cwd"], "scratch.txt").exists()  # gone from the host too


def test_memory_limit_stops_a_large_allocation() -> None:
    (res,) = run(Job("sandbox_jobs:allocate", (2048,)), memory_mb=256)
    assert not res.ok and "MemoryError" in (res.error or "")


def test_no_network_where_the_platform_allows_isolation() -> None:
    from engine.execution.sandbox import _network_isolation_available

    if not _network_isolation_available():
        pytest.skip("unshare -n is not permitted here; the sandbox runs without network isolation")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        (res,) = run(Job("sandbox_jobs:connect", (server.getsockname()[1],)))
    assert res.ok and res.value.startswith("refused")


def test_api_keys_are_not_passed_to_generated_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak-000000")
    (res,) = run(Job("sandbox_jobs:read_env", ("OPENAI_API_KEY",)))
    assert res.ok and res.value is None


def test_many_concurrent_jobs_all_come_back() -> None:
    results = run(*(Job("sandbox_jobs:add", (i, i)) for i in range(24)))
    assert [r.value for r in results] == [2 * i for i in range(24)]


def test_a_worker_killed_under_jobs_does_not_decide_them_a_fresh_worker_runs_them() -> None:
    async def go() -> tuple[list[JobResult], JobResult, int]:
        async with Sandbox() as sandbox:
            await sandbox.start()
            in_flight = [
                asyncio.ensure_future(sandbox.run(Job("sandbox_jobs:progress_then_hang", timeout_s=1.5))),
                asyncio.ensure_future(sandbox.run(Job("sandbox_jobs:progress_then_hang", timeout_s=1.5))),
            ]
            await asyncio.sleep(0.3)
            os.kill(sandbox._workers[0].proc.pid, 9)  # from outside: nothing inside can reach it
            lost = list(await asyncio.wait_for(asyncio.gather(*in_flight), 20))
            after = await sandbox.run(Job("sandbox_jobs:add", (1, 2)))
            return lost, after, sandbox.crashed_workers

    lost, after, crashed = asyncio.run(go())
    for hung in lost:  # both were running when the worker died; each gets its own verdict from a rerun
        assert hung.timed_out and not hung.crashed and hung.progress == ({"step": 1},)
    assert after.ok and after.value == 3
    assert crashed == 1


def test_without_namespaces_the_missing_layers_are_named_and_jobs_still_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from engine.execution import sandbox as sandbox_module

    monkeypatch.setenv("VIGOR_SANDBOX_NAMESPACES", "0")
    monkeypatch.setattr(sandbox_module, "_launch", None)

    async def go() -> tuple[dict[str, object], JobResult]:
        async with Sandbox() as sandbox:
            isolation = await sandbox.start()
            return isolation, await sandbox.run(Job("sandbox_jobs:add", (2, 2)))

    with caplog.at_level("WARNING"):
        isolation, res = asyncio.run(go())
    monkeypatch.setattr(sandbox_module, "_launch", None)  # the next test probes again
    assert res.ok and res.value == 4
    assert "readonly_filesystem" in isolation["missing"] and "user_namespace" in isolation["missing"]
    assert "isolation layers missing" in caplog.text and "readonly_filesystem" in caplog.text


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_a_job_whose_waiting_child_was_killed_gets_another_child() -> None:
    async def go() -> tuple[int, JobResult]:
        async with Sandbox() as sandbox:
            await sandbox.start()
            await sandbox.run(Job("sandbox_jobs:add", (0, 0)))  # children forked ahead of need
            await asyncio.sleep(0.3)
            from engine.execution.sandbox import _launcher

            launcher = sandbox._workers[0].proc.pid
            worker = _children(launcher)[0] if "--fork" in _launcher() else launcher  # unshare --fork: its child
            idle = _children(worker)
            for pid in idle:
                os.kill(pid, 9)
            await asyncio.sleep(0.3)  # dead before the job is handed over (after that it is the job's crash)
            return len(idle), await sandbox.run(Job("sandbox_jobs:add", (2, 5)))

    killed, res = asyncio.run(go())
    assert killed >= 1
    assert res.ok and res.value == 7 and not res.crashed
