"""The record/replay cache of LLM answers (`llm.cache: record | replay`), one file per request.

A recording is what a run did with an answer, so that a replay decides the same: the answer's text,
finish reason and usage, and for a streamed answer the `stream_marks` its reader left (where it saw
the answer end, what it had cost when it was closed). Several runs may record into one folder at
once (the benchmark's arms do, and their requests overlap), and a model need not answer the same
request the same way twice (a batching server does not). So in record mode each request key is
held (`hold`) from its lookup until its recording is final: whoever asks the same request meanwhile,
in this process or another, waits and is then answered from the recording. One request, one answer
per folder; nothing a run read is ever replaced by an answer another run read.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from engine.llm.answers import ChatResult
from engine.types import Usage

HOLD_POLL_S = 0.05  # how often a request waits for another reader of the same key to finish


class KeyHold:
    """An exclusive hold on one request key: an `flock` on a lock file of its own, which another
    process and another coroutine of this one (each opens the file anew) both respect. The OS
    drops it if the process dies; `release` is idempotent."""

    def __init__(self, path: Path, handle: Any):
        self._path = path
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            self._path.unlink()  # before unlocking: a waiter holding the old file sees it is gone
        except OSError:
            pass
        handle.close()  # closing drops the lock


class LLMCache:
    """Request-keyed answers on disk; `hold` makes each key's recording single-writer."""

    def __init__(self, directory: str | Path, mode: str):
        self.dir = Path(directory)
        self.mode = mode
        if mode == "record":
            self.dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(request: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()

    def _path(self, request: dict[str, Any]) -> Path:
        return self.dir / f"{self.key(request)}.json"

    def _load(self, request: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(request).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def has(self, request: dict[str, Any]) -> bool:
        return self._path(request).exists()

    def get(self, request: dict[str, Any]) -> ChatResult | None:
        data = self._load(request)
        if data is None:
            return None
        return ChatResult(
            tuple(data["texts"]), Usage(**data["usage"]), cached=True, finish_reasons=tuple(data.get("finish", ()))
        )

    def marks(self, request: dict[str, Any]) -> dict[str, int]:
        """What the reader of a streamed answer left with its recording (see ChatStream.mark)."""
        try:
            data = self._load(request) or {}
        except (OSError, ValueError):
            return {}
        marks = data.get("stream_marks") or {}
        return {str(k): int(v) for k, v in marks.items() if isinstance(v, int)}

    def put(self, request: dict[str, Any], result: ChatResult, marks: dict[str, int] | None = None) -> None:
        path = self._path(request)
        data: dict[str, Any] = {
            "request": request,
            "texts": list(result.texts),
            "usage": result.usage.to_dict(),
            "finish": list(result.finish_reasons),
        }
        if marks:
            data["stream_marks"] = dict(marks)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    async def hold(self, request: dict[str, Any]) -> KeyHold:
        """Wait until no one else (another task, another process) is asking or reading this request,
        then hold it until `release`: the recording found afterwards is final for it."""
        locks = self.dir / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / self.key(request)
        while True:
            handle = open(path, "a+b")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                await asyncio.sleep(HOLD_POLL_S)
                continue
            try:
                same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False  # the previous holder removed it after we opened it
            if same:
                return KeyHold(path, handle)
            handle.close()
