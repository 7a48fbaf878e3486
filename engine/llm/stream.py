"""One answer read as the model writes it (`stream=True`), recorded and replayed like any other.

A `ChatStream` yields the answer's text in pieces as they arrive and knows, once it ended, its
finish reason and usage. Closing it early closes the HTTP response: llama.cpp's server (and the
hosted providers) stop generating when the connection goes, so a cancel stops the model's work.

Record/replay: the cache key is the same request as the non-streamed call, so a recorded answer
replays the same whether it was read as a stream or not. An answer closed before its end is
recorded as far as it was read, with the finish reason `abandoned`; a replay that closes at the
same place (it makes the same decisions) never needs more, and one that reads past it gets a
`ReplayMiss`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import openai

try:  # the `openai` client's HTTP layer: httpx2 in its current releases, httpx before
    from httpx2 import HTTPError as TransportError
except ImportError:  # pragma: no cover - older openai releases
    from httpx import HTTPError as TransportError  # type: ignore[no-redef]

from engine.errors import LLMError
from engine.llm.answers import (
    RETRYABLE,
    ChatResult,
    ReplayMiss,
    RequestDeadline,
    Retries,
    short,
)
from engine.types import Usage

if TYPE_CHECKING:
    from engine.llm.client import LLMClient

log = logging.getLogger(__name__)

ABANDONED = "abandoned"  # the finish reason of an answer closed before its end


class ChatStream:
    """A single-choice answer as it arrives: iterate for text pieces; `finish` and `usage` at the end.

    `sent_at` and `piece_times` are wall-clock times (`time.time()`), so another process's
    timestamps (an editor's, a benchmark's) can be set beside them.
    """

    def __init__(
        self,
        client: LLMClient,
        request: dict[str, Any],
        source: AsyncIterator[tuple[str, str | None, Usage | None]],
        *,
        sent_at: float,
        cached: bool = False,
        on_close: Any = None,
    ):
        self._client = client
        self._request = request
        self._source = source
        self._on_close = on_close  # closes the HTTP response (live answers only)
        self.sent_at = sent_at
        self.cached = cached
        self.text = ""
        self.finish: str | None = None  # None while the answer is still coming
        self.usage = Usage(calls=1)  # final once `done`
        self._reported: Usage | None = None  # what the server (or the recording) said
        self._started = time.perf_counter()
        self.first_piece_at: float | None = None
        # facts about how this answer was used, kept with its recording (see `mark`)
        self.marks: dict[str, int] = {}
        self.ended_at: float | None = None
        self._pieces = 0

    @property
    def done(self) -> bool:
        return self.finish is not None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._read()

    async def _read(self) -> AsyncIterator[str]:
        try:
            async for piece, finish, usage in self._source:
                if piece:
                    if self.first_piece_at is None:
                        self.first_piece_at = time.time()
                    self._pieces += 1
                    self.text += piece
                    yield piece
                if usage is not None:
                    self._reported = usage
                if finish:
                    self.finish = finish
        except (openai.APIError, TransportError, OSError) as exc:
            await self.aclose()
            raise LLMError(
                f"LLM stream broke off after {len(self.text)} characters: {type(exc).__name__}: {exc}"
            ) from None
        if self.finish is None:  # the connection ended before the answer did
            await self.aclose()
            raise LLMError(
                f"malformed LLM answer: the stream ended without a finish reason after {len(self.text)} characters"
            )
        self._settle()

    def _settle(self) -> None:
        """The answer ended (or was closed): fix its usage and record it."""
        self.ended_at = time.time()
        if self.cached:
            self.usage = self._reported or Usage(calls=1)
            return
        reported = self._reported or Usage()
        # without a usage chunk (or when closed early) each piece counts as one token: llama.cpp
        # sends one token per chunk
        completion = reported.completion_tokens or self._pieces
        self.usage = Usage(1, reported.prompt_tokens, completion, time.perf_counter() - self._started)
        self._record()

    def result(self) -> ChatResult:
        """The answer so far as a ChatResult (its finish reason `abandoned` if it was closed early)."""
        return ChatResult((self.text,), self.usage, cached=self.cached, finish_reasons=(self.finish or ABANDONED,))

    async def aclose(self) -> None:
        """Stop reading; a live answer's HTTP response is closed (the model stops writing it)."""
        if self.finish is None:
            self.finish = ABANDONED
            self._settle()
        if self._on_close is not None:
            close, self._on_close = self._on_close, None
            try:
                await close()
            except Exception as exc:  # a broken connection is already closed
                log.debug("closing the stream: %s", exc)

    def mark(self, name: str, value: int) -> None:
        """Keep a fact about how the answer was used with its recording (record mode): a replay reads
        it back from `marks`. Used for what depends on the model's pace, e.g. at which draft line the
        answer was seen to have ended, so a replay sees it at the same line."""
        self.marks.setdefault(name, value)
        cache = self._client.cache
        if cache is None or cache.mode != "record" or self.finish is None:
            return
        path = cache.dir / f"{cache.key(self._request)}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        data.setdefault("stream_marks", {}).setdefault(name, value)
        tmp = path.with_suffix(".marks.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    def _record(self) -> None:
        cache = self._client.cache
        if cache is None or cache.mode != "record":
            return
        if self.finish == ABANDONED:
            known = cache.get(self._request)
            if known is not None and len(known.texts[0]) >= len(self.text):
                return  # never replace a fuller recording of the same request with a shorter one
        cache.put(self._request, self.result())


async def open_stream(client: LLMClient, request: dict[str, Any], context: str) -> ChatStream:
    """Open one streamed answer for `request` (a chat or a raw completion, n=1): from the replay
    cache, or from the server with retries until the response starts."""
    cache = client.cache
    if cache is not None:
        hit = cache.get(request)
        if hit is not None and (cache.mode == "replay" or hit.finish_reasons[:1] != (ABANDONED,)):
            return _replayed(client, request, hit, context)
        if cache.mode == "replay":
            raise ReplayMiss(f"replay cache has no answer for {context or 'this request'} (cache {cache.dir})")
    return await _live(client, request)


def _replayed(client: LLMClient, request: dict[str, Any], hit: ChatResult, context: str) -> ChatStream:
    text = hit.texts[0] if hit.texts else ""
    finish = hit.finish_reasons[0] if hit.finish_reasons else "stop"

    async def pieces() -> AsyncIterator[tuple[str, str | None, Usage | None]]:
        for line in text.splitlines(keepends=True):
            yield line, None, None
            await asyncio.sleep(0)  # let the reader of each line run, as with a live answer
        if finish == ABANDONED:
            raise ReplayMiss(
                f"the recorded answer for {context or 'this request'} was closed after {len(text)} characters "
                f"and this run reads further (cache {client.cache.dir if client.cache else ''})"
            )
        yield "", finish, hit.usage

    stream = ChatStream(client, request, pieces(), sent_at=time.time(), cached=True)
    stream.marks = _recorded_marks(client, request)
    stream._reported = hit.usage  # an answer closed early in this run too costs what it cost then
    return stream


def _recorded_marks(client: LLMClient, request: dict[str, Any]) -> dict[str, int]:
    cache = client.cache
    if cache is None:
        return {}
    try:
        data = json.loads((cache.dir / f"{cache.key(request)}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    marks = data.get("stream_marks") or {}
    return {str(k): int(v) for k, v in marks.items() if isinstance(v, int)}


async def _live(client: LLMClient, request: dict[str, Any]) -> ChatStream:
    """Send the request with `stream=True`, retried as a plain call is (transient failures up to
    `llm.max_retries`, Retry-After honoured) until the answer starts; `llm.timeout_s` bounds the
    start and each wait for the next piece (not the whole answer, which may take minutes)."""
    api = client._client
    assert api is not None, "a live stream needs a client (not in replay mode)"
    raw = "prompt" in request
    kwargs = {k: v for k, v in request.items() if v is not None}
    kwargs.update(stream=True, stream_options={"include_usage": True})
    retries = Retries(client.cfg.max_retries, client.cfg.backoff_s, "LLM stream request")
    while True:
        sent_at = time.time()
        try:
            try:
                async with asyncio.timeout(client.cfg.timeout_s):
                    create = api.completions.create if raw else api.chat.completions.create
                    response = await create(**kwargs)
            except TimeoutError:
                raise RequestDeadline(
                    f"the answer did not start within llm.timeout_s={client.cfg.timeout_s:g}s"
                ) from None
            break
        except RETRYABLE as exc:
            await retries.wait_after(exc)
        except openai.APIStatusError as exc:
            raise LLMError(f"LLM request refused: {short(exc)}") from None

    async def pieces() -> AsyncIterator[tuple[str, str | None, Usage | None]]:
        async for chunk in response:
            usage = getattr(chunk, "usage", None)
            counted = None
            if usage is not None:
                counted = Usage(1, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), 0.0)
            for choice in chunk.choices or ():
                piece = choice.text if raw else (choice.delta.content if choice.delta else None)
                yield piece or "", choice.finish_reason, counted
                counted = None
            if counted is not None:
                yield "", None, counted

    return ChatStream(client, request, pieces(), sent_at=sent_at, on_close=response.close)
