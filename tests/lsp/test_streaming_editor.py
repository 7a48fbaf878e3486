"""Streaming through vigor-lsp: lines reach the buffer while the model writes, and a cancel from the
editor closes the model's stream (the scripted server streams at a fixed token rate)."""

from __future__ import annotations

import asyncio
import time

from lsp_client import Editor, settings
from lsprotocol import types as lsp
from scripted_llm import Reply, ScriptedLLM

BUFFER = 'def add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n\nprint(add(1, 2))\n'
CURSOR = 5
HEAD = 'def add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n'
BODY = "".join(f"    x{i} = {i}\n" for i in range(10)) + "    total = a + b\n    return total\n"


def native(body: str) -> str:
    return "Here it is:\n```python\n" + HEAD + body + "```\n"


async def test_lines_reach_the_buffer_while_the_model_is_still_writing(editor_factory) -> None:
    with ScriptedLLM(lambda req: Reply([native(BODY)]), tokens_per_s=40) as server:
        editor: Editor = await editor_factory(settings(server.base_url, runPolicy={"maxSteps": 40, "maxLines": 30}))
        applied: list[float] = []
        editor.on_edit = lambda ed, uri: applied.append(time.perf_counter())
        uri = "file:///tmp/s.py"
        editor.open(uri, BUFFER)
        answer = await editor.generate(uri, CURSOR)
        end = await editor.wait_end(answer["sessionId"], timeout=60)
        log = server.streams[0]
    outcome = end["outcome"] if isinstance(end, dict) else end.outcome
    assert outcome == "completed" and "".join(editor.edits) == BODY
    last_token = log.tokens[-1][0]
    assert sum(t < last_token for t in applied) >= 0.8 * len(applied)


async def test_a_cancel_from_the_editor_closes_the_models_stream(editor_factory) -> None:
    long_body = "".join(f"    x{i} = {i}\n" for i in range(80)) + "    return a + b\n"
    with ScriptedLLM(lambda req: Reply([native(long_body)]), tokens_per_s=80) as server:
        editor: Editor = await editor_factory(settings(server.base_url, runPolicy={"maxSteps": 200, "maxLines": 100}))

        def cancel_after_second(ed: Editor, _uri: str) -> None:
            if len(ed.edits) == 2:
                ed.client.workspace_execute_command(lsp.ExecuteCommandParams(command="vigor.cancel", arguments=[{}]))

        editor.on_edit = cancel_after_second
        uri = "file:///tmp/c.py"
        editor.open(uri, BUFFER)
        answer = await editor.generate(uri, CURSOR)
        end = await editor.wait_end(answer["sessionId"], timeout=60)
        for _ in range(100):
            if server.streams[0].closed_by_client:
                break
            await asyncio.sleep(0.02)
        log = server.streams[0]
    outcome = end["outcome"] if isinstance(end, dict) else end.outcome
    assert outcome == "cancelled" and 2 <= len(editor.edits) < 6
    assert log.closed_by_client and log.finished is None  # the model stopped: its answer never ended
