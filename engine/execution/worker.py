"""The sandbox worker (docs/design.md, "Sandbox"): a small long-lived process that forks one child per job.

Started by `engine.execution.sandbox.Sandbox` as `python -m engine.execution.worker`, inside user,
mount, PID and network namespaces where the platform allows them; `engine.execution.isolation`
applies the rest once at start (read-only filesystem, pids cgroup) and in each child at fork (a PID
namespace per job, no capabilities). It imports only the standard library (plus the job modules
it is asked for, once, before forking), so a fork costs about a millisecond and a child starts warm.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a JSON body.
First frame out: {"id": 0, "hello": {"layers": {name: applied}}}.
Request:  {"id", "func": "module:attr", "args": [...], "timeout_s"} (limits come once, in VIGOR_SANDBOX_LIMITS)
Response: {"id", "ok", "value", "error", "timed_out", "crashed", "progress": [...], "duration_s"}

The result channel. A child reads its job (with a per-job nonce the worker draws) from a pipe,
and writes JSON lines carrying that nonce on its result pipe: any number of `progress` lines, then
exactly one `result` or `error`. The worker accepts exactly that: a line without the nonce, a line
that is not JSON, a second final line or a child that exits without one is `crashed`, which the
Evaluator turns into a hard rejection. Generated code can still write to the pipe, but cannot make
a well-formed verdict without reaching into the interpreter for the nonce (docs/security.md).
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import json
import os
import resource
import secrets
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any, BinaryIO

from engine.execution import isolation
from engine.execution.entry import resolve

_RESULT_FD = 3  # in a child, the write end of its result pipe
_JOB_FD = 4  # in a child, the read end of its job pipe
_HEADER = struct.Struct(">I")
_MAX_OUTPUT = 64 << 20  # bytes of result-channel output a job may send before it counts as a crash
# Cheap standard modules generated code often imports: imported once here, warm in every child.
_WARM = ("math", "re", "collections", "itertools", "functools", "heapq", "string", "bisect", "operator", "typing")

_nonce = ""  # in a child: the current job's nonce, stamped on every line it sends


def progress(obj: Any) -> None:
    """(In a child.) Send one partial fact to the parent; it is kept even if the child is killed."""
    _write_line({"n": _nonce, "progress": obj})


def _write_line(obj: Any) -> None:
    data = (json.dumps(obj, default=repr) + "\n").encode()
    view = memoryview(data)
    while view:
        written = os.write(_RESULT_FD, view)
        view = view[written:]


# --- in a child ---------------------------------------------------------------------------------


def _prepare_child(limits: dict[str, Any], workdir: str | None, job_r: int, result_w: int) -> None:
    """(In a fresh child.) Isolate: own session, pipes on fixed fds, /dev/null stdio, rlimits, workdir.

    `workdir` None: the job gets a private tmpfs on /tmp as its directory (it vanishes with the job).
    """
    os.setsid()
    # Move both pipe ends clear of 3 and 4 first: either may itself be 3 or 4.
    result_w, job_r = fcntl.fcntl(result_w, fcntl.F_DUPFD, 10), fcntl.fcntl(job_r, fcntl.F_DUPFD, 10)
    os.dup2(result_w, _RESULT_FD)
    os.dup2(job_r, _JOB_FD)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(_JOB_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    mem = int(limits.get("memory_mb", 1024)) << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits.get("cpu_s", 10))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = int(limits.get("fsize_mb", 16)) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(limits.get("nproc", 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))  # binds non-root only: see pids_cgroup
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    isolation.enter_job(private_mounts=workdir is None)
    workdir = workdir or isolation.JOBS_ROOT
    os.chdir(workdir)
    os.environ["TMPDIR"] = workdir
    os.environ["HOME"] = workdir


def _child_main(limits: dict[str, Any], workdir: str | None, job_r: int, result_w: int) -> None:
    """A pre-forked child: set up, wait for its one job, run it, report; never returns."""
    global _nonce
    code = 1
    try:
        _prepare_child(limits, workdir, job_r, result_w)
        data = bytearray()
        while chunk := os.read(_JOB_FD, 1 << 16):
            data += chunk
        os.close(_JOB_FD)
        if not data:
            os._exit(0)  # the worker is closing: no job for this child
        req = json.loads(bytes(data))
        _nonce = req.pop("nonce")
        value = resolve(req["func"])(*req.get("args", []))
        _write_line({"n": _nonce, "result": value})
        code = 0
    except BaseException as exc:
        try:
            _write_line({"n": _nonce, "error": f"{type(exc).__name__}: {exc}"[:500]})
        except BaseException:
            pass
    os._exit(code)


# --- in the worker ------------------------------------------------------------------------------


class _Child:
    """A forked child: idle (waiting for a job) until `start`, then running under a deadline."""

    __slots__ = ("pid", "job_w", "fd", "workdir", "req", "nonce", "buf", "started", "deadline", "lines", "final")

    def __init__(self, pid: int, job_w: int, fd: int, workdir: str | None):
        self.pid, self.job_w, self.fd, self.workdir = pid, job_w, fd, workdir
        self.req: dict[str, Any] = {}
        self.nonce = ""
        self.buf = bytearray()
        self.started = self.deadline = 0.0
        self.lines: list[dict[str, Any]] = []  # accepted progress lines
        self.final: dict[str, Any] | None = None  # the one result/error line, or a crash

    def start(self, req: dict[str, Any]) -> None:
        self.req = req
        self.nonce = secrets.token_hex(16)
        self.started = time.monotonic()
        self.deadline = self.started + float(req.get("timeout_s", 10.0))
        os.write(self.job_w, json.dumps({**req, "nonce": self.nonce}).encode())
        os.close(self.job_w)

    def feed(self, chunk: bytes) -> None:
        """Take result-channel bytes; set `final` at the first result, or at anything not well-formed."""
        self.buf += chunk
        if len(self.buf) > _MAX_OUTPUT:
            self.final = {"crashed": "more output on the result channel than any job sends"}
        *complete, rest = self.buf.split(b"\n")
        self.buf = bytearray(rest)
        for line in complete:
            if self.final is None:
                self._accept(line)
            elif "crashed" not in self.final:
                self.final = {"crashed": "more output on the result channel after the job's result"}

    def _accept(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or msg.get("n") != self.nonce or len(msg) != 2:
            self.final = {"crashed": "output on the result channel that the job did not send"}
        elif "progress" in msg:
            self.lines.append(msg)
        elif "result" in msg or "error" in msg:
            self.final = msg
        else:
            self.final = {"crashed": "an unknown message on the result channel"}

    def end_of_output(self, status: int | None) -> None:
        """The pipe closed (or the child was killed): a torn last line or no final is a crash."""
        if self.final is None and self.buf:
            self.final = {"crashed": "a torn line on the result channel"}
        if self.final is None and status is not None:
            self.final = {"crashed": _death(status)}


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "cpu time limit exceeded" if sig == signal.SIGXCPU else f"the child died (signal {sig})"
    return f"the child exited (status {os.waitstatus_to_exitcode(status)}) without a result"


def _spawn(limits: dict[str, Any], layers: dict[str, bool]) -> _Child | None:
    """Fork an idle child; None when the system refuses a process right now (the pids limit)."""
    # With a mount namespace per job the child makes its own private /tmp; else a directory here.
    workdir = None if layers.get("job_pid_namespace") else tempfile.mkdtemp(prefix="vigor-sbx-")
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    try:
        pid = isolation.fork_job(layers.get("job_pid_namespace", False))
    except OSError:
        for fd in (job_r, job_w, result_r, result_w):
            os.close(fd)
        _remove(workdir)
        return None
    if pid == 0:
        _child_main(limits, workdir, job_r, result_w)
    os.close(job_r)
    os.close(result_w)
    return _Child(pid, job_w, result_r, workdir)


def _remove(workdir: str | None) -> None:
    """Remove a job directory made here (a private /tmp went with its job's mount namespace)."""
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill(child: _Child) -> None:
    try:
        # The child is its own session and, with job PID namespaces, the init of one: killing it
        # takes every process the job started with it.
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _send(out: BinaryIO, obj: dict[str, Any]) -> None:
    body = json.dumps(obj, default=repr).encode()
    out.write(_HEADER.pack(len(body)) + body)
    out.flush()


def _respond(out: BinaryIO, child: _Child, *, timed_out: bool) -> None:
    final = child.final or {}
    resp: dict[str, Any] = {
        "id": child.req["id"],
        "ok": "result" in final,
        "value": final.get("result"),
        "error": final.get("error") or final.get("crashed"),
        "timed_out": timed_out,
        "crashed": "crashed" in final and not timed_out,
        "progress": [m["progress"] for m in child.lines],
        "duration_s": round(time.monotonic() - child.started, 6),
    }
    if timed_out and not resp["ok"]:
        resp["error"] = "timeout"
    elif resp["error"] == "cpu time limit exceeded":
        resp["timed_out"], resp["crashed"] = True, False
    _send(out, resp)


class _Loop:
    """The worker's state: jobs waiting, children idle and running, killed children to reap."""

    def __init__(self, out: BinaryIO, limits: dict[str, Any], layers: dict[str, bool], parallel: int):
        self.out, self.limits, self.layers, self.parallel = out, limits, layers, parallel
        self.sel = selectors.DefaultSelector()
        self.pending: list[dict[str, Any]] = []
        self.idle: list[_Child] = []
        self.running: dict[int, _Child] = {}
        self.finished: dict[int, str | None] = {}  # pid -> workdir, killed children still to reap
        self.inbuf = bytearray()
        self.closing = False

    def dispatch(self) -> None:
        """Start waiting jobs on idle children; fork children ahead of need, so a job pays no fork."""
        while self.pending and self.idle and len(self.running) < self.parallel:
            child = self.idle.pop()
            self.running[child.fd] = child
            self.sel.register(child.fd, selectors.EVENT_READ, child)
            req = self.pending.pop(0)
            try:
                child.start(req)
            except OSError:  # it died before its job (killed from outside): not the job's doing
                child.req = req
                req["_lost"] = req.get("_lost", 0) + 1
                child.final = {"crashed": "the sandbox child died before its job started"}
                if req["_lost"] < 3:  # give the job another child; a third loss is reported
                    self.release(child)
                    self.pending.insert(0, req)
                    continue
                self.finish(child, timed_out=False)
        while not self.closing and len(self.idle) + len(self.running) < 2 * self.parallel:
            if len(self.idle) >= self.parallel:
                break
            child = _spawn(self.limits, self.layers)
            if child is None:
                break  # no process to be had now (a job's fork bomb at the pids limit): retry later
            self.idle.append(child)

    def read_requests(self, fd: int) -> None:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.closing = True
            self.sel.unregister(fd)
            return
        self.inbuf += chunk
        while len(self.inbuf) >= 4:
            (size,) = _HEADER.unpack_from(self.inbuf)
            if len(self.inbuf) < 4 + size:
                break
            self.pending.append(json.loads(bytes(self.inbuf[4 : 4 + size])))
            del self.inbuf[: 4 + size]

    def read_child(self, child: _Child) -> None:
        chunk = os.read(child.fd, 1 << 16)
        child.feed(chunk)
        if chunk and child.final is None:
            return
        status = None
        if not chunk and child.final is None:
            _kill(child)
            _, status = os.waitpid(child.pid, 0)
        child.end_of_output(status)
        self.finish(child, timed_out=False, reaped=status is not None)

    def release(self, child: _Child, *, reaped: bool = False) -> None:
        """Stop watching a running child, kill it (and so its namespace), and clean up after it."""
        self.sel.unregister(child.fd)
        os.close(child.fd)
        del self.running[child.fd]
        _kill(child)
        if reaped:
            _remove(child.workdir)
        else:
            self.finished[child.pid] = child.workdir

    def finish(self, child: _Child, *, timed_out: bool, reaped: bool = False) -> None:
        self.release(child, reaped=reaped)
        _respond(self.out, child, timed_out=timed_out)

    def expire(self) -> None:
        now = time.monotonic()
        for child in [c for c in self.running.values() if c.deadline <= now]:
            _kill(child)
            # Whatever the child managed to send before its deadline still counts.
            os.set_blocking(child.fd, False)
            try:
                while (chunk := os.read(child.fd, 1 << 16)) and child.final is None:
                    child.feed(chunk)
            except BlockingIOError:
                pass
            self.finish(child, timed_out=True)

    def reap(self, wait: bool = False) -> None:
        for pid in list(self.finished):
            if os.waitpid(pid, 0 if wait else os.WNOHANG)[0]:
                _remove(self.finished.pop(pid))

    def timeout(self) -> float | None:
        if self.running:
            return max(0.0, min(c.deadline for c in self.running.values()) - time.monotonic())
        if self.finished or (self.pending and not self.idle):
            return 0.05
        return None

    def shutdown(self) -> None:
        for child in self.idle:
            os.close(child.job_w)
            os.close(child.fd)
            _kill(child)
            os.waitpid(child.pid, 0)
            _remove(child.workdir)
        self.reap(wait=True)


def _warm() -> None:
    for name in _WARM:
        importlib.import_module(name)
    for name in filter(None, os.environ.get("VIGOR_SANDBOX_PRELOAD", "").split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a job that needs it fails with its own message
    gc.freeze()  # children then never touch (and so never copy) the worker's own objects


def main() -> None:
    # Run as `-m`, this module is __main__: make job code's `import engine.execution.worker` find it.
    sys.modules.setdefault("engine.execution.worker", sys.modules[__name__])
    parallel = int(os.environ.get("VIGOR_SANDBOX_PARALLEL", "0")) or (os.cpu_count() or 1)
    limits = json.loads(os.environ.get("VIGOR_SANDBOX_LIMITS", "{}"))
    layers = isolation.setup_worker(os.environ.get("VIGOR_SANDBOX_CGROUP") or None)
    _warm()
    out = sys.stdout.buffer
    _send(out, {"id": 0, "hello": {"layers": layers}})
    inp = sys.stdin.buffer.fileno()
    os.set_blocking(inp, False)
    loop = _Loop(out, limits, layers, parallel)
    loop.sel.register(inp, selectors.EVENT_READ, None)
    while not (loop.closing and not loop.pending and not loop.running):
        loop.dispatch()
        for key, _ in loop.sel.select(loop.timeout()):
            if key.data is None:
                loop.read_requests(inp)
            else:
                loop.read_child(key.data)
        loop.expire()
        loop.reap()
    loop.shutdown()


if __name__ == "__main__":
    main()
