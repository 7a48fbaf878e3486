"""Kernel isolation for the sandbox (docs/design.md, "Sandbox"): what the worker applies once, and each job child at fork.

Stdlib only (ctypes for the few system calls Python 3.11 does not wrap). The namespaces themselves
come from util-linux `unshare` (user, mount, PID, network, IPC, UTS), started by
`engine.execution.sandbox`. Inside them the worker, which is root of its own user namespace with
the capabilities that gives (and only over its namespaces), applies once:

- a pids cgroup prepared by the orchestrator (`pids.max` holds for root, where RLIMIT_NPROC does not);
- every mount read-only and without device files, a fresh tmpfs on /tmp for the job directories,
  a minimal /dev (null, zero, full, random, urandom, shm) so no host device can be opened, and
  empty read-only tmpfs over /run and /var/tmp, where host services keep their Unix sockets;
- non-dumpable, so nothing it starts can read its memory or its file descriptors through /proc.

Each job child is then created by `clone(CLONE_NEWPID)`: it is the init of a PID namespace of its
own, so every process the job starts dies with it. In a mount namespace of its own it mounts a
read-only /proc (it sees only its own processes), a fresh tmpfs on /tmp that is its directory (the
one place it can write; no other job's files are in sight) and a fresh /dev/shm; then it drops
every capability and the right to regain them, so generated code cannot undo
any of the above.

Each layer is reported by name; a layer the platform refuses is reported missing, never dropped
silently (the orchestrator warns and records it in the run manifest).
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
# Mount flags a remount must keep: a mount inherited from a more privileged namespace refuses to lose them.
_KEPT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": 1024,
    "nodiratime": 2048,
    "relatime": 1 << 21,
    "strictatime": 1 << 24,
}
_CLONE_NEWNS, _CLONE_NEWPID = 0x20000, 0x20000000
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
_PR_SET_DUMPABLE, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS = 4, 28, 38
_SECUREBITS_ALL_LOCKED = 0x3F  # noroot, no-setuid-fixup, keep-caps off, each locked
_CAP_VERSION_3 = 0x20080522
DEVICES = ("null", "zero", "full", "random", "urandom")
JOBS_ROOT = "/tmp"
JOB_TMPFS_MB = 256  # a job's private /tmp (memory-backed; RLIMIT_FSIZE still bounds each file)
# Covered by an empty read-only tmpfs: a Unix socket is reached by its path whatever the network
# namespace, and these are where services put theirs (/tmp is covered by the jobs' own tmpfs).
HIDDEN = ("/run", "/var/run", "/var/tmp", "/var/lib/postgresql", "/var/lib/mysql")

_libc: Any = None


def _c() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_c().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def in_user_namespace() -> bool:
    """True when this process runs in a user namespace other than the initial one."""
    try:
        with open("/proc/self/uid_map") as fh:
            return fh.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def _mounts() -> list[tuple[str, str]]:
    """(mount point, per-mount options) of every mount, in mount order."""
    with open("/proc/self/mountinfo") as fh:
        return [(f[4].replace("\\040", " "), f[5]) for f in (line.split() for line in fh)]


def _private_dev(staging: str) -> None:
    """Build a /dev holding only harmless devices in `staging`, then move it over /dev."""
    _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=1m,mode=755")
    for name in DEVICES:
        path = f"{staging}/{name}"
        open(path, "w").close()
        _mount(f"/dev/{name}", path, None, MS_BIND)
    os.mkdir(f"{staging}/shm", 0o1777)
    _mount("tmpfs", f"{staging}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        os.symlink(f"/proc/self/fd/{fd}", f"{staging}/{name}")
    os.symlink("/proc/self/fd", f"{staging}/fd")
    _mount(staging, "/dev", None, MS_MOVE)


# The code directories under the jobs' root, bound back over every tmpfs mounted there (the worker's
# and each job's); found once per worker.
_KEPT_CODE: tuple[str, ...] = ()


def _tmpfs_keeping(point: str, options: str, keep: tuple[str, ...]) -> None:
    """A tmpfs on `point`, with the directories `keep` (under it) bound back in, read-only.

    The directories are held open across the mount and bound from /proc/self/fd: once the tmpfs is
    there, their paths lead into it."""
    held = [(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY)) for path in keep]
    try:
        _mount("tmpfs", point, "tmpfs", MS_NOSUID | MS_NODEV, options)
        for path, fd in held:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV | MS_NOSUID)
    finally:
        for _, fd in held:
            os.close(fd)


def _code_under_jobs_root() -> list[str]:
    """Directories the worker and its children import from that the jobs' tmpfs would hide (a clone
    or a virtualenv under /tmp): the engine's own root, the interpreter's prefixes, sys.path."""
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = {root, sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
    paths |= set(filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    under = sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})
    under = [p for p in under if p.startswith(JOBS_ROOT + "/")]
    return [p for p in under if not any(p.startswith(q + "/") for q in under if q != p)]


def _readonly_filesystem() -> None:
    """A writable tmpfs for jobs and a minimal /dev, then every other mount read-only and device-free."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount here reaches the host
    # Code that lives under the jobs' root is bound back in (read-only below, like every other mount):
    # the directories are held open across the tmpfs mount and bound from /proc/self/fd.
    global _KEPT_CODE
    _KEPT_CODE = tuple(_code_under_jobs_root())
    _tmpfs_keeping(JOBS_ROOT, "size=512m,mode=755", _KEPT_CODE)
    staging = f"{JOBS_ROOT}/.dev"
    os.mkdir(staging)
    _private_dev(staging)  # binds the devices while their mount still allows devices
    os.rmdir(staging)
    for point in HIDDEN:  # where host services keep their sockets and scratch files
        if os.path.isdir(point) and not os.path.islink(point):
            _mount("tmpfs", point, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755")
    writable = {JOBS_ROOT, "/dev/shm", *(f"/dev/{name}" for name in DEVICES)}
    for point, options in _mounts():
        if point in writable:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV | MS_NOSUID
        for opt in options.split(","):
            flags |= _KEPT_FLAGS.get(opt, 0)
        try:
            _mount(None, point, None, flags)
        except OSError:
            # A mount hidden under another one cannot be reached by path: it is hidden, so it is
            # out of reach of the code too. Anything else is a real failure.
            if os.path.ismount(point):
                raise


def _no_nested_user_namespaces() -> None:
    """Forbid user namespaces below ours (the limit is per namespace: the host's is untouched).

    A nested one could not undo the read-only mounts (they are locked), but it would hand the
    code a fresh set of capabilities to probe the kernel with; nothing a job needs.
    """
    try:
        with open("/proc/sys/user/max_user_namespaces", "w") as fh:
            fh.write("0")
    except OSError:
        pass


def _join_cgroup(path: str | None) -> bool:
    if not path:
        return False
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as fh:
            fh.write("0")  # "0": the writing process itself
        return True
    except OSError:
        return False


def _network_isolated() -> bool:
    """True when the only network interface is loopback (a network namespace of our own)."""
    try:
        with open("/proc/net/dev") as fh:
            names = [line.split(":")[0].strip() for line in fh.readlines()[2:]]
    except OSError:
        return False
    return names in ([], ["lo"])


def setup_worker(cgroup: str | None) -> dict[str, bool]:
    """(In the worker, once.) Apply what the platform allows; the layers applied, by name."""
    layers = {
        "user_namespace": in_user_namespace(),
        "pid_namespace": os.getpid() == 1,
        "network_namespace": _network_isolated(),
        "pids_cgroup": _join_cgroup(cgroup),
        "readonly_filesystem": False,
        "job_pid_namespace": False,
    }
    if layers["user_namespace"]:
        _no_nested_user_namespaces()
        try:
            _readonly_filesystem()
            layers["readonly_filesystem"] = True
        except OSError:
            pass
        layers["job_pid_namespace"] = layers["readonly_filesystem"] and _clone_works()
    # As a PID namespace's init the worker cannot be killed from inside it; SIGINT is the one
    # signal Python handles by default, so it is ignored too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _c().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    return layers


def fork_job(new_pid_namespace: bool) -> int:
    """`os.fork`, or with `new_pid_namespace` a fork whose child is the init of a fresh PID namespace.

    `unshare(CLONE_NEWPID)` works once per process, so the worker uses the raw clone system call,
    with Python's own before/after-fork hooks around it as `os.fork` does.
    """
    if not new_pid_namespace or _SYS_CLONE is None:
        return os.fork()
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = _c().syscall(_SYS_CLONE, _CLONE_NEWPID | signal.SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    api.PyOS_AfterFork_Parent()
    return _check(pid, "clone")


def _clone_works() -> bool:
    try:
        pid = fork_job(True)
    except OSError:
        return False
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def enter_job(private_mounts: bool) -> None:
    """(In a job child, before any job code.) Private mounts where allowed, then no capabilities, for good.

    `private_mounts`: a mount namespace of its own with a read-only /proc showing only the job's
    processes, a fresh tmpfs on /tmp as the job's directory (the only place it can write, gone
    with the job) and a fresh /dev/shm.
    """
    libc = _c()
    if private_mounts:
        _check(libc.unshare(_CLONE_NEWNS), "unshare mount namespace")
        _mount("proc", "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        # a clone or virtualenv under /tmp stays importable (read-only) in the job's own /tmp
        _tmpfs_keeping(JOBS_ROOT, f"size={JOB_TMPFS_MB}m,mode=700", _KEPT_CODE)
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
    # Nothing can grant capabilities again: exec as root does not (securebits, locked), file
    # capabilities do not (no_new_privs). So the bounding set needs no dropping, one call per
    # capability that would cost a fifth of a millisecond per job.
    libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_ALL_LOCKED, 0, 0, 0)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _check(libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), (_CapData * 2)()), "capset")
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
