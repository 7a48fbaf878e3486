"""LLM access through the `openai` client only: retries with backoff, usage counting, record/replay.

API keys are read from the environment (or a local .env / .env.local file) at the moment a client
is built and are never stored in any value that reaches a trace, manifest or log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import openai

from engine.config import LLMConfig
from engine.errors import ConfigError, LLMError
from engine.llm.answers import (
    RETRY_AFTER_CAP_S,
    RETRYABLE,
    ChatResult,
    MalformedAnswer,
    NRefused,
    ReplayMiss,
    RequestDeadline,
    RequestTimeout,
    Retries,
    short,
)
from engine.llm.cache import LLMCache
from engine.llm.stream import ABANDONED, ChatStream, open_stream
from engine.types import Usage

log = logging.getLogger(__name__)


def load_env_files(directory: str | Path = ".") -> None:
    """Read KEY=VALUE lines from .env.local then .env; the process environment always wins."""
    for name in (".env.local", ".env"):
        path = Path(directory) / name
        if not path.is_file():
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def _is_loopback(base_url: str | None) -> bool:
    host = urlparse(base_url or "").hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def resolve_api_key(cfg: LLMConfig) -> str:
    """The key named by `api_key_env`; servers on loopback may run without one."""
    key = os.environ.get(cfg.api_key_env, "")
    if key:
        return key
    if cfg.provider == "local" or _is_loopback(cfg.base_url):
        return "sk-no-key-needed"
    # a configuration problem (exit 2), not a failure of the LLM
    raise ConfigError(
        f"no API key: set the environment variable {cfg.api_key_env} (or put it in .env), "
        f"or name another with llm.api_key_env"
    )


class LLMClient:
    """One agent's access to an OpenAI-compatible server, with retries and optional record/replay."""

    def __init__(self, cfg: LLMConfig, *, base_url: str | None = None, use_n: str = "auto"):
        self.cfg = cfg
        self.base_url = base_url or cfg.base_url
        self.use_n = use_n
        self._n_honoured: bool | None = None if use_n == "auto" else use_n == "yes"
        self.cache = LLMCache(cfg.cache_dir, cfg.cache) if cfg.cache != "off" else None
        self._client: openai.AsyncOpenAI | None = None
        self.draining: set[asyncio.Task] = set()  # streams read on after their reader closed them (record mode)
        if cfg.cache != "replay":
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url, api_key=resolve_api_key(cfg), max_retries=0, timeout=cfg.timeout_s
            )

    async def aclose(self) -> None:
        """Close the connection, once the answers still being read to their end for their recording
        (streams closed early while recording) are recorded."""
        if self.draining:
            await asyncio.gather(*self.draining, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        n: int = 1,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        context: str = "",
    ) -> ChatResult:
        """Ask for `n` choices; fans out into parallel requests where the server ignores `n`."""
        request = {
            "model": self.cfg.model,
            "messages": messages,
            "n": n,
            "temperature": self.cfg.temperature if temperature is None else temperature,
            "top_p": self.cfg.top_p,
            "max_tokens": max_tokens or self.cfg.max_tokens,
            "stop": stop,
            "seed": self.cfg.seed if seed is None else seed,
        }
        return await self._cached(request, context)

    async def stream(
        self,
        messages: list[dict[str, str]] | None = None,
        *,
        prompt: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        context: str = "",
    ) -> ChatStream:
        """One answer read as the model writes it: a chat (`messages`) or a raw completion (`prompt`).

        The request, and so its record/replay key, is the one `chat` or `complete` sends for n=1.
        """
        request: dict[str, Any] = {"model": self.cfg.model}
        request.update({"messages": messages} if prompt is None else {"prompt": prompt})
        request.update(
            n=1,
            temperature=self.cfg.temperature if temperature is None else temperature,
            top_p=self.cfg.top_p,
            max_tokens=max_tokens or self.cfg.max_tokens,
            stop=stop,
            seed=self.cfg.seed if seed is None else seed,
        )
        return await open_stream(self, request, context)

    async def complete(
        self,
        prompt: str,
        *,
        n: int = 1,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        context: str = "",
    ) -> ChatResult:
        """A raw text completion (`/v1/completions`) of `prompt`: for completion models and FIM.

        Recorded and replayed like chat answers; the request's `prompt` key keeps the two apart.
        """
        request = {
            "model": self.cfg.model,
            "prompt": prompt,
            "n": n,
            "temperature": self.cfg.temperature if temperature is None else temperature,
            "top_p": self.cfg.top_p,
            "max_tokens": max_tokens or self.cfg.max_tokens,
            "stop": stop,
            "seed": self.cfg.seed if seed is None else seed,
        }
        return await self._cached(request, context)

    async def _cached(self, request: dict[str, Any], context: str) -> ChatResult:
        """The recorded answer, else the server's (recorded). Recording, the request is held while it
        is asked (engine/llm/cache.py): a stream of the same request elsewhere is waited for and its
        recording is the answer; one a stream left unfinished is asked again and recorded whole.
        Replaying, the recording is the answer whatever it holds (runs recorded before the hold
        were answered with unfinished ones too)."""
        cache = self.cache
        if cache is None:
            return await self._fetch(request)
        if self._samples_apart(request):
            singles = (self._cached(_single(request, i), context) for i in range(request["n"]))
            return _merge(list(await asyncio.gather(*singles)))
        if cache.mode == "replay":
            hit = cache.get(request)
            if hit is None:
                raise ReplayMiss(f"replay cache has no answer for {context or 'this request'} (cache {cache.dir})")
            return hit
        hold = await cache.hold(request)
        try:
            hit = cache.get(request)
            if hit is not None and hit.finish_reasons[:1] != (ABANDONED,):
                return hit
            result = await self._fetch(request)
            cache.put(request, result)
            return result
        finally:
            hold.release()

    def _samples_apart(self, request: dict[str, Any]) -> bool:
        """Whether `n` seeded choices are recorded one per seed: where the server ignores `n` they are
        `n` single requests anyway, and kept apart, a sample is one recording whatever batch asked for
        it (runs asking for samples in batches of different sizes share them: docs/drafting.md).
        A replay finds each choice where recording put it: one recording per seed, else the batch
        whole (older recordings, or a batch asked before the server was seen to ignore `n`)."""
        cache = self.cache
        if request["n"] <= 1 or request.get("seed") is None or cache is None:
            return False
        if cache.mode == "replay":
            apart = all(cache.has(_single(request, i)) for i in range(request["n"]))
            return apart or not cache.has(request)
        return self._n_honoured is False

    async def _fetch(self, request: dict[str, Any]) -> ChatResult:
        n = request["n"]
        if n == 1 or self._n_honoured is False:
            return await self._fan_out(request, n)
        try:
            first = await self._call(request)
        except NRefused:
            self._n_honoured = False
            log.info("server refused n=%d; fanning out into single requests instead", n)
            return await self._fan_out(request, n)
        if len(first.texts) >= n:
            self._n_honoured = True
            return first
        self._n_honoured = False
        log.info("server returned %d of n=%d choices; fanning out instead", len(first.texts), n)
        return _merge([first, await self._fan_out(request, n - len(first.texts), offset=len(first.texts))])

    async def _fan_out(self, request: dict[str, Any], n: int, *, offset: int = 0) -> ChatResult:
        """`n` parallel single-choice requests; each gets its own seed so samples differ."""
        if n == 1 and offset == 0:
            return await self._call({**request, "n": 1})
        return _merge(list(await asyncio.gather(*(self._call(_single(request, offset + i)) for i in range(n)))))

    async def _call(self, request: dict[str, Any]) -> ChatResult:
        """One request with its retries: transient failures up to `max_retries` times, waiting what
        the server's Retry-After asks (capped) or an exponential backoff; a malformed or empty
        answer once. Each error that ends it is named in the LLMError's message (and so the trace)."""
        kwargs = {k: v for k, v in request.items() if v is not None}
        retries, bad_answers = Retries(self.cfg.max_retries, self.cfg.backoff_s), 0
        while True:
            try:
                result = await self._attempt(kwargs)
            except RETRYABLE as exc:
                await retries.wait_after(exc)
                continue
            except MalformedAnswer as exc:
                if bad_answers >= 1:
                    raise
                bad_answers += 1
                log.warning("%s; asking once more", exc)
                continue
            if bad_answers < 1 and not any(t.strip() for t in result.texts):
                bad_answers += 1
                log.warning("empty LLM answer; asking once more")
                continue
            return result

    async def _attempt(self, kwargs: dict[str, Any]) -> ChatResult:
        """One HTTP request under a deadline for the whole of it (a slow drip of bytes included)."""
        assert self._client is not None
        started = time.perf_counter()
        api = self._client.completions if "prompt" in kwargs else self._client.chat.completions
        try:
            async with asyncio.timeout(self.cfg.timeout_s):
                resp = await api.create(**kwargs)
        except TimeoutError:
            raise RequestTimeout(f"the whole request took longer than llm.timeout_s={self.cfg.timeout_s:g}s") from None
        except openai.BadRequestError as exc:
            if kwargs.get("n", 1) > 1 and "'n'" in str(exc):
                raise NRefused(short(exc)) from None
            raise LLMError(f"LLM request refused: {short(exc)}") from None
        except openai.APIStatusError as exc:
            if isinstance(exc, RETRYABLE):
                raise
            raise LLMError(f"LLM request refused: {short(exc)}") from None
        except (openai.APIResponseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MalformedAnswer(f"malformed LLM answer: {short(exc)}") from None
        return _parse(resp, time.perf_counter() - started)


def _single(request: dict[str, Any], i: int) -> dict[str, Any]:
    """The `i`-th choice of a seeded batch asked alone: its own seed, so samples differ."""
    seed = request.get("seed")
    return {**request, "n": 1, "seed": None if seed is None else seed + i}


def _parse(resp: Any, latency: float) -> ChatResult:
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedAnswer("malformed LLM answer: no choices")
    texts = []
    finish = []
    for choice in sorted(choices, key=lambda c: getattr(c, "index", 0) or 0):
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None) if message is not None else getattr(choice, "text", None)
        if not isinstance(content, str):
            raise MalformedAnswer("malformed LLM answer: a choice has no text content")
        texts.append(content)
        finish.append(str(getattr(choice, "finish_reason", "") or ""))
    u = getattr(resp, "usage", None)
    usage = Usage(
        calls=1,
        prompt_tokens=int(getattr(u, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(u, "completion_tokens", 0) or 0),
        latency_s=latency,
    )
    return ChatResult(tuple(texts), usage, finish_reasons=tuple(finish))


def _merge(parts: list[ChatResult]) -> ChatResult:
    usage = Usage()
    for p in parts:
        usage = usage + p.usage
    return ChatResult(
        tuple(t for p in parts for t in p.texts),
        usage,
        finish_reasons=tuple(f for p in parts for f in p.finish_reasons),
    )


__all__ = [  # re-exported: callers and tests import these from the client
    "RETRY_AFTER_CAP_S",
    "ChatResult",
    "LLMCache",
    "LLMClient",
    "MalformedAnswer",
    "NRefused",
    "ReplayMiss",
    "RequestDeadline",
    "RequestTimeout",
]
