"""The real openai client against the scripted loopback server: retries, fan-out, cache, keys."""

import time

import pytest
from scripted_llm import Reply, ScriptedLLM

from engine.config import LLMConfig
from engine.errors import ConfigError, LLMError
from engine.llm.client import LLMClient, ReplayMiss, resolve_api_key

MSG = [{"role": "user", "content": "hi"}]


def client(server, **kw):
    cfg = LLMConfig(provider="openai", base_url=server.base_url, api_key_env="VIGOR_TEST_KEY", backoff_s=0.01, **kw)
    return LLMClient(cfg)


def cached(folder, mode, base_url="http://127.0.0.1:9/v1", use_n="auto"):
    """A client recording into or replaying from `folder` (replaying, the address is never used)."""
    cfg = LLMConfig(
        provider="openai", base_url=base_url, api_key_env="VIGOR_TEST_KEY", cache=mode, cache_dir=str(folder)
    )
    return LLMClient(cfg, use_n=use_n)


async def test_retries_after_429_and_500_then_succeeds(scripted_llm):
    scripted_llm.push(Reply(status=429), Reply(status=500), Reply(["ok"]))
    c = client(scripted_llm)
    result = await c.chat(MSG)
    assert result.texts == ("ok",)
    assert scripted_llm.calls == 3
    await c.aclose()


async def test_gives_up_after_max_retries_with_a_clear_error(scripted_llm):
    scripted_llm.push(*[Reply(status=500)] * 5)
    c = client(scripted_llm, max_retries=2)
    with pytest.raises(LLMError, match="after 3 attempts"):
        await c.chat(MSG)
    assert scripted_llm.calls == 3
    await c.aclose()


async def test_a_response_slower_than_the_timeout_is_retried(scripted_llm):
    scripted_llm.push(Reply(["late"], delay_s=1.5), Reply(["fast"]))
    c = client(scripted_llm, timeout_s=0.5)
    assert (await c.chat(MSG)).texts == ("fast",)
    await c.aclose()


async def test_malformed_answer_is_asked_once_more_then_an_llm_error(scripted_llm):
    scripted_llm.push(*[Reply(raw_body='{"id": "x", "choices": []}')] * 3)
    c = client(scripted_llm)
    with pytest.raises(LLMError, match="malformed"):
        await c.chat(MSG)
    assert scripted_llm.calls == 2
    await c.aclose()


async def test_fans_out_when_the_server_ignores_n():
    with ScriptedLLM(lambda req: Reply(["a"]), honour_n=False) as server:
        c = client(server)
        result = await c.chat(MSG, n=3)
        assert len(result.texts) == 3 and server.calls == 3
        result = await c.chat(MSG, n=2)  # now known: straight to parallel single requests
        assert len(result.texts) == 2 and server.calls == 5
        await c.aclose()


async def test_uses_n_when_the_server_honours_it(scripted_llm):
    scripted_llm.responder = lambda req: Reply(["x", "y", "z"])
    c = client(scripted_llm)
    assert (await c.chat(MSG, n=3)).texts == ("x", "y", "z")
    assert scripted_llm.calls == 1
    await c.aclose()


async def test_record_then_replay_makes_no_network_call(scripted_llm, tmp_path):
    scripted_llm.responder = lambda req: Reply(["recorded"])
    rec = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    assert (await rec.chat(MSG)).texts == ("recorded",)
    await rec.aclose()
    calls = scripted_llm.calls
    rep = LLMClient(
        LLMConfig(provider="openai", base_url="http://127.0.0.1:9/v1", cache="replay", cache_dir=str(tmp_path))
    )
    assert (await rep.chat(MSG)).texts == ("recorded",)
    assert scripted_llm.calls == calls
    with pytest.raises(ReplayMiss, match="task T step 3"):
        await rep.chat([{"role": "user", "content": "other"}], context="task T step 3")


async def test_samples_are_recorded_one_per_seed_so_batches_of_any_size_share_them(tmp_path):
    """Where the server ignores `n`, a batch is `n` seeded single requests; each is recorded alone,
    so a later batch of another size is answered from the samples already recorded for its seeds,
    and only its new seeds reach the server (the benchmark's arms share their samples this way)."""
    asked = []

    def answer(req):
        asked.append(req["seed"])
        return Reply([f"seed {req['seed']} answer {len(asked)}"])

    with ScriptedLLM(answer, honour_n=False) as server:
        rec = cached(tmp_path, "record", server.base_url, use_n="no")
        pair = await rec.chat(MSG, n=2, temperature=0.8, seed=1)
        triple = await rec.chat(MSG, n=3, temperature=0.8, seed=1)
        await rec.aclose()
    assert sorted(asked) == [1, 2, 3]  # seeds 1 and 2 were asked once, by the first batch
    assert triple.texts[:2] == pair.texts and triple.texts[2].startswith("seed 3 ")
    assert triple.usage.calls == 3
    rep = cached(tmp_path, "replay")
    assert (await rep.chat(MSG, n=3, temperature=0.8, seed=1)).texts == triple.texts
    assert (await rep.chat(MSG, n=1, temperature=0.8, seed=2)).texts == pair.texts[1:]
    with pytest.raises(ReplayMiss):
        await rep.chat(MSG, n=2, temperature=0.8, seed=3)  # seed 4 was never asked


async def test_a_batch_recorded_whole_still_replays_whole(tmp_path):
    """Recordings made before samples were kept apart (or while the server's handling of `n` was
    not yet known) hold the batch under one request; a replay finds it there."""
    with ScriptedLLM(lambda req: Reply([f"seed {req['seed']}"]), honour_n=False) as server:
        # use_n auto: the first batch is asked before the server is seen to ignore n
        rec = cached(tmp_path, "record", server.base_url)
        first = await rec.chat(MSG, n=2, temperature=0.8, seed=5)
        await rec.aclose()
    assert len(list(tmp_path.glob("*.json"))) == 1
    rep = cached(tmp_path, "replay")
    assert (await rep.chat(MSG, n=2, temperature=0.8, seed=5)).texts == first.texts == ("seed 5", "seed 6")


async def test_a_replay_prefers_the_samples_recorded_one_per_seed_over_an_older_whole_batch(tmp_path):
    """A folder may hold both: an older run's batch and a newer run's samples of the same request.
    The replay answers as the newer run was answered (recording asks per seed once `n` is known)."""
    count = []

    def answer(req):
        count.append(1)
        return Reply([f"seed {req['seed']} ask {len(count)}"])

    with ScriptedLLM(answer, honour_n=False) as server:
        older = cached(tmp_path, "record", server.base_url)  # use_n auto: recorded as one batch
        whole = await older.chat(MSG, n=2, temperature=0.8, seed=5)
        newer = cached(tmp_path, "record", server.base_url, use_n="no")  # one recording per seed
        apart = await newer.chat(MSG, n=2, temperature=0.8, seed=5)
        await older.aclose()
        await newer.aclose()
    assert whole.texts != apart.texts
    rep = cached(tmp_path, "replay")
    assert (await rep.chat(MSG, n=2, temperature=0.8, seed=5)).texts == apart.texts


def test_missing_key_names_the_environment_variable():
    cfg = LLMConfig(provider="openai", base_url="https://api.example.invalid/v1", api_key_env="MY_PROVIDER_KEY")
    with pytest.raises(ConfigError, match="MY_PROVIDER_KEY"):  # wrong input: exit 2
        resolve_api_key(cfg)


async def test_complete_sends_a_raw_prompt_and_reads_text_choices(scripted_llm):
    scripted_llm.push(Reply(["    return a + b\n"]))
    c = client(scripted_llm)
    result = await c.complete("def add(a, b):\n", stop=["\ndef "], max_tokens=64)
    assert result.texts == ("    return a + b\n",)
    request = scripted_llm.requests[-1]
    assert request["prompt"] == "def add(a, b):\n" and "messages" not in request
    assert request["stop"] == ["\ndef "] and request["max_tokens"] == 64
    await c.aclose()


async def test_complete_is_recorded_and_replayed_apart_from_chat(scripted_llm, tmp_path):
    scripted_llm.push(Reply(["raw"]), Reply(["chat"]))
    rec = client(scripted_llm, cache="record", cache_dir=str(tmp_path))
    assert (await rec.complete("x = ")).texts == ("raw",)
    assert (await rec.chat([{"role": "user", "content": "x = "}])).texts == ("chat",)
    await rec.aclose()
    replay = client(scripted_llm, cache="replay", cache_dir=str(tmp_path))
    assert (await replay.complete("x = ")).texts == ("raw",)
    with pytest.raises(ReplayMiss):
        await replay.complete("y = ")
    assert scripted_llm.calls == 2


async def test_a_malformed_answer_then_a_good_one_succeeds(scripted_llm):
    scripted_llm.push(Reply(raw_body="not json at all"), Reply(["fine"]))
    c = client(scripted_llm)
    assert (await c.chat(MSG)).texts == ("fine",)
    await c.aclose()


async def test_an_empty_answer_is_asked_once_more(scripted_llm):
    scripted_llm.push(Reply(["  "]), Reply(["second"]), Reply(["third"]))
    c = client(scripted_llm)
    assert (await c.chat(MSG)).texts == ("second",)
    assert scripted_llm.calls == 2
    await c.aclose()


async def test_the_timeout_bounds_the_whole_request_not_each_read(scripted_llm):
    # about 300 bytes at 20 ms each: 6 s of a server that keeps sending, far past the 0.5 s limit
    scripted_llm.push(*[Reply(["slow " * 20], drip_s=0.02)] * 2)
    c = client(scripted_llm, timeout_s=0.5, max_retries=1)
    started = time.perf_counter()
    with pytest.raises(LLMError, match="RequestTimeout.*llm.timeout_s=0.5s"):
        await c.chat(MSG)
    assert time.perf_counter() - started < 2.5
    await c.aclose()


async def test_retry_after_is_honoured(scripted_llm):
    scripted_llm.push(Reply(status=429, headers={"Retry-After": "1"}), Reply(["ok"]))
    c = client(scripted_llm)
    started = time.perf_counter()
    assert (await c.chat(MSG)).texts == ("ok",)
    assert time.perf_counter() - started >= 0.95  # not the 0.01 s backoff
    await c.aclose()


async def test_retry_after_is_capped(scripted_llm, monkeypatch):
    from engine.llm import answers

    monkeypatch.setattr(answers, "RETRY_AFTER_CAP_S", 0.2)
    scripted_llm.push(Reply(status=503, headers={"Retry-After": "3600"}), Reply(["ok"]))
    c = client(scripted_llm)
    started = time.perf_counter()
    assert (await c.chat(MSG)).texts == ("ok",)
    assert 0.15 <= time.perf_counter() - started < 2
    await c.aclose()


async def test_the_error_that_ends_a_request_is_named(scripted_llm):
    scripted_llm.push(*[Reply(status=429)] * 3)
    c = client(scripted_llm, max_retries=1)
    with pytest.raises(LLMError, match="after 2 attempts: RateLimitError 429"):
        await c.chat(MSG)
    await c.aclose()
