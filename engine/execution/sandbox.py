"""The sandbox, orchestrator side (docs/design.md, "Sandbox"): jobs go to a small long-lived worker,
which forks a child for each.

Generated code never runs in the orchestrator. `Sandbox.run(Job(...))` sends a job to the worker
(`engine.execution.worker`) and awaits its result; many jobs may be in flight at once, the worker
runs up to `parallel` children at a time (one per core by default, so wall-clock timeouts are not
eaten by queueing) and kills a child's whole process group at its deadline. Each worker starts
under util-linux `unshare` in user, mount, PID and network namespaces where the platform allows
it (`engine.execution.isolation` does the rest); `Sandbox.isolation` says what was applied.
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
_PRELOAD = (
    "engine.execution.oracle",
    "engine.execution.batch",
    "engine.execution.child_tests",
    "engine.execution.checks",
    "engine.execution.matching",
    "engine.examples",
)
_NAMESPACES = (
    "--user",
    "--map-root-user",
    "--mount",
    "--pid",
    "--mount-proc",
    "--net",
    "--ipc",
    "--uts",
    "--fork",
    "--kill-child",
)
# The environment generated code sees: these names (and LC_*) from ours, nothing else. An
# allow-list, so a secret under a name nobody thought of does not leak.
_ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8")
_ENV_ALLOWED_PREFIXES = ("LC_", "OPENBLAS_", "OMP_", "MKL_")  # locale; BLAS builds that need a core type
LAYERS = (
    "user_namespace",
    "pid_namespace",
    "network_namespace",
    "readonly_filesystem",
    "pids_cgroup",
    "job_pid_namespace",
)
_launch: list[str] | None = None


@dataclass(frozen=True)
class Job:
    """A function (`module:attr`) to call in a fresh child with JSON-able args, under a wall-clock timeout."""

    func: str
    args: tuple[Any, ...] = ()
    timeout_s: float = 10.0


@dataclass(frozen=True)
class JobResult:
    """What came back: the function's value, or its error, or a timeout; plus any streamed progress.

    `crashed`: the child ended without one well-formed result (it exited, was killed, or wrote
    something else on the result channel), or its worker died: the job's code is not to be trusted.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    timed_out: bool = False
    progress: tuple[Any, ...] = field(default=())
    duration_s: float = 0.0
    crashed: bool = False


def _launcher() -> list[str]:
    """The command prefix that starts a worker in namespaces: all of them, network only, or none."""
    global _launch
    if _launch is None:
        exe = shutil.which("unshare")
        _launch = []
        for flags in (_NAMESPACES, ("-n",)):
            if not exe or os.environ.get("VIGOR_SANDBOX_NAMESPACES") == "0":
                break
            try:
                probe = subprocess.run([exe, *flags, "true"], capture_output=True, timeout=5)
            except (OSError, subprocess.SubprocessError):
                continue
            if probe.returncode == 0:
                _launch = [exe, *flags]
                break
    return _launch


def _network_isolation_available() -> bool:
    """True when workers start in a network namespace of their own."""
    return bool(_launcher())


def _pids_cgroup() -> Path | None:
    """A fresh pids cgroup (v1 hierarchy) for one worker, or None where none can be made."""
    root = Path("/sys/fs/cgroup/pids")
    if not root.is_dir() or not os.access(root, os.W_OK):
        return None
    for stale in root.glob("vigor-*-*"):  # left by a run that was killed: empty once its worker died
        owner = stale.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _remove_cgroup(stale)
    path = root / f"vigor-{os.getpid()}-{next(_cgroup_ids)}"
    try:
        path.mkdir()
    except OSError:
        return None
    return path


_cgroup_ids = itertools.count(1)


def _remove_cgroup(path: Path) -> bool:
    """Remove an empty cgroup; False while it still holds processes."""
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def sandbox_env(extra: dict[str, str]) -> dict[str, str]:
    """The worker's environment: allow-listed names of ours plus the sandbox's own settings."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_ALLOWED or k.startswith(_ENV_ALLOWED_PREFIXES)}
    env.setdefault("PATH", os.defpath)
    return {**env, **extra}


class _Worker:
    """One worker process and the futures of the jobs sent to it."""

    def __init__(self, proc: asyncio.subprocess.Process, cgroup: Path | None):
        self.proc = proc
        self.cgroup = cgroup
        self.futures: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        error: BaseException = SandboxError("sandbox worker exited")
        try:
            while True:
                head = await self.proc.stdout.readexactly(4)
                body = await self.proc.stdout.readexactly(_HEADER.unpack(head)[0])
                msg = json.loads(body)
                if msg.get("id") == 0 and not self.hello.done():
                    self.hello.set_result(msg.get("hello") or {})
                    continue
                fut = self.futures.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            error = SandboxError(f"sandbox worker exited ({type(exc).__name__})")
        except asyncio.CancelledError:
            error = SandboxError("sandbox closed")
        if not self.hello.done():
            self.hello.set_exception(error)
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
        if not self.alive:
            fut.set_exception(SandboxError("sandbox worker exited"))
            return fut
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
        for _ in range(25):  # the kernel releases the last exiting processes a moment after the wait
            if self.cgroup is None or _remove_cgroup(self.cgroup):
                break
            await asyncio.sleep(0.02)


class Sandbox:
    """Runs jobs in forked children of `workers` long-lived worker processes (started on first use).

    `isolation` says what the platform allowed: the limits and, per layer of docs/design.md "Sandbox", whether it
    was applied (`layers`) and which are missing (`missing`); a missing layer is also logged as a
    warning once, when the first worker starts.
    """

    def __init__(self, *, memory_mb: int = 1024, cpu_s: int = 10, workers: int = 1, parallel: int | None = None):
        self.limits = {"memory_mb": memory_mb, "cpu_s": cpu_s, "fsize_mb": 16, "nproc": 64}
        self.n_workers = workers
        self.parallel = parallel or os.cpu_count() or 1
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._rr = itertools.cycle(range(workers))
        self._lock: asyncio.Lock | None = None
        self.isolation: dict[str, Any] = {}
        self.crashed_workers = 0  # workers that died under a job (each cost at most that job, never the run)
        self._dead: list[_Worker] = []

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _pids_max(self) -> int:
        per_worker = max(1, self.parallel // self.n_workers)
        # every running job its `nproc`, the idle children, the worker itself, some slack
        return per_worker * int(self.limits["nproc"]) + 2 * per_worker + 4

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
        launch = _launcher()
        cgroup = _pids_cgroup() if "--user" in launch else None
        if cgroup is not None:
            (cgroup / "pids.max").write_text(str(self._pids_max()))
        env = sandbox_env(
            {
                "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, paths))),
                "VIGOR_SANDBOX_PARALLEL": str(max(1, self.parallel // self.n_workers)),
                "VIGOR_SANDBOX_PRELOAD": ",".join(_PRELOAD),
                "VIGOR_SANDBOX_LIMITS": json.dumps(self.limits),
                "VIGOR_SANDBOX_CGROUP": str(cgroup or ""),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        cmd = [*launch, sys.executable, "-S", "-m", "engine.execution.worker"]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, start_new_session=True
        )
        worker = _Worker(proc, cgroup)
        try:
            hello = await asyncio.wait_for(asyncio.shield(worker.hello), 30)
        except (asyncio.TimeoutError, SandboxError) as exc:
            await worker.close()
            raise SandboxError(f"the sandbox worker did not start ({exc or 'no answer in 30 s'})") from None
        self._record_isolation(hello.get("layers") or {}, launch)
        return worker

    def _record_isolation(self, layers: dict[str, bool], launch: list[str]) -> None:
        first = not self.isolation
        missing = [name for name in LAYERS if not layers.get(name)]
        self.isolation = {
            "network": "namespace" if layers.get("network_namespace") else "none",
            "launcher": " ".join(Path(launch[0]).name if i == 0 else a for i, a in enumerate(launch)) or "none",
            "layers": {name: bool(layers.get(name)) for name in LAYERS},
            "missing": missing,
            **self.limits,
        }
        if first and missing:
            log.warning("sandbox: isolation layers missing on this platform: %s", ", ".join(missing))

    async def _worker(self) -> _Worker:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            dead = [w for w in self._workers if not w.alive]
            self._workers = [w for w in self._workers if w.alive]
            for w in dead:
                await w.close()
            while len(self._workers) < self.n_workers:
                self._workers.append(await self._spawn())
        return self._workers[next(self._rr) % len(self._workers)]

    async def start(self) -> dict[str, Any]:
        """Start the workers now (else at the first job); the isolation applied."""
        await self._worker()
        return self.isolation

    async def run(self, job: Job) -> JobResult:
        """Run one job in a fresh child; never raises for what the job's code does.

        A worker that dies under a job (whatever killed it) does not decide that job: it runs once
        more on a fresh worker, and only a job under which two workers died is `crashed`. Jobs that
        merely shared the worker get their own verdicts, so a death costs at most its cause.
        """
        error = ""
        for _ in range(2):
            worker = await self._worker()
            request = {"id": next(self._ids), "func": job.func, "args": list(job.args), "timeout_s": job.timeout_s}
            try:
                return _result(await worker.send(request))
            except SandboxError as exc:
                if str(exc) == "sandbox closed":
                    raise
                error = str(exc)
                if worker not in self._dead:
                    self._dead.append(worker)
                    self.crashed_workers += 1
                    log.warning("sandbox: %s under job %s; a fresh worker takes over", exc, job.func)
        return JobResult(ok=False, error=f"the sandbox worker died under this job twice ({error})", crashed=True)

    async def run_many(self, jobs: list[Job]) -> list[JobResult]:
        """Run jobs concurrently (the worker bounds how many children run at once)."""
        return list(await asyncio.gather(*(self.run(j) for j in jobs)))

    async def close(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            await w.close()


def _result(msg: dict[str, Any]) -> JobResult:
    return JobResult(
        ok=bool(msg.get("ok")),
        value=msg.get("value"),
        error=msg.get("error"),
        timed_out=bool(msg.get("timed_out")),
        progress=tuple(msg.get("progress") or ()),
        duration_s=float(msg.get("duration_s") or 0.0),
        crashed=bool(msg.get("crashed")),
    )
