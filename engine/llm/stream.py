"""One answer read as the model writes it (`stream=True`), recorded and replayed like any other.

A `ChatStream` yields the answer's text in pieces as they arrive and knows, once it ended, its
finish reason and usage. Closing it early closes the HTTP response: llama.cpp's server (and the
hosted providers) stop generating when the connection goes, so a cancel stops the model's work.

Record/replay: the cache key is the same request as the non-streamed call, so a recorded answer
replays the same whether it was read as a stream or not. Recording, the request is held from its
lookup until its recording is final (engine/llm/cache.py), and an answer closed before its end is
still received to its end in the background and recorded whole, with what it had cost when it was
closed: whoever asks the same request later gets the same text, and a replay closed at the same
decision costs the same. An answer left unfinished (a broken stream, or a run stopped while it was
still being received) is recorded as far as it was read, with the finish reason `abandoned`; a
replay that reads past it gets a `ReplayMiss`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
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
from engine.llm.cache import KeyHold
from engine.types import Usage

if TYPE_CHECKING:
    from engine.llm.client import LLMClient

log = logging.getLogger(__name__)

ABANDONED = "abandoned"  # the finish reason of an answer closed before its end
# marks: what an answer closed before its end had cost when its reader closed it
CLOSED_PROMPT, CLOSED_COMPLETION = "closed_prompt_tokens", "closed_completion_tokens"


class ChatStream:
    """A single-choice answer as it arrives: iterate for text pieces; `finish` and `usage` at the end.

    The answer is received by a task of its own and read (iterated) at the reader's pace, so that
    closing the reader need not stop the receiving: while recording, an answer closed early is
    still received to its end and recorded whole (`aclose`). `sent_at` and `first_piece_at` are
    wall-clock times (`time.time()`), so another process's timestamps can be set beside them.
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
        hold: KeyHold | None = None,
        marks: dict[str, int] | None = None,
    ):
        self._client = client
        self._request = request
        self._on_close = on_close  # closes the HTTP response (live answers only)
        self._hold = hold  # the request's key, held until this live answer's recording is final
        self.sent_at = sent_at
        self.cached = cached
        self.text = ""  # what the reader has read
        self.finish: str | None = None  # None while the reader has not reached the end
        self.usage = Usage(calls=1)  # final once `done`
        self._reported: Usage | None = None  # what the server (or the recording) said
        self._started = time.perf_counter()
        self.first_piece_at: float | None = None
        # facts about how this answer was used, kept with its recording (see `mark`)
        self.marks: dict[str, int] = dict(marks or {})
        self.ended_at: float | None = None
        self._pieces = 0  # read by the reader
        self._arrived: deque[str] = deque()  # received, not yet read
        self._received, self._received_pieces = "", 0
        self._final: str | None = None  # the finish reason received
        self._error: BaseException | None = None
        self._received_all = False
        self._news = asyncio.Event()
        self._recording: ChatResult | None = None  # what was last recorded for this answer
        self._receiving = asyncio.ensure_future(self._receive(source))

    @property
    def done(self) -> bool:
        return self.finish is not None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._read()

    async def _receive(self, source: AsyncIterator[tuple[str, str | None, Usage | None]]) -> None:
        try:
            async for piece, finish, usage in source:
                if piece:
                    if self.first_piece_at is None:
                        self.first_piece_at = time.time()
                    self._arrived.append(piece)
                    self._received += piece
                    self._received_pieces += 1
                if usage is not None:
                    self._reported = usage
                if finish:
                    self._final = finish
                self._news.set()
        except Exception as exc:  # the reader gets it after the pieces that came before it
            self._error = exc
        self._received_all = True
        self._news.set()
        if self.finish == ABANDONED:  # closed early while recording: its whole answer is recorded now
            self._record_whole()
            await self._release()

    async def _read(self) -> AsyncIterator[str]:
        while True:
            while not self._arrived and not self._received_all:
                self._news.clear()
                await self._news.wait()
            if not self._arrived:
                break
            piece = self._arrived.popleft()
            self._pieces += 1
            self.text += piece
            yield piece
        if self._error is not None:
            error = self._error
            await self.aclose()
            if isinstance(error, (openai.APIError, TransportError, OSError)):
                raise LLMError(
                    f"LLM stream broke off after {len(self.text)} characters: {type(error).__name__}: {error}"
                ) from None
            raise error
        if self._final is None:  # the connection ended before the answer did
            await self.aclose()
            raise LLMError(
                f"malformed LLM answer: the stream ended without a finish reason after {len(self.text)} characters"
            )
        self.finish = self._final
        self._settle()

    def _settle(self) -> None:
        """The reader reached the end (or closed the answer): fix what it cost and record it. An
        answer closed early costs what it had cost then; that is kept with its recording, so a
        replay closed at the same decision costs the same however far it had been read."""
        self.ended_at = time.time()
        if self.cached:
            self.usage = self._reported or Usage(calls=1)
            return
        reported = self._reported or Usage()
        # without a usage chunk (or when closed early) each piece counts as one token: llama.cpp
        # sends one token per chunk
        completion = reported.completion_tokens or self._pieces
        self.usage = Usage(1, reported.prompt_tokens, completion, time.perf_counter() - self._started)
        if self.finish == ABANDONED:
            self.marks.setdefault(CLOSED_PROMPT, self.usage.prompt_tokens)
            self.marks.setdefault(CLOSED_COMPLETION, self.usage.completion_tokens)
        self._record(self.result())

    def result(self) -> ChatResult:
        """The answer so far as a ChatResult (its finish reason `abandoned` if it was closed early)."""
        return ChatResult((self.text,), self.usage, cached=self.cached, finish_reasons=(self.finish or ABANDONED,))

    async def aclose(self) -> None:
        """Stop reading. A live answer's HTTP response is closed (the model stops writing it), except
        while recording: then it is received to its end and recorded whole, so that whoever asks the
        same request later is answered with the text this reader read (engine/llm/cache.py)."""
        if self.finish is None:
            self.finish = ABANDONED
            self._settle()
        if self.cached and CLOSED_COMPLETION in self.marks:
            self.usage = Usage(1, self.marks.get(CLOSED_PROMPT, 0), self.marks[CLOSED_COMPLETION])
        if self.finish == ABANDONED and self._hold is not None:
            if not self._received_all:  # received on in the background, recorded whole at its end
                self._client.draining.add(self._receiving)
                self._receiving.add_done_callback(self._client.draining.discard)
                return
            self._record_whole()
        self._receiving.cancel()
        await self._release()

    async def _release(self) -> None:
        """Close the HTTP response and let others ask this request (its recording is final)."""
        if self._hold is not None:
            self._hold.release()
        if self._on_close is not None:
            close, self._on_close = self._on_close, None
            try:
                await close()
            except Exception as exc:  # a broken connection is already closed
                log.debug("closing the stream: %s", exc)

    def mark(self, name: str, value: int) -> None:
        """Keep a fact about how the answer was used with its recording: a replay reads it back from
        `marks`. Used for what depends on the model's pace, e.g. at which draft line the answer was
        seen to have ended, so a replay sees it at the same line. The first value stays."""
        self.marks.setdefault(name, value)
        if self._recording is not None:
            self._record(self._recording)

    def _record(self, result: ChatResult) -> None:
        cache = self._client.cache
        if self.cached or cache is None or cache.mode != "record":
            return
        self._recording = result
        cache.put(self._request, result, self.marks)

    def _record_whole(self) -> None:
        """The whole answer, received after its reader closed it (with what the reader did kept)."""
        if self._error is not None or self._final is None:
            return  # it broke off: the recording stays as far as it was read
        reported = self._reported or Usage()
        completion = reported.completion_tokens or self._received_pieces
        usage = Usage(1, reported.prompt_tokens, completion, time.perf_counter() - self._started)
        self._record(ChatResult((self._received,), usage, finish_reasons=(self._final,)))


async def open_stream(client: LLMClient, request: dict[str, Any], context: str) -> ChatStream:
    """Open one streamed answer for `request` (a chat or a raw completion, n=1): from the replay
    cache, or from the server with retries until the response starts. Recording, the request is
    held from here until its recording is final (engine/llm/cache.py): one answer per request."""
    cache = client.cache
    if cache is None:
        return await _live(client, request, None)
    if cache.mode == "replay":
        hit = cache.get(request)
        if hit is None:
            raise ReplayMiss(f"replay cache has no answer for {context or 'this request'} (cache {cache.dir})")
        return _replayed(client, request, hit, context)
    hold = await cache.hold(request)
    try:
        hit = cache.get(request)
        if hit is not None and hit.finish_reasons[:1] != (ABANDONED,):
            hold.release()
            return _replayed(client, request, hit, context)
        return await _live(client, request, hold)
    except BaseException:
        hold.release()
        raise


def _replayed(client: LLMClient, request: dict[str, Any], hit: ChatResult, context: str) -> ChatStream:
    """The recorded answer line by line, with what its live reader did (`marks`)."""
    text = hit.texts[0] if hit.texts else ""
    finish = hit.finish_reasons[0] if hit.finish_reasons else "stop"

    async def pieces() -> AsyncIterator[tuple[str, str | None, Usage | None]]:
        for line in text.splitlines(keepends=True):
            yield line, None, None
        if finish == ABANDONED:
            raise ReplayMiss(
                f"the recorded answer for {context or 'this request'} was closed after {len(text)} characters "
                f"and this run reads further (cache {client.cache.dir if client.cache else ''})"
            )
        yield "", finish, hit.usage

    marks = client.cache.marks(request) if client.cache is not None else {}
    stream = ChatStream(client, request, pieces(), sent_at=time.time(), cached=True, marks=marks)
    stream._reported = hit.usage  # an answer closed early in this run too costs what was recorded
    return stream


async def _live(client: LLMClient, request: dict[str, Any], hold: KeyHold | None) -> ChatStream:
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

    return ChatStream(client, request, pieces(), sent_at=sent_at, on_close=response.close, hold=hold)
