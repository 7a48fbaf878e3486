"""Machine-readable traces: one JSON object per line, appended and flushed as events happen.

The format is documented in docs/trace-format.md; bump SCHEMA_VERSION on incompatible changes.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

SCHEMA_VERSION = 1

# Names of environment variables whose values are secrets (API_KEY, AWS_SECRET_ACCESS_KEY,
# DB_PASSWORD, HF_TOKEN, ...): their values are removed from every artifact, at any length.
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASS(WORD|WD)?|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE", re.I)
_NOT_SECRET_VALUES = {"", "true", "false", "yes", "no", "none", "null", "0", "1", "on", "off"}
# Shorter values (and short numbers) would blank out ordinary digits and words everywhere.
_MIN_SECRET_LENGTH = 3
# Strings shaped like credentials, wherever they come from (a key read by generated code, say).
_SECRET_RE = re.compile(
    r"\bsk-[A-Za-z0-9][A-Za-z0-9_\-]*"  # OpenAI, Anthropic, OpenRouter style keys, any length
    r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{8,}|\bgithub_pat_[A-Za-z0-9_]{8,}"
    r"|\bxox[abprs]-[A-Za-z0-9\-]{8,}|\bAKIA[0-9A-Z]{12,}|\bAIza[0-9A-Za-z_\-]{20,}|\bhf_[A-Za-z0-9]{8,}"
    r"|\bBearer\s+[A-Za-z0-9._~+/\-]+=*"
    r"|(?:api[_-]?key|authorization|password|secret|token)[\"']?\s*[:=]\s*[\"']?[^\s\"',]+",
    re.I,
)
REDACTED = "[redacted]"


def _secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of secret-named variables, in the forms they take in JSON and HTML, longest first."""
    forms: set[str] = set()
    for name, value in environ.items():
        if not _SECRET_NAME_RE.search(name) or len(value) < _MIN_SECRET_LENGTH:
            continue
        if value.lower() in _NOT_SECRET_VALUES or (value.isdigit() and len(value) < 6):
            continue
        forms.update({value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value)})
    return sorted(forms, key=len, reverse=True)


_cache: tuple[int, list[str], re.Pattern[str] | None] = (0, [], None)


def _values_pattern() -> re.Pattern[str] | None:
    global _cache
    key = hash(frozenset(os.environ.items()))
    if _cache[0] != key:
        values = _secret_values(os.environ)
        _cache = (key, values, re.compile("|".join(map(re.escape, values))) if values else None)
    return _cache[2]


def redact(text: str) -> str:
    """`text` without secrets: the values of secret-named environment variables and key-shaped strings.

    The one redaction every artifact writer uses (traces, results, manifests, logs, reports, HTML).
    """
    pattern = _values_pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _SECRET_RE.sub(REDACTED, text)


def write_redacted(path: str | Path, text: str) -> None:
    """Write an artifact file whole, redacted."""
    Path(path).write_text(redact(text), encoding="utf-8")


def redact_obj(obj: Any) -> Any:
    """A JSON-able structure with every string (keys too) redacted."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def dumps_redacted(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` of an artifact record, redacted (strings first, so the JSON stays well-formed)."""
    return redact(json.dumps(redact_obj(obj), **kwargs))


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
        line = dumps_redacted(record, ensure_ascii=False, default=str)
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
