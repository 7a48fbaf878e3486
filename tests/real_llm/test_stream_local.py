"""Streaming against the bundled model: pieces arrive as it writes, and closing the stream stops it."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest

from engine.config import LLMConfig
from engine.llm.client import LLMClient
from engine.llm.local_model import local_available, shared_server

pytestmark = [
    pytest.mark.real_llm,
    pytest.mark.skipif(not local_available(), reason="the local extra is not installed (pip install 'vigor[local]')"),
]


def busy_slots(base_url: str) -> int:
    """How many of llama.cpp's slots are generating now (its /slots endpoint)."""
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/slots", timeout=5) as resp:
        return sum(bool(s.get("is_processing")) for s in json.loads(resp.read()))


async def test_closing_a_stream_stops_the_bundled_model():
    server = shared_server(4096)
    url = server.start()
    client = LLMClient(LLMConfig(provider="local", base_url=url, model=server.model, timeout_s=300))
    stream = await client.stream(
        [{"role": "user", "content": "Write a long story about a lighthouse."}], max_tokens=400
    )
    pieces = 0
    async for _ in stream:
        pieces += 1
        if pieces >= 3:
            break
    assert busy_slots(url) == 1  # still writing the story
    await stream.aclose()
    deadline = time.monotonic() + 10
    while busy_slots(url) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert busy_slots(url) == 0
    assert stream.finish == "abandoned" and stream.usage.completion_tokens < 400
    await client.aclose()
