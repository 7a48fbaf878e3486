"""Escapes from the sandbox, one test per class: filesystem, processes, signals, secrets, sockets, verdicts."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
from pathlib import Path

import pytest
from security_helpers import HERE, needs_namespaces, processes_with, run_jobs

from engine.execution.sandbox import Job, Sandbox

pytestmark = needs_namespaces


def test_fork_bomb_stops_at_the_process_limit_even_for_root() -> None:
    pids = Path("/sys/fs/cgroup/pids")
    if not (pids.is_dir() and os.access(pids, os.W_OK)):
        pytest.skip("no writable pids cgroup (v1) here: the layer is reported missing")
    (res,) = run_jobs(Job("adversary:fork_many", (200,), timeout_s=10))
    assert os.geteuid() != 0 or res.ok  # as root, RLIMIT_NPROC alone would let all 200 through
    assert res.ok and 0 < res.value < 200


def test_a_process_that_leaves_the_session_dies_with_its_job() -> None:
    marker = f"vigor-survivor-{os.getpid()}-{time.time_ns()}"
    (res,) = run_jobs(Job("adversary:detached_survivor", (marker,)))
    assert res.ok and res.value is True  # it was running when the job ended
    for _ in range(40):
        if not processes_with(marker):
            return
        time.sleep(0.05)
    pytest.fail("a fork + setsid process outlived its job")


def test_files_outside_the_job_directory_cannot_be_written_or_removed() -> None:
    victim = HERE / f".victim-{os.getpid()}"
    victim.write_text("keep me")
    escape = HERE / f".escape-{os.getpid()}"
    try:
        wrote, removed, host_tmp = run_jobs(
            Job("adversary:write_file", (str(escape),)),
            Job("adversary:remove_file", (str(victim),)),
            Job("adversary:write_file", ("/tmp/escape_marker",)),
        )
        assert wrote.value.startswith("refused") and not escape.exists()
        assert removed.value.startswith("refused") and victim.read_text() == "keep me"
        assert not Path("/tmp/escape_marker").exists()  # its /tmp is a private one
    finally:
        victim.unlink(missing_ok=True)
        escape.unlink(missing_ok=True)


def test_the_filesystem_cannot_be_made_writable_again() -> None:
    remount, nested = run_jobs(Job("adversary:remount_writable"), Job("adversary:nested_user_namespace"))
    assert remount.ok and remount.value != "exit 0"
    assert nested.ok and nested.value != "exit 0"  # no fresh capabilities in a namespace of its own


def test_the_job_sees_only_its_own_processes() -> None:
    (res,) = run_jobs(Job("adversary:visible_processes"))
    assert res.ok
    assert [p["pid"] for p in res.value] == [1]  # itself, the init of its own PID namespace
    assert all("pytest" not in (p["cmdline"] or "") for p in res.value)


def test_killing_everything_it_can_see_costs_only_its_own_job() -> None:
    async def go() -> tuple[list[object], int]:
        async with Sandbox() as sandbox:
            first = await sandbox.run(Job("adversary:kill_everything"))
            after = [await sandbox.run(Job("adversary:environment")) for _ in range(3)]
            return [first, *after], sandbox.crashed_workers

    results, crashed_workers = asyncio.run(go())
    assert crashed_workers == 0  # the worker (and so the orchestrator above it) was out of reach
    assert all(r.ok for r in results[1:])  # type: ignore[attr-defined]


def test_secrets_in_the_environment_never_reach_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"API_KEY": "k1-short", "AWS_SECRET_ACCESS_KEY": "aws-123", "DB_PASSWORD": "hunter2", "MY_THING": "x"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    env, procs = run_jobs(Job("adversary:environment"), Job("adversary:visible_processes"))
    assert env.ok and not set(secrets) & set(env.value)  # allow-listed: even a harmless unknown name stays out
    leaked = [v for p in procs.value for k, v in secrets.items() if k != "MY_THING" and v in (p["environ"] or "")]
    assert not leaked


def test_a_unix_socket_of_the_host_cannot_be_reached() -> None:
    base = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="vigor-sock-"))
    path = base / "s"
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            os.chmod(path, 0o777)
            server.listen()
            server.settimeout(0.2)
            (res,) = run_jobs(Job("adversary:connect_unix", (str(path),)))
            with pytest.raises(TimeoutError):
                server.accept()
        assert res.ok and res.value.startswith("refused")
    finally:
        path.unlink(missing_ok=True)
        base.rmdir()


def test_a_forged_result_line_is_a_crash_not_a_result() -> None:
    then_fail, then_exit = run_jobs(Job("adversary:forge_result_then_fail"), Job("adversary:forge_result_then_exit"))
    for res in (then_fail, then_exit):
        assert res.crashed and not res.ok and res.value is None


def test_every_layer_is_applied_and_reported() -> None:
    async def go() -> dict[str, object]:
        async with Sandbox() as sandbox:
            return await sandbox.start()

    isolation = asyncio.run(go())
    assert isolation["missing"] == []
    assert all(isolation["layers"].values())  # type: ignore[union-attr]
