"""The sandbox (DESIGN §2), orchestrator side: jobs go to a small long-lived worker that forks a child each.

Generated code never runs in the orchestrator. `Sandbox.run(Job(...))` sends a job to the worker
(`engine.execution.worker`) and awaits its result; many jobs may be in flight at once, the worker
runs up to `parallel` children at a time (one per core by default, so wall-clock timeouts are not
eaten by queueing) and kills a child's whole process group at its deadline. The worker runs under
`unshare -n` (no network) where the platform allows it; `Sandbox.isolation` says what was applied.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SandboxError

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
_PRELOAD = ("engine.agents.tester", "engine.execution.oracle", "engine.examples")
_UNSHARE: bool | None = None


@dataclass(frozen=True)
class Job:
    """A function (`module:attr`) to call in a fresh child with JSON-able args, under a wall-clock timeout."""

    func: str
    args: tuple[Any, ...] = ()
    timeout_s: float = 10.0


@dataclass(frozen=True)
class JobResult:
    """What came back: the function's value, or its error, or a timeout; plus any streamed progress."""

    ok: bool
    value: Any = None
    error: str | None = None
    timed_out: bool = False
    progress: tuple[Any, ...] = field(default=())
    duration_s: float = 0.0


def _network_isolation_available() -> bool:
    """True when `unshare -n` works here (root, or a kernel allowing user namespaces with net)."""
    global _UNSHARE
    if _UNSHARE is None:
        exe = shutil.which("unshare")
        _UNSHARE = False
        if exe and os.environ.get("VIGOR_SANDBOX_NETWORK") != "1":
            try:
                _UNSHARE = subprocess.run([exe, "-n", "true"], capture_output=True, timeout=5).returncode == 0
            except (OSError, subprocess.SubprocessError):
                _UNSHARE = False
    return _UNSHARE


class _Worker:
    """One worker process and the futures of the jobs sent to it."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.futures: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        error: BaseException = SandboxError("sandbox worker exited")
        try:
            while True:
                head = await self.proc.stdout.readexactly(4)
                body = await self.proc.stdout.readexactly(_HEADER.unpack(head)[0])
                msg = json.loads(body)
                fut = self.futures.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            error = SandboxError(f"sandbox worker exited ({type(exc).__name__})")
        except asyncio.CancelledError:
            error = SandboxError("sandbox closed")
        for fut in self.futures.values():
            if not fut.done():
                fut.set_exception(error)
        self.futures.clear()

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.reader.done()

    def send(self, request: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        assert self.proc.stdin is not None
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.futures[request["id"]] = fut
        body = json.dumps(request).encode()
        self.proc.stdin.write(_HEADER.pack(len(body)) + body)
        return fut

    async def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()
        try:
            await self.reader
        except asyncio.CancelledError:
            pass


class Sandbox:
    """Runs jobs in forked children of `workers` long-lived worker processes (started on first use)."""

    def __init__(self, *, memory_mb: int = 1024, cpu_s: int = 10, workers: int = 1, parallel: int | None = None):
        self.limits = {"memory_mb": memory_mb, "cpu_s": cpu_s, "fsize_mb": 16, "nproc": 64}
        self.n_workers = workers
        self.parallel = parallel or os.cpu_count() or 1
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._rr = itertools.cycle(range(workers))
        self._lock: asyncio.Lock | None = None
        self.isolation: dict[str, Any] = {}

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _spawn(self) -> _Worker:
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the engine package
        # `-S` skips site's .pth processing (it makes every fork slower); the library paths are
        # put on PYTHONPATH instead, so generated code still imports what is installed.
        paths = [
            root,
            os.environ.get("PYTHONPATH", ""),
            sysconfig.get_paths()["purelib"],
            sysconfig.get_paths()["platlib"],
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
            "VIGOR_SANDBOX_PARALLEL": str(max(1, self.parallel // self.n_workers)),
            "VIGOR_SANDBOX_PRELOAD": ",".join(_PRELOAD),
            "VIGOR_SANDBOX_LIMITS": json.dumps(self.limits),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for secret in [k for k in env if k.endswith(("_API_KEY", "_TOKEN", "_SECRET"))]:
            del env[secret]  # generated code has no business reading the user's keys
        cmd = [sys.executable, "-S", "-m", "engine.execution.worker"]
        isolated = _network_isolation_available()
        if isolated:
            cmd = ["unshare", "-n", *cmd]
        self.isolation = {"network": "unshare -n" if isolated else "none", **self.limits}
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, start_new_session=True
        )
        return _Worker(proc)

    async def _worker(self) -> _Worker:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self._workers = [w for w in self._workers if w.alive]
            while len(self._workers) < self.n_workers:
                self._workers.append(await self._spawn())
        return self._workers[next(self._rr) % len(self._workers)]

    async def run(self, job: Job) -> JobResult:
        """Run one job in a fresh child; never raises for what the job's code does."""
        worker = await self._worker()
        request = {"id": next(self._ids), "func": job.func, "args": list(job.args), "timeout_s": job.timeout_s}
        msg = await worker.send(request)
        return JobResult(
            ok=bool(msg.get("ok")),
            value=msg.get("value"),
            error=msg.get("error"),
            timed_out=bool(msg.get("timed_out")),
            progress=tuple(msg.get("progress") or ()),
            duration_s=float(msg.get("duration_s") or 0.0),
        )

    async def run_many(self, jobs: list[Job]) -> list[JobResult]:
        """Run jobs concurrently (the worker bounds how many children run at once)."""
        return list(await asyncio.gather(*(self.run(j) for j in jobs)))

    async def close(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            await w.close()
