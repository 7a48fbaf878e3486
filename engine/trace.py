"""Machine-readable traces: one JSON object per line, appended and flushed as events happen.

The format is documented in docs/trace-format.md; bump SCHEMA_VERSION on incompatible changes.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

SCHEMA_VERSION = 1

# Belt and braces: values that look like API keys never reach a file even if a caller slips.
_SECRET_RE = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{12,}|(?:api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?[^\s\"',]+)", re.I
)


def redact(text: str) -> str:
    """Replace anything shaped like an API key or auth header value with a marker."""
    return _SECRET_RE.sub("[redacted]", text)


class TraceSink(Protocol):
    """Where trace events go; the loop only ever calls `emit`."""

    def emit(self, event: str, **fields: Any) -> None: ...


class NullTrace:
    """A sink that keeps nothing."""

    def emit(self, event: str, **fields: Any) -> None:
        return None


class MemoryTrace:
    """A sink that keeps events in a list (tests, the editor server)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.events: list[dict[str, Any]] = []
        self._clock = clock

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"v": SCHEMA_VERSION, "event": event, "ts": round(self._clock(), 6), **fields})


class TeeTrace:
    """Sends every event to several sinks (a run's file and one task's memory, say)."""

    def __init__(self, *sinks: TraceSink):
        self.sinks = sinks

    def emit(self, event: str, **fields: Any) -> None:
        for sink in self.sinks:
            sink.emit(event, **fields)


class JsonlTrace:
    """Appends events to a JSONL file, one flushed line each, so a killed run keeps what it wrote."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._clock = clock

    def emit(self, event: str, **fields: Any) -> None:
        record = {"v": SCHEMA_VERSION, "event": event, "ts": round(self._clock(), 6), **fields}
        line = redact(json.dumps(record, ensure_ascii=False, default=str))
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def fsync(self) -> None:
        with self._lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL trace, skipping a torn last line left by a killed writer."""
    events = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events
