"""A scripted OpenAI-compatible HTTP server on loopback, for tests and benches.

The real `openai` client talks to it over HTTP; nothing is patched. A responder decides each
answer from the request body; replies can be delayed, fail with a status, or be malformed.
A request with `stream: true` is answered as server-sent events, one chunk per token at a fixed
rate (`tokens_per_s`), the way llama.cpp's server streams; each stream's send times are logged.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: choice texts (one per `n`), or an HTTP status, or a raw body."""

    texts: list[str] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    raw_body: str | None = None
    prompt_tokens: int = 10
    completion_tokens: int | None = None
    finish_reason: str = "stop"  # "length" for an answer cut off by max_tokens
    tokens_per_s: float | None = None  # streamed answers: this reply's rate (else the server's)
    break_after: int | None = None  # streamed answers: hang up after this many tokens, no finish
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (Retry-After, say)
    drip_s: float = 0.0  # send the body one byte at a time, this long apart (a slow server)


_TOKEN = re.compile(r"\n|[ \t]+|\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """A stand-in tokenizer: newlines, runs of spaces, words and single punctuation marks."""
    return _TOKEN.findall(text)


@dataclass
class StreamLog:
    """What the server sent on one streamed answer: each token's text and send time (perf_counter)."""

    request_index: int
    started: float
    tokens: list[tuple[float, str]] = field(default_factory=list)
    finished: float | None = None  # when the last chunk went out
    closed_by_client: bool = False  # the client hung up before the answer ended

    def line_times(self) -> list[float]:
        """When each newline of the answer went out: the model's own time for each line."""
        return [t for t, piece in self.tokens if piece == "\n"]


Responder = Callable[[dict[str, Any]], "Reply | str"]


def user_code(request: dict[str, Any]) -> str:
    """The code block of the last user message (the prefix the coder sent)."""
    content = request["messages"][-1]["content"]
    m = re.search(r"```python\n(.*?)```", content, re.S)
    return m.group(1) if m else ""


def replay_solution(solution_by_prompt: dict[str, str]) -> Responder:
    """A responder that answers with the rest of a known correct program after the sent prefix."""

    def respond(request: dict[str, Any]) -> Reply:
        prefix = user_code(request)
        for full in solution_by_prompt.values():
            if full.startswith(prefix):
                rest = full[len(prefix) :]
                return Reply(["```python\n" + rest + "```"] * int(request.get("n", 1)))
        return Reply(["```python\n```"] * int(request.get("n", 1)))

    return respond


class ScriptedLLM:
    """Serves /v1/chat/completions from a queue of replies, then from a responder function."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        honour_n: bool = True,
        latency_s: float = 0.0,
        tokens_per_s: float = 0.0,
    ):
        self.responder: Responder = responder or (lambda req: Reply(["```python\n```"]))
        self.queue: deque[Reply | str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.streams: list[StreamLog] = []
        self.honour_n = honour_n
        self.latency_s = latency_s
        self.tokens_per_s = tokens_per_s  # 0: as fast as the socket takes them
        self._lock = threading.Lock()
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> ScriptedLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def push(self, *replies: Reply | str) -> None:
        self.queue.extend(replies)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def _answer(self, request: dict[str, Any]) -> tuple[int, Reply]:
        with self._lock:
            self.requests.append(request)
            index = len(self.requests) - 1
            scripted = self.queue.popleft() if self.queue else None
        reply = scripted if scripted is not None else self.responder(request)
        if isinstance(reply, str):
            reply = Reply([reply])
        return index, reply

    def _stream_log(self, index: int) -> StreamLog:
        log = StreamLog(index, time.perf_counter())
        with self._lock:
            self.streams.append(log)
        return log

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                index, reply = server._answer(request)
                delay = server.latency_s + reply.delay_s
                if delay:
                    time.sleep(delay)
                self.reply = reply
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body.encode())
                    return
                if reply.status != 200:
                    body = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "scripted"}})
                    self._send(reply.status, body.encode())
                    return
                if request.get("stream"):
                    self._stream(request, reply, server._stream_log(index))
                    return
                n = int(request.get("n") or 1)
                texts = list(reply.texts) or [""]
                if not server.honour_n:
                    texts = texts[:1]
                elif len(texts) < n:
                    texts = (texts * n)[:n]
                raw = "prompt" in request  # /v1/completions answers carry `text`, not a message
                choices = [
                    {"index": i, "text": t, "finish_reason": reply.finish_reason}
                    if raw
                    else {
                        "index": i,
                        "message": {"role": "assistant", "content": t},
                        "finish_reason": reply.finish_reason,
                    }
                    for i, t in enumerate(texts[: max(n, 1) if server.honour_n else 1])
                ]
                completion = (
                    reply.completion_tokens
                    if reply.completion_tokens is not None
                    else sum(len(t.split()) for t in texts)
                )
                body = {
                    "id": "scripted",
                    "object": "text_completion" if raw else "chat.completion",
                    "created": 0,
                    "model": request.get("model", "scripted"),
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": reply.prompt_tokens,
                        "completion_tokens": completion,
                        "total_tokens": reply.prompt_tokens + completion,
                    },
                }
                self._send(200, json.dumps(body).encode())

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes; without this, Nagle's algorithm holds
                # the body until the client's delayed ACK (about 40 ms per answer on loopback).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _stream(self, request: dict[str, Any], reply: Reply, log: StreamLog) -> None:
                """One choice as server-sent events: a role chunk, one chunk per token at the set rate,
                the finish chunk, a usage chunk when asked (`stream_options.include_usage`), [DONE]."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")  # the body ends when the connection does
                self.end_headers()
                self.close_connection = True
                text = (list(reply.texts) or [""])[0]
                rate = reply.tokens_per_s if reply.tokens_per_s is not None else server.tokens_per_s
                pieces = tokens(text)
                model = request.get("model", "scripted")

                raw = "prompt" in request  # /v1/completions: chunks carry `text`, not a `delta`

                def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
                    if raw:
                        delta = {"text": delta.get("content", "")}
                    else:
                        delta = {"delta": delta}
                    body = {
                        "id": "scripted",
                        "object": "text_completion" if raw else "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [] if usage else [{"index": 0, "finish_reason": finish, **delta}],
                    }
                    if usage:
                        body["usage"] = usage
                    return f"data: {json.dumps(body)}\n\n".encode()

                try:
                    self._event(chunk({"role": "assistant", "content": ""}))
                    due = time.perf_counter()
                    for n, piece in enumerate(pieces):
                        if n == reply.break_after:
                            return  # the connection closes mid-answer: no finish chunk, no [DONE]
                        if rate:
                            due += 1.0 / rate
                            time.sleep(max(0.0, due - time.perf_counter()))
                        self._event(chunk({"content": piece}))
                        log.tokens.append((time.perf_counter(), piece))
                    self._event(chunk({}, reply.finish_reason))
                    if (request.get("stream_options") or {}).get("include_usage"):
                        done = reply.completion_tokens if reply.completion_tokens is not None else len(pieces)
                        usage = {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": done,
                            "total_tokens": reply.prompt_tokens + done,
                        }
                        self._event(chunk({}, usage=usage))
                    self._event(b"data: [DONE]\n\n")
                    log.finished = time.perf_counter()
                except (BrokenPipeError, ConnectionResetError):
                    log.closed_by_client = True  # llama.cpp stops generating here too

            def _event(self, payload: bytes) -> None:
                self.wfile.write(payload)
                self.wfile.flush()

            def _send(self, status: int, payload: bytes) -> None:
                reply = getattr(self, "reply", None) or Reply()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if reply.drip_s:
                        for i in range(len(payload)):
                            self.wfile.write(payload[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip_s)
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
