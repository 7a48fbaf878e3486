"""Streamed answers through the real openai client against the scripted server's server-sent events."""

import asyncio
import time

import pytest
from scripted_llm import Reply, ScriptedLLM

from engine.config import LLMConfig
from engine.errors import LLMError
from engine.llm.client import LLMClient, ReplayMiss
from engine.llm.stream import ABANDONED

MSG = [{"role": "user", "content": "write it"}]
ANSWER = "```python\ndef f(x):\n    y = x + 1\n    return y\n```\n"


def client(server: ScriptedLLM | None, **kw) -> LLMClient:
    base_url = server.base_url if server else "http://127.0.0.1:9/v1"
    cfg = LLMConfig(provider="openai", base_url=base_url, api_key_env="VIGOR_TEST_KEY", backoff_s=0.01, **kw)
    return LLMClient(cfg)


async def read_all(stream) -> list[tuple[float, str]]:
    return [(time.perf_counter(), piece) async for piece in stream]


async def test_pieces_arrive_while_the_model_writes():
    with ScriptedLLM(lambda req: Reply([ANSWER]), tokens_per_s=200) as server:
        c = client(server)
        stream = await c.stream(MSG)
        got = await read_all(stream)
        await c.aclose()
    assert "".join(p for _, p in got) == ANSWER
    assert stream.finish == "stop" and stream.done
    assert server.requests[0]["stream"] is True
    # the first piece came long before the last: the answer was not delivered in one burst
    assert got[-1][0] - got[0][0] > 0.5 * len(got) / 200
    assert stream.usage.calls == 1 and stream.usage.completion_tokens == len(server.streams[0].tokens)


async def test_a_cut_off_answer_reports_length():
    with ScriptedLLM(lambda req: Reply([ANSWER[:20]], finish_reason="length")) as server:
        c = client(server)
        stream = await c.stream(MSG)
        await read_all(stream)
        await c.aclose()
    assert stream.finish == "length"


async def test_closing_a_stream_closes_the_http_response_and_the_server_stops():
    long = "```python\n" + "".join(f"x{i} = {i}\n" for i in range(400)) + "```\n"
    with ScriptedLLM(lambda req: Reply([long]), tokens_per_s=400) as server:
        c = client(server)
        stream = await c.stream(MSG)
        async for _ in stream:
            if "\n" in stream.text.removeprefix("```python\n"):
                break
        await stream.aclose()
        deadline = time.monotonic() + 5
        while not server.streams[0].closed_by_client and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await c.aclose()
    log = server.streams[0]
    assert log.closed_by_client and log.finished is None
    assert len(log.tokens) < len(long) // 4  # it stopped early, not after writing everything
    assert stream.finish == ABANDONED


async def test_a_recorded_stream_replays_the_same_text_without_a_server(scripted_llm, tmp_path):
    scripted_llm.push(Reply([ANSWER], completion_tokens=17))
    rec = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    live = await rec.stream(MSG)
    await read_all(live)
    await rec.aclose()
    replay = client(None, cache="replay", cache_dir=str(tmp_path))
    again = await replay.stream(MSG)
    assert "".join([p async for p in again]) == ANSWER
    assert again.finish == "stop" and again.usage.completion_tokens == live.usage.completion_tokens == 17
    # the same key as the plain call: a streamed recording answers a non-streamed replay too
    plain = await replay.chat(MSG)
    assert plain.texts == (ANSWER,)


async def test_a_stream_closed_early_while_recording_is_recorded_whole_and_replays_what_it_cost(scripted_llm, tmp_path):
    scripted_llm.push(Reply([ANSWER], completion_tokens=17))
    rec = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    live = await rec.stream(MSG)
    async for _ in live:
        if live.text.count("\n") >= 2:
            break
    await live.aclose()
    await rec.aclose()  # once the rest of the answer has come and the whole of it is recorded
    assert live.finish == ABANDONED and live.text != ANSWER and 0 < live.usage.completion_tokens < 17
    replay = client(None, cache="replay", cache_dir=str(tmp_path))
    whole = await replay.stream(MSG)
    assert "".join([p async for p in whole]) == ANSWER and whole.usage.completion_tokens == 17
    # closed at the same decision, a replay costs what the live answer had cost when it was closed,
    # however far it was read meanwhile
    again = await replay.stream(MSG)
    async for _ in again:
        pass
    await again.aclose()
    assert again.usage.completion_tokens == live.usage.completion_tokens
    assert (await replay.chat(MSG)).texts == (ANSWER,)


async def test_a_request_asked_again_while_its_stream_is_being_recorded_gets_the_same_answer(scripted_llm, tmp_path):
    # the server would answer the same request differently each time (a batching one does)
    scripted_llm.push(Reply([ANSWER]), Reply([ANSWER.replace("y", "z")]), Reply([ANSWER.replace("y", "w")]))
    first, second = (client(scripted_llm, cache="record", cache_dir=str(tmp_path)) for _ in range(2))
    stream = await first.stream(MSG)
    whole = asyncio.ensure_future(second.chat(MSG))  # another run asking the same request meanwhile
    await asyncio.sleep(0.3)
    assert not whole.done()  # it waits for the stream's recording
    async for _ in stream:
        if stream.text.count("\n") >= 2:
            break
    await stream.aclose()  # closed early: received on to its end, recorded whole, then the other goes on
    assert (await whole).texts == (ANSWER,)
    again = await first.stream(MSG)
    assert "".join([p async for p in again]) == ANSWER
    await first.aclose()
    await second.aclose()
    assert scripted_llm.calls == 1


async def test_an_answer_recorded_only_in_part_is_asked_again_whole_while_recording(scripted_llm, tmp_path):
    scripted_llm.push(Reply([ANSWER], break_after=5), Reply([ANSWER]))
    rec = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    broken = await rec.stream(MSG)
    with pytest.raises(LLMError):
        async for _ in broken:
            pass
    replay = client(None, cache="replay", cache_dir=str(tmp_path))
    assert (await replay.chat(MSG)).finish_reasons == (ABANDONED,)  # a replay answers with what is recorded
    assert (await rec.chat(MSG)).texts == (ANSWER,)  # recording, it is asked again and recorded whole
    await rec.aclose()
    assert (await replay.chat(MSG)).texts == (ANSWER,) and scripted_llm.calls == 2


async def test_replay_without_a_recording_is_a_replay_miss(tmp_path):
    replay = client(None, cache="replay", cache_dir=str(tmp_path))
    with pytest.raises(ReplayMiss):
        await replay.stream(MSG, context="t1 step 0")


async def test_a_refused_stream_request_is_an_llm_error(scripted_llm):
    scripted_llm.push(Reply(status=400))
    c = client(scripted_llm)
    with pytest.raises(LLMError, match="refused"):
        await c.stream(MSG)
    await c.aclose()


async def test_a_stream_request_is_retried_until_the_answer_starts(scripted_llm):
    scripted_llm.push(Reply(status=503), Reply([ANSWER]))
    c = client(scripted_llm)
    stream = await c.stream(MSG)
    assert "".join([p async for p in stream]) == ANSWER
    await c.aclose()
    assert scripted_llm.calls == 2


async def test_a_raw_completion_streams_too(scripted_llm):
    scripted_llm.push(Reply(["    return x\n"]))
    c = client(scripted_llm)
    stream = await c.stream(prompt="def f(x):\n")
    assert "".join([p async for p in stream]) == "    return x\n"
    await c.aclose()
    assert scripted_llm.requests[0]["prompt"] == "def f(x):\n"


async def test_an_answer_that_breaks_off_is_an_llm_error_and_is_not_recorded(scripted_llm, tmp_path):
    scripted_llm.push(Reply([ANSWER], break_after=5))
    c = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    stream = await c.stream(MSG)
    with pytest.raises(LLMError, match="without a finish reason"):
        async for _ in stream:
            pass
    await c.aclose()
    replay = client(None, cache="replay", cache_dir=str(tmp_path))
    again = await replay.stream(MSG)
    with pytest.raises(ReplayMiss):  # recorded only as far as it was read, as an early close
        async for _ in again:
            pass
