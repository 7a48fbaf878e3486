"""A scripted OpenAI-compatible HTTP server on loopback, for tests and benches.

The real `openai` client talks to it over HTTP; nothing is patched. A responder decides each
answer from the request body; replies can be delayed, fail with a status, or be malformed.
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

    def __init__(self, responder: Responder | None = None, *, honour_n: bool = True, latency_s: float = 0.0):
        self.responder: Responder = responder or (lambda req: Reply(["```python\n```"]))
        self.queue: deque[Reply | str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.honour_n = honour_n
        self.latency_s = latency_s
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

    def _answer(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self.queue.popleft() if self.queue else None
        reply = scripted if scripted is not None else self.responder(request)
        if isinstance(reply, str):
            reply = Reply([reply])
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"{}")
                reply = server._answer(request)
                delay = server.latency_s + reply.delay_s
                if delay:
                    time.sleep(delay)
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body.encode())
                    return
                if reply.status != 200:
                    body = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "scripted"}})
                    self._send(reply.status, body.encode())
                    return
                n = int(request.get("n") or 1)
                texts = list(reply.texts) or [""]
                if not server.honour_n:
                    texts = texts[:1]
                elif len(texts) < n:
                    texts = (texts * n)[:n]
                choices = [
                    {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": reply.finish_reason}
                    for i, t in enumerate(texts[: max(n, 1) if server.honour_n else 1])
                ]
                completion = (
                    reply.completion_tokens
                    if reply.completion_tokens is not None
                    else sum(len(t.split()) for t in texts)
                )
                body = {
                    "id": "scripted",
                    "object": "chat.completion",
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

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
