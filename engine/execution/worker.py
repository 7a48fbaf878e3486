"""The sandbox worker (DESIGN §2): a small long-lived process that forks one child per job.

Started by `engine.execution.sandbox.Sandbox` as `python -m engine.execution.worker`, under `unshare -n` where
the platform allows it. It imports only the standard library (plus the job modules it is asked
for, once, before forking), so a fork costs about a millisecond and a child starts warm.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a JSON body.
Request:  {"id", "func": "module:attr", "args": [...], "timeout_s"} (limits come once, in VIGOR_SANDBOX_LIMITS)
Response: {"id", "ok", "value", "error", "timed_out", "progress": [...], "duration_s", "signal"}

Each child: its own session (so the whole process group can be killed), rlimits, a private temporary
directory as its working directory, stdin/stdout/stderr on /dev/null, results over a pipe as JSON
lines. A job function may call `progress(obj)` to stream partial facts: they survive a kill.
"""

from __future__ import annotations

import fcntl
import gc
import importlib
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import sys
import tempfile
import time
from typing import Any

from engine.execution.entry import resolve

_RESULT_FD = 3  # in a child, the write end of its result pipe
_JOB_FD = 4  # in a child, the read end of its job pipe
_HEADER = struct.Struct(">I")
# Cheap standard modules generated code often imports: imported once here, warm in every child.
_WARM = ("math", "re", "collections", "itertools", "functools", "heapq", "string", "bisect", "operator", "typing")


def progress(obj: Any) -> None:
    """(In a child.) Send one partial fact to the parent; it is kept even if the child is killed."""
    _write_line({"progress": obj})


def _write_line(obj: Any) -> None:
    data = (json.dumps(obj, default=repr) + "\n").encode()
    view = memoryview(data)
    while view:
        written = os.write(_RESULT_FD, view)
        view = view[written:]


def _prepare_child(limits: dict[str, Any], workdir: str, job_r: int, result_w: int) -> None:
    """(In a fresh child.) Isolate: own session, pipes on fixed fds, /dev/null stdio, rlimits, workdir."""
    os.setsid()
    # Move both pipe ends clear of 3 and 4 first: either may itself be 3 or 4.
    result_w, job_r = fcntl.fcntl(result_w, fcntl.F_DUPFD, 10), fcntl.fcntl(job_r, fcntl.F_DUPFD, 10)
    os.dup2(result_w, _RESULT_FD)
    os.dup2(job_r, _JOB_FD)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        if int(name) > _JOB_FD:
            try:
                os.close(int(name))
            except OSError:
                pass
    mem = int(limits.get("memory_mb", 1024)) << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits.get("cpu_s", 10))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = int(limits.get("fsize_mb", 16)) << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(limits.get("nproc", 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.chdir(workdir)
    os.environ["TMPDIR"] = workdir
    os.environ["HOME"] = workdir
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _child_main(limits: dict[str, Any], workdir: str, job_r: int, result_w: int) -> None:
    """A pre-forked child: set up, wait for its one job, run it, report; never returns."""
    code = 1
    try:
        _prepare_child(limits, workdir, job_r, result_w)
        data = bytearray()
        while chunk := os.read(_JOB_FD, 1 << 16):
            data += chunk
        if not data:
            os._exit(0)  # the worker is closing: no job for this child
        req = json.loads(bytes(data))
        value = resolve(req["func"])(*req.get("args", []))
        _write_line({"result": value})
        code = 0
    except BaseException as exc:
        try:
            _write_line({"error": f"{type(exc).__name__}: {exc}"[:500]})
        except BaseException:
            pass
    os._exit(code)


class _Child:
    """A forked child: idle (waiting for a job) until `start`, then running under a deadline."""

    __slots__ = ("pid", "job_w", "fd", "workdir", "req", "buf", "started", "deadline")

    def __init__(self, pid: int, job_w: int, fd: int, workdir: str):
        self.pid, self.job_w, self.fd, self.workdir = pid, job_w, fd, workdir
        self.req: dict[str, Any] = {}
        self.buf = bytearray()
        self.started = self.deadline = 0.0

    def start(self, req: dict[str, Any]) -> None:
        self.req = req
        self.started = time.monotonic()
        self.deadline = self.started + float(req.get("timeout_s", 10.0))
        os.write(self.job_w, json.dumps(req).encode())
        os.close(self.job_w)

    def final(self) -> dict[str, Any] | None:
        """The result or error line, once the child has written it."""
        if b'"result"' not in self.buf and b'"error"' not in self.buf:
            return None
        for msg in self.messages():
            if "result" in msg or "error" in msg:
                return msg
        return None

    def messages(self) -> list[dict[str, Any]]:
        out = []
        for line in bytes(self.buf).split(b"\n"):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


def _spawn(limits: dict[str, Any]) -> _Child:
    workdir = tempfile.mkdtemp(prefix="vigor-sbx-")
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child_main(limits, workdir, job_r, result_w)
    os.close(job_r)
    os.close(result_w)
    return _Child(pid, job_w, result_r, workdir)


def _kill(child: _Child) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)  # the child's own group: also any process it started
    except (ProcessLookupError, PermissionError):
        pass


def _send(out: Any, obj: dict[str, Any]) -> None:
    body = json.dumps(obj, default=repr).encode()
    out.write(_HEADER.pack(len(body)) + body)
    out.flush()


def _respond(out: Any, child: _Child, *, timed_out: bool, status: int | None = None) -> None:
    messages = child.messages()
    resp: dict[str, Any] = {
        "id": child.req["id"],
        "ok": False,
        "value": None,
        "error": None,
        "timed_out": timed_out,
        "progress": [m["progress"] for m in messages if "progress" in m],
        "duration_s": round(time.monotonic() - child.started, 6),
    }
    final = next((m for m in reversed(messages) if "result" in m or "error" in m), None)
    if final is not None and "result" in final:
        resp["ok"], resp["value"] = True, final["result"]
    elif final is not None:
        resp["error"] = final["error"]
    elif timed_out:
        resp["error"] = "timeout"
    elif status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resp["error"] = "cpu time limit exceeded" if sig == signal.SIGXCPU else f"child died (signal {sig})"
    else:
        resp["error"] = "child exited without a result"
    _send(out, resp)


def main() -> None:
    # Run as `-m`, this module is __main__: make job code's `import engine.execution.worker` find it.
    sys.modules.setdefault("engine.execution.worker", sys.modules[__name__])
    max_parallel = int(os.environ.get("VIGOR_SANDBOX_PARALLEL", "0")) or (os.cpu_count() or 1)
    limits = json.loads(os.environ.get("VIGOR_SANDBOX_LIMITS", "{}"))
    for name in _WARM:
        importlib.import_module(name)
    for name in filter(None, os.environ.get("VIGOR_SANDBOX_PRELOAD", "").split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a job that needs it fails with its own message
    gc.freeze()  # children then never touch (and so never copy) the worker's own objects
    inp = sys.stdin.buffer
    out = sys.stdout.buffer
    os.set_blocking(inp.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(inp.fileno(), selectors.EVENT_READ, None)
    pending: list[dict[str, Any]] = []
    idle: list[_Child] = []
    running: dict[int, _Child] = {}
    finished: dict[int, str] = {}  # pid -> workdir, killed children still to reap
    inbuf = bytearray()
    closing = False
    while not (closing and not pending and not running):
        # Children are forked ahead of need, so a job starts without paying for a fork.
        while pending and idle and len(running) < max_parallel:
            child = idle.pop()
            child.start(pending.pop(0))
            running[child.fd] = child
            sel.register(child.fd, selectors.EVENT_READ, child)
        while not closing and len(idle) + len(running) < 2 * max_parallel and len(idle) < max_parallel:
            idle.append(_spawn(limits))
        timeout = None
        if running:
            timeout = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
        elif finished:
            timeout = 0.05
        for key, _ in sel.select(timeout):
            if key.data is None:
                chunk = os.read(inp.fileno(), 1 << 16)
                if not chunk:
                    closing = True
                    sel.unregister(inp.fileno())
                    continue
                inbuf += chunk
                while len(inbuf) >= 4:
                    (size,) = _HEADER.unpack_from(inbuf)
                    if len(inbuf) < 4 + size:
                        break
                    pending.append(json.loads(bytes(inbuf[4 : 4 + size])))
                    del inbuf[: 4 + size]
                continue
            child = key.data
            chunk = os.read(child.fd, 1 << 16)
            child.buf += chunk
            if chunk and child.final() is None:
                continue
            sel.unregister(child.fd)
            os.close(child.fd)
            del running[child.fd]
            _kill(child)
            status = None
            if not chunk and child.final() is None:
                _, status = os.waitpid(child.pid, 0)
                shutil.rmtree(child.workdir, ignore_errors=True)
            else:
                finished[child.pid] = child.workdir
            _respond(out, child, timed_out=False, status=status)
        now = time.monotonic()
        for fd, child in list(running.items()):
            if child.deadline <= now:
                sel.unregister(fd)
                _kill(child)
                # Whatever the child managed to send before its deadline still counts.
                os.set_blocking(fd, False)
                try:
                    while chunk := os.read(fd, 1 << 16):
                        child.buf += chunk
                except BlockingIOError:
                    pass
                os.close(fd)
                del running[fd]
                finished[child.pid] = child.workdir
                _respond(out, child, timed_out=True)
        for pid in list(finished):
            if os.waitpid(pid, os.WNOHANG)[0]:
                shutil.rmtree(finished.pop(pid), ignore_errors=True)
    for child in idle:
        os.close(child.job_w)
        os.close(child.fd)
        _kill(child)
        os.waitpid(child.pid, 0)
        shutil.rmtree(child.workdir, ignore_errors=True)
    for pid, workdir in finished.items():
        os.waitpid(pid, 0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
