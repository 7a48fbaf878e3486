"""Streaming: lines reach the buffer at the model's pace (issue 11 item 1).

Two numbers, each from one run:
- first-line ratio: time from the command to the first generated line in the buffer, divided by the
  model's own time to write that line (from receiving the request to sending the line's last token);
- applied-early share: of the function's lines, the share in the buffer before the model's last token.
Targets: ratio <= 1.2; share >= 0.8 for a function of 10 lines or more.

`scripted`: the scripted server, in a process of its own, streams a native reply (the function
restated, a 13-line body, no prose after: the native request stops at the closing fence) at a fixed
token rate and logs when it sent each token. Measured through vigor-lsp with the emulated editor
(command -> applyEdit applied in its buffer) and headless through the engine API (`vigor run`'s
path: command -> the line committed). The first session of each pays one-off costs (sandbox start,
imports) and is reported as cold.
Headless, the openai client is imported and the sandbox started before the command is timed, as
vigor-lsp does at its start and `vigor run` before its first task.
`local`: the bundled model through vigor-lsp; the model's own times come from the session's trace
(the streamed draft's request, each line's arrival and the answer's end, wall clock).

Run: python bench/bench_stream.py [--rate 25] [--runs 3] [--local]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import ROOT, report

sys.path.insert(0, str(ROOT / "tests" / "lsp"))

PREFIX = '''def running_stats(values):
    """Count, total, mean, lowest and highest of a list of numbers.
    >>> running_stats([4, 1, 7])
    (3, 12, 4.0, 1, 7)
    """
'''
BODY = """    count = 0
    total = 0
    low = None
    high = None
    for v in values:
        count += 1
        total += v
        if low is None or v < low:
            low = v
        if high is None or v > high:
            high = v
    mean = total / count if count else 0.0
    return (count, total, mean, low, high)
"""
# The native reply restates the function first; the server stops at the closing fence (`stop`).
REPLY = "Here is the completed function:\n\n```python\n" + PREFIX + BODY + "```\n"
FIRST_LINE = ("Here is the completed function:\n\n```python\n" + PREFIX).count("\n")  # newline index of body line 1
BODY_LINES = BODY.count("\n")


# --- the scripted server, in a child process -------------------------------------------------


def serve(rate: float, log_path: str) -> None:
    """(The child.) Stream REPLY for every request at `rate` tokens/s; log each finished stream."""
    from scripted_llm import Reply, ScriptedLLM, tokens

    def respond(request: dict[str, Any]) -> Reply:
        text = REPLY
        for stop in request.get("stop") or ():
            if stop in text:  # as llama.cpp does: the answer ends before the stop string
                text = text[: text.index(stop)]
        # a whole (non-streamed) answer comes when the model has written all of it
        return Reply([text], delay_s=0.0 if request.get("stream") else len(tokens(text)) / rate)

    server = ScriptedLLM(respond, tokens_per_s=rate)
    print(server.base_url, flush=True)
    done = 0
    with open(log_path, "a", encoding="utf-8") as out:
        while True:
            time.sleep(0.05)
            while done < len(server.streams) and (
                server.streams[done].finished is not None or server.streams[done].closed_by_client
            ):
                s = server.streams[done]
                out.write(json.dumps({"started": s.started, "tokens": s.tokens, "finished": s.finished}) + "\n")
                out.flush()
                done += 1


@contextmanager
def scripted_server(rate: float, log_path: Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--rate", str(rate), "--log", str(log_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip() if proc.stdout else ""
        if not url.startswith("http"):
            raise RuntimeError("the scripted server did not start")
        yield url
    finally:
        proc.kill()
        proc.wait()


def stream_logs(log_path: Path, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The server's logs of its first `count` streams (perf_counter is one clock for the machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log_path.read_text(encoding="utf-8").splitlines() if log_path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise RuntimeError(f"the server logged fewer than {count} streams")


def measure(t_cmd: float, line_times: list[float], log: dict[str, Any]) -> dict[str, Any]:
    """The ratio and the share for one session from the client's times and the server's log."""
    newlines = [t for t, piece in log["tokens"] if piece == "\n"]
    model_first = newlines[FIRST_LINE] - log["started"]
    last_token = log["tokens"][-1][0]
    first = line_times[0] - t_cmd if line_times else None
    return {
        "lines": len(line_times),
        "first_line_s": None if first is None else round(first, 4),
        "model_first_line_s": round(model_first, 4),
        "ratio": None if first is None else round(first / model_first, 4),
        "applied_before_last_token": round(sum(t < last_token for t in line_times) / BODY_LINES, 4),
        "model_total_s": round(last_token - log["started"], 4),
        "after_last_token_ms": round((line_times[-1] - last_token) * 1000, 2) if line_times else None,
    }


def measure_whole(t_cmd: float, line_times: list[float], rate: float) -> dict[str, Any]:
    """The same for an answer read whole: the model's times follow from the token positions at
    the fixed rate (the request goes out right after the command)."""
    from scripted_llm import tokens

    text = REPLY[: REPLY.index("\n```\n")]  # what the native request's stop leaves
    pieces = tokens(text)
    newlines = [i for i, piece in enumerate(pieces) if piece == "\n"]
    model_first = (newlines[FIRST_LINE] + 1) / rate
    model_total = len(pieces) / rate
    first = line_times[0] - t_cmd if line_times else None
    return {
        "lines": len(line_times),
        "first_line_s": None if first is None else round(first, 4),
        "model_first_line_s": round(model_first, 4),
        "ratio": None if first is None else round(first / model_first, 4),
        "applied_before_last_token": round(sum(t - t_cmd < model_total for t in line_times) / BODY_LINES, 4),
        "model_total_s": round(model_total, 4),
    }


# --- through vigor-lsp ---------------------------------------------------------------------------


async def editor_sessions(url: str | None, runs: int, tmp: Path, **extra: Any) -> list[tuple[float, list[float], Any]]:
    """`runs` generations in a fresh buffer each: (command time, applied-edit times, end)."""
    from lsp_client import settings, start_editor

    editor = await start_editor(tmp, settings(url, runPolicy={"maxSteps": 60, "maxLines": 40}, **extra))
    await asyncio.sleep(1.5)  # the server imports the engine's agents right after `initialized`
    out = []
    for i in range(runs):
        applied: list[float] = []
        editor.on_edit = lambda ed, uri, applied=applied: applied.append(time.perf_counter())
        uri = (tmp / f"stats{i}.py").as_uri()
        editor.open(uri, PREFIX + "\n")
        await asyncio.sleep(0.2)
        t_cmd = time.perf_counter()
        answer = await editor.generate(uri, PREFIX.count("\n"))
        end = await editor.wait_end(answer["sessionId"], timeout=600)
        out.append((t_cmd, applied, end))
    await editor.client.shutdown_session()
    return out


# --- headless: the engine API, as `vigor run` drives it ------------------------------------------


async def headless_sessions(url: str, runs: int, tmp: Path, stream: bool = True) -> list[tuple[float, list[float]]]:
    from engine.api import Runtime
    from engine.config import parse_config
    from engine.examples import extract_examples
    from engine.types import Task

    cfg = parse_config(
        {
            "llm": {"provider": "openai", "base_url": url, "api_key_env": "VIGOR_BENCH_KEY", "timeout_s": 60},
            "coder": {"kind": "openai", "k": 3, "stream": stream},
            "context": {"run_policy": {"max_steps": 60, "max_lines": 40}},
        }
    )
    task = Task("stats", PREFIX, "running_stats", examples=extract_examples(PREFIX, "running_stats"))
    out = []
    import engine.agents.coders.openai_coder  # noqa: F401 - the openai client's import (~1 s), as vigor-lsp warms it

    async with Runtime(cfg) as rt:
        await rt.sandbox.start()  # as `vigor run` does before its first task (the run manifest names it)
        for _ in range(runs):
            committed: list[float] = []

            async def on_step(info: Any, committed: list[float] = committed) -> None:
                if info.line is not None:
                    committed.append(time.perf_counter())

            t_cmd = time.perf_counter()
            await rt.run(task, on_step=on_step)
            out.append((t_cmd, committed))
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    warm = rows[1:] or rows
    ratios = [r["ratio"] for r in warm if r["ratio"] is not None]
    shares = [r["applied_before_last_token"] for r in warm]
    return {
        "cold": rows[0],
        "warm_ratio_median": round(statistics.median(ratios), 4) if ratios else None,
        "warm_ratio_max": max(ratios) if ratios else None,
        "warm_share_median": round(statistics.median(shares), 4) if shares else None,
        "warm_share_min": min(shares) if shares else None,
        "runs": rows,
    }


async def scripted(rate: float, runs: int, whole: bool = False) -> dict[str, Any]:
    os.environ.setdefault("VIGOR_TEST_KEY", "sk-bench-0123456789")
    os.environ.setdefault("VIGOR_BENCH_KEY", "sk-bench-0123456789")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        log_path = tmp / "streams.jsonl"
        with scripted_server(rate, log_path) as url:
            if whole:  # before streaming: the draft read whole (coder.stream: false), headless
                headless = await headless_sessions(url, runs, tmp, stream=False)
                rows = [measure_whole(t, times, rate) for t, times in headless]
                return {"tokens_per_s": rate, "body_lines": BODY_LINES, "headless_whole": summarise(rows)}
            sessions = await editor_sessions(url, runs, tmp)
            logs = stream_logs(log_path, runs)
            editor_rows = [measure(t, times, log) for (t, times, _), log in zip(sessions, logs)]
            headless = await headless_sessions(url, runs, tmp)
            logs = stream_logs(log_path, 2 * runs)[runs:]
            headless_rows = [measure(t, times, log) for (t, times), log in zip(headless, logs)]
    return {
        "tokens_per_s": rate,
        "body_lines": BODY_LINES,
        "editor": summarise(editor_rows),
        "headless": summarise(headless_rows),
    }


async def local(runs: int) -> dict[str, Any]:
    """The bundled model through vigor-lsp; the model's times from the session's trace."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        wall_offset = time.time() - time.perf_counter()
        sessions = await editor_sessions(None, runs, tmp, timeoutS=600.0)
        rows = []
        for t_cmd, applied, end in sessions:
            outcome, trace_path = field(end, "outcome"), Path(field(end, "tracePath"))
            timing = first_stream_timing(trace_path)
            if timing is None or not timing["emitted_at"]:
                rows.append({"outcome": outcome, "lines": len(applied), "stream": None})
                continue
            wall = [t + wall_offset for t in applied]
            cmd = t_cmd + wall_offset
            first = wall[0] - cmd if wall else None
            model_first = timing["emitted_at"][0] - timing["sent_at"]
            ended = timing["ended_at"] or float("inf")
            rows.append(
                {
                    "outcome": outcome,
                    "code": code_of(trace_path),
                    "lines": len(applied),
                    "draft_lines": len(timing["emitted_at"]),
                    "first_line_s": None if first is None else round(first, 3),
                    "model_first_line_s": round(model_first, 3),
                    "ratio": None if first is None else round(first / model_first, 4),
                    "applied_before_last_token": round(sum(t < ended for t in wall) / max(len(wall), 1), 4),
                    "model_total_s": round(ended - timing["sent_at"], 3),
                }
            )
    return {"model": "bundled Qwen2.5-Coder-0.5B-Instruct Q4_K_M", **summarise(rows)}


def field(obj: Any, key: str) -> Any:
    """A notification's field (pygls hands them over as dicts or as attribute objects)."""
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


def code_of(trace_path: Path) -> str:
    for line in trace_path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("event") == "task_end":
            return event.get("code", "")
    return ""


def first_stream_timing(trace_path: Path) -> dict[str, Any] | None:
    """The first streamed draft's timing in a session's trace (the attempt whose calls record the
    answer's end: `{"stream": "ended", "timings": {...}}`)."""
    for line in trace_path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("event") != "step":
            continue
        for attempt in event.get("attempts", []):
            for call in attempt.get("calls", []):
                if isinstance(call, dict) and call.get("stream") == "ended":
                    return call["timings"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=25.0, help="scripted tokens per second (default 25)")
    parser.add_argument("--runs", type=int, default=3, help="sessions per front end; the first is cold")
    parser.add_argument("--local", action="store_true", help="also measure the bundled model")
    parser.add_argument("--no-scripted", action="store_true", help="skip the scripted server's runs")
    parser.add_argument("--whole", action="store_true", help="the before: drafts read whole (coder.stream: false)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.rate, args.log)
        return
    if args.whole:
        report("stream_whole", {"scripted": asyncio.run(scripted(args.rate, args.runs, whole=True))})
        return
    data: dict[str, Any] = {} if args.no_scripted else {"scripted": asyncio.run(scripted(args.rate, args.runs))}
    if args.local:
        data["local"] = asyncio.run(local(args.runs))
    data["targets"] = {"first_line_ratio": 1.2, "applied_before_last_token": 0.8}
    report("stream", data)


if __name__ == "__main__":
    main()
