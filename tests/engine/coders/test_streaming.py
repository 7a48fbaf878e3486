"""A draft read as the model writes it: its lines settle early, and they are the whole answer's draft."""

import asyncio

import pytest
from scripted_llm import Reply, ScriptedLLM

from engine.agents.coders.align import align_reply
from engine.agents.coders.completion import read_completion
from engine.agents.coders.streaming import DraftStream, echo_settled, native_settled
from engine.agents.coders.text import continuation_lines
from engine.config import LLMConfig
from engine.errors import LLMError
from engine.llm.client import LLMClient
from engine.llm.stream import ChatStream

PREFIX = 'def count_up(n):\n    """Numbers below n.\n    >>> count_up(2)\n    [0, 1]\n    """\n'
BODY = "    out = []\n    for i in range(n):\n        out.append(i)\n    return out\n"
NATIVE = f"Sure! Here it is:\n\n```python\n{PREFIX}{BODY}```\n\nThis function counts up to n.\n"
# replies that test where a draft starts: restated imports, a helper after, a half-written body
WITH_HELPER = (
    "```python\nfrom typing import List\n\n\n"
    + PREFIX
    + "    return [double(i) for i in range(n)]\n\n\ndef double(x):\n    return 2 * x\n```\n"
)
NEEDS_IMPORT = "```python\nimport math\n\n" + PREFIX + "    return [math.floor(i) for i in range(n)]\n```\n"
PARTIAL_PREFIX = PREFIX + "    out = []\n"


def native_read(prefix: str):
    def read(text: str, cut_off: bool):
        a = align_reply(prefix, text, "count_up", cut_off=cut_off)
        return a.lines, a.complete, a.ended_by

    return read


def client(server: ScriptedLLM) -> LLMClient:
    return LLMClient(LLMConfig(provider="openai", base_url=server.base_url, api_key_env="VIGOR_TEST_KEY"))


async def streamed(reply: str, prefix: str = PREFIX, *, rate: float = 0.0, finish: str = "stop") -> DraftStream:
    with ScriptedLLM(lambda req: Reply([reply], finish_reason=finish), tokens_per_s=rate) as server:
        c = client(server)
        draft = DraftStream(
            await c.stream([{"role": "user", "content": "x"}]),
            native_read(prefix),
            settled=native_settled(prefix, "count_up"),
        )
        await draft.wait_end()
        await c.aclose()
    return draft


async def test_lines_are_released_while_the_model_still_writes():
    draft = await streamed(NATIVE, rate=300)
    assert draft.lines == list(align_reply(PREFIX, NATIVE, "count_up").lines)
    assert draft.complete and not draft.diverged
    # every body line was out before the answer ended (the prose after the code took a while)
    assert max(draft.line_times) < draft.stream.ended_at - 0.03
    # and each was released once the model had written it, in order
    assert draft.line_times == sorted(draft.line_times)
    assert all(e <= r + 1e-6 for e, r in zip(draft.emitted_at, draft.line_times))


@pytest.mark.parametrize(
    "reply,prefix",
    [(NATIVE, PREFIX), (WITH_HELPER, PREFIX), (NEEDS_IMPORT, PREFIX), (NATIVE, PARTIAL_PREFIX)],
    ids=["native", "helper-after", "import-moved-in", "half-written-body"],
)
async def test_the_streamed_draft_is_the_whole_answers_draft(reply, prefix):
    draft = await streamed(reply, prefix, rate=2000)
    whole = align_reply(prefix, reply, "count_up")
    assert draft.lines == list(whole.lines) and draft.complete == whole.complete
    assert not draft.diverged


async def test_an_import_that_may_move_into_an_empty_body_holds_the_draft_to_the_end():
    draft = await streamed(NEEDS_IMPORT, rate=500)
    assert draft.lines[0].strip() == "import math"
    assert min(draft.line_times) >= draft.stream.ended_at - 0.01  # nothing early: the import leads


async def test_a_cut_off_answer_drops_its_partial_last_line_and_has_no_end():
    text = f"```python\n{PREFIX}    out = []\n    for i in ran"
    draft = await streamed(text, finish="length")
    assert draft.lines == ["    out = []"] and not draft.complete


async def test_every_newline_of_a_reply_gives_a_prefix_of_the_final_draft():
    """The property the guards exist for, checked at every newline of every sample reply."""
    for reply, prefix in [(NATIVE, PREFIX), (WITH_HELPER, PREFIX), (NEEDS_IMPORT, PREFIX), (NATIVE, PARTIAL_PREFIX)]:
        final = list(align_reply(prefix, reply, "count_up").lines)
        settled = native_settled(prefix, "count_up")
        released: list[str] = []
        for i, ch in enumerate(reply):
            if ch != "\n" or not settled(reply[: i + 1]):
                continue
            lines = list(align_reply(prefix, reply[: i + 1], "count_up", cut_off=True).lines)
            if lines[: len(released)] == released:
                released = lines
        assert final[: len(released)] == released


async def test_continuation_answers_wait_for_the_echo_to_end():
    prefix = "import re\n\n"
    reply = "```python\nimport re\n\nWORD = re.compile('x')\nprint(WORD)\n```\n"
    settled = echo_settled(prefix)
    assert not settled("```python\nimport re\n")  # still echoing the prefix
    assert settled("```python\nimport re\n\nWORD = re.compile('x')\n")
    assert not settled("import re\nx = 1\n")  # no fence yet: prose may follow

    def read(text: str, cut: bool):
        lines = continuation_lines(prefix, text)
        return (lines[:-1] if cut else lines), not cut, ""

    with ScriptedLLM(lambda req: Reply([reply])) as server:
        c = client(server)
        draft = DraftStream(await c.stream([{"role": "user", "content": "x"}]), read, settled=settled)
        await draft.wait_end()
        await c.aclose()
    assert draft.lines == continuation_lines(prefix, reply)


async def test_raw_completions_stream_line_by_line():
    prefix = "def f(x):\n"
    text = "    y = x + 1\n    return y\n"
    with ScriptedLLM(lambda req: Reply([text]), tokens_per_s=300) as server:
        c = client(server)
        draft = DraftStream(await c.stream(prompt=prefix), lambda t, cut: read_completion(prefix, t, cut))
        first = await draft.line(0)
        assert first == "    y = x + 1" and not draft.ended
        await draft.wait_end()
        await c.aclose()
    assert draft.lines == ["    y = x + 1", "    return y"] and draft.complete


async def test_closing_the_draft_stops_the_model():
    long = f"```python\n{PREFIX}" + "".join(f"    x{i} = {i}\n" for i in range(300)) + "```\n"
    with ScriptedLLM(lambda req: Reply([long]), tokens_per_s=500) as server:
        c = client(server)
        draft = DraftStream(
            await c.stream([{"role": "user", "content": "x"}]),
            native_read(PREFIX),
            settled=native_settled(PREFIX, "count_up"),
        )
        assert await draft.line(0) == "    x0 = 0"
        await draft.aclose()
        for _ in range(100):
            if server.streams[0].closed_by_client:
                break
            await asyncio.sleep(0.02)
        await c.aclose()
        assert server.streams[0].closed_by_client
    assert draft.ended and draft.ended_by == "closed" and not draft.complete
    assert await draft.line(len(draft.lines)) is None


async def test_an_answer_that_breaks_off_raises_for_the_line_it_did_not_deliver():
    reply = f"```python\n{PREFIX}{BODY}```\n"
    with ScriptedLLM(lambda req: Reply([reply], break_after=60)) as server:
        c = client(server)
        stream = await c.stream([{"role": "user", "content": "x"}])
        draft = DraftStream(stream, native_read(PREFIX), settled=native_settled(PREFIX, "count_up"))
        assert await draft.line(0) == "    out = []"
        with pytest.raises(LLMError, match="without a finish reason"):
            await draft.line(len(draft.lines))
        await c.aclose()


@pytest.mark.parametrize("style_name", ["native", "continue", "completion", "fim"])
async def test_each_style_streams_the_draft_it_asks_for_whole(style_name):
    from engine.agents.coders.styles import make_style
    from engine.types import Task

    task = Task("t/1", PREFIX, "count_up")
    reply = NATIVE if style_name in ("native", "continue") else BODY
    with ScriptedLLM(lambda req: Reply([reply]), tokens_per_s=0) as server:
        c = client(server)
        style = make_style(style_name, c, c.cfg)
        whole = (await style.drafts(task, PREFIX, n=1, temperature=0.0, seed=7, evidence=())).drafts[0]
        streamed = await style.stream(task, PREFIX, temperature=0.0, seed=7, evidence=())
        await streamed.wait_end()
        await c.aclose()
        plain, stream = server.requests
    assert tuple(streamed.lines) == whole.lines and streamed.complete == whole.complete
    assert whole.lines  # the reply was read as a draft at all
    # the same request (so the same record/replay key), asked with stream=True
    assert {k: v for k, v in stream.items() if k not in ("stream", "stream_options")} == plain


async def test_a_replay_sees_the_answer_end_at_the_line_the_live_run_saw_it(tmp_path):
    def make(server: ScriptedLLM | None, mode: str) -> LLMClient:
        url = server.base_url if server else "http://127.0.0.1:9/v1"
        return LLMClient(
            LLMConfig(
                provider="openai", base_url=url, api_key_env="VIGOR_TEST_KEY", cache=mode, cache_dir=str(tmp_path)
            )
        )

    async def consume(c: LLMClient, slow_until: int) -> list[bool]:
        draft = DraftStream(
            await c.stream([{"role": "user", "content": "x"}]),
            native_read(PREFIX),
            settled=native_settled(PREFIX, "count_up"),
        )
        seen = []
        for i in range(len(BODY.splitlines()) + 1):
            if i == slow_until:
                await draft.wait_end()  # the loop took its time here: the model finished meanwhile
            await draft.line(i)
            seen.append(await draft.end_seen(i))
        return seen

    with ScriptedLLM(lambda req: Reply([NATIVE]), tokens_per_s=400) as server:
        rec = make(server, "record")
        live = await consume(rec, slow_until=2)
        await rec.aclose()
    assert live[:2] == [False, False] and all(live[2:])
    replayed = await consume(make(None, "replay"), slow_until=99)  # a replay is never slow
    assert replayed == live


async def test_the_answer_is_read_at_every_newline_however_its_pieces_came():
    # a reader that looks ahead (a line before a blank one reads differently once the blank is seen):
    # a token holding two newlines must not skip the reading at the first, or a replay, which sends
    # the recorded answer line by line, would release other lines than the live run did
    def read(text: str, cut_off: bool):
        lines = text.split("\n")[:-1] if cut_off else text.rstrip("\n").split("\n")
        return [line.upper() if after == "" else line for line, after in zip(lines, [*lines[1:], None])], True, "end"

    async def drafted(pieces: list[str]) -> tuple[list[str], bool]:
        async def source():
            for piece in pieces:
                yield piece, None, None
            yield "", "stop", None

        c = LLMClient(LLMConfig(provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env="VIGOR_TEST_KEY"))
        draft = DraftStream(ChatStream(c, {}, source(), sent_at=0.0), read)
        await draft.wait_end()
        await c.aclose()
        return draft.lines, draft.diverged

    assert await drafted(["a", "\n\n", "b", "\n"]) == await drafted(["a\n", "\n", "b\n"]) == (["a"], True)
