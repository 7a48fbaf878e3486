"""What the LLM client and the stream reader share: answers, errors, and the retry rules."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from dataclasses import dataclass

import openai

from engine.errors import LLMError
from engine.types import Usage

log = logging.getLogger("engine.llm.client")

RETRY_AFTER_CAP_S = 30.0  # a server asking for longer gets this; the run's wall-time budget still applies


class RequestTimeout(LLMError):
    """A request (all of it, not one read) took longer than `llm.timeout_s`."""


RequestDeadline = RequestTimeout  # the name the stream reader uses


class MalformedAnswer(LLMError):
    """The server answered something that is not a usable completion."""


RETRYABLE = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
    RequestTimeout,
)


@dataclass(frozen=True)
class ChatResult:
    """The texts of the choices of one (possibly fanned-out) chat request, and its usage."""

    texts: tuple[str, ...]
    usage: Usage
    cached: bool = False
    finish_reasons: tuple[str, ...] = ()


class NRefused(LLMError):
    """The server refused a request for several choices (`n` above what it serves)."""


class ReplayMiss(LLMError):
    """A replayed run asked for a request that was never recorded."""


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After / retry-after-ms), if it said."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def short(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}{f' {status}' if status else ''}: {text}"


class Retries:
    """The transient failures of one request: up to `max_retries` more tries, each after what the
    server's Retry-After asks (capped) or an exponential backoff."""

    def __init__(self, max_retries: int, backoff_s: float, what: str = "LLM request"):
        self.max_retries, self.backoff, self.what = max_retries, backoff_s, what
        self.failures = 0

    async def wait_after(self, exc: BaseException) -> None:
        """Wait before the next try, or raise LLMError (naming `exc`) when the tries are spent."""
        self.failures += 1
        if self.failures > self.max_retries:
            raise LLMError(f"LLM request failed after {self.failures} attempts: {short(exc)}") from None
        asked = retry_after(exc)
        wait = self.backoff if asked is None else min(asked, RETRY_AFTER_CAP_S)
        log.warning("%s failed (%s); retrying in %.2fs", self.what, short(exc), wait)
        await asyncio.sleep(wait)
        self.backoff *= 2
