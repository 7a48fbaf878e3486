"""vigor-lsp end to end: the real server over stdio, the scripted OpenAI-compatible server behind it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from lsp_client import Editor, settings
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from scripted_llm import Reply, ScriptedLLM

from engine.api import Runtime
from engine.trace import read_trace
from vigor_lsp.context import build_context
from vigor_lsp.settings import to_config

BUFFER = (
    'import math\n\n\ndef add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n\nprint(add(1, 2))\n'
)
CURSOR = 8  # the blank line under the docstring
ANSWER = "```python\n    total = a + b\n    return total\n```"


def field(obj: Any, key: str) -> Any:
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


async def headless(base_url: str) -> str:
    """The buffer the headless engine produces for the same task and scripted answers."""
    ctx = build_context(BUFFER, CURSOR, 0, None, "headless")
    async with Runtime(to_config(settings(base_url), local_available=lambda: False)) as rt:
        result = await rt.run(ctx.task)
    return ctx.task.prompt + result.completion + ctx.task.suffix


async def run_one(editor: Editor, uri: str = "file:///tmp/a.py") -> tuple[Any, Any]:
    editor.open(uri, BUFFER)
    answer = await editor.generate(uri, CURSOR)
    end = await editor.wait_end(answer["sessionId"])
    return answer, end


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_full_generation_applies_the_committed_lines_in_order(
    editor_factory, scripted_llm: ScriptedLLM, mode: str
) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url), mode)
    answer, end = await run_one(editor)
    assert field(end, "outcome") == "completed"
    assert editor.edits == ["    total = a + b\n", "    return total\n"]
    scripted_llm.push(ANSWER)
    assert editor.buffers["file:///tmp/a.py"].text == await headless(scripted_llm.base_url)
    events = read_trace(field(end, "tracePath"))
    assert [e["event"] for e in events][0] == "task_start" and events[-1]["event"] == "editor_end"
    assert Path(field(end, "htmlPath")).is_file()
    committed = [field(s, "line") for s in editor.steps if field(s, "line") is not None]
    assert committed == ["    total = a + b", "    return total"]


@pytest.mark.parametrize("how", ["notification", "command", "progress"])
async def test_cancel_midway_leaves_a_consistent_buffer_and_a_cancelled_trace(
    editor_factory, scripted_llm: ScriptedLLM, how: str
) -> None:
    scripted_llm.responder = lambda req: Reply(["```python\n" + "    x = 1\n" * 40 + "```"])
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/c.py"

    def cancel_after_first(ed: Editor, _uri: str) -> None:
        if len(ed.edits) != 1:
            return
        if how == "notification":
            ed.client.protocol.notify("vigor/cancel", {})  # no id: the latest session
        elif how == "command":
            ed.client.workspace_execute_command(lsp.ExecuteCommandParams(command="vigor.cancel", arguments=[{}]))
        else:
            (token,) = ed.client.progress_reports
            ed.client.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token=token))

    editor.on_edit = cancel_after_first
    editor.open(uri, BUFFER)
    answer = await editor.generate(uri, CURSOR)
    end = await editor.wait_end(answer["sessionId"])
    assert field(end, "outcome") == "cancelled"
    assert 1 <= len(editor.edits) < 8
    text = editor.buffers[uri].text
    lines = BUFFER.splitlines(keepends=True)
    assert text == "".join(lines[:CURSOR]) + "".join(editor.edits) + "".join(lines[CURSOR:])
    events = read_trace(field(end, "tracePath"))
    assert any(e["event"] == "task_end" and e["status"] == "cancelled" for e in events)
    assert any(e["event"] == "editor_end" and e["outcome"] == "cancelled" for e in events)
    token = f"vigor/{answer['sessionId']}"
    kinds = [p.kind for p in editor.client.progress_reports[token]]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_cancel_while_an_edit_is_in_flight_counts_that_line_and_sends_no_more(
    editor_factory, scripted_llm: ScriptedLLM, mode: str
) -> None:
    scripted_llm.responder = lambda req: Reply(["```python\n" + "".join(f"    x{i} = {i}\n" for i in range(9)) + "```"])
    editor = await editor_factory(settings(scripted_llm.base_url), mode)
    uri = "file:///tmp/f.py"
    requests: list[int] = []

    def cancel_second(ed: Editor, _uri: str) -> None:  # the 2nd applyEdit arrives: cancel before answering it
        requests.append(len(ed.edits))
        if len(requests) == 2:
            ed.client.protocol.notify("vigor/cancel", {})

    editor.before_apply = cancel_second
    editor.open(uri, BUFFER)
    answer = await editor.generate(uri, CURSOR)
    end = await editor.wait_end(answer["sessionId"])
    await asyncio.sleep(0.2)  # a late didChange (lax) has landed by now
    assert field(end, "outcome") == "cancelled"
    assert editor.edits == ["    x0 = 0\n", "    x1 = 1\n"] and len(requests) == 2  # nothing re-sent, nothing after
    assert field(end, "lines") == 2  # the in-flight line is in the session's account too
    lines = BUFFER.splitlines(keepends=True)
    assert editor.buffers[uri].text == "".join(lines[:CURSOR]) + "".join(editor.edits) + "".join(lines[CURSOR:])


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_user_typing_above_the_anchor_moves_it(editor_factory, scripted_llm: ScriptedLLM, mode: str) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url), mode)
    typed: list[bool] = []

    def type_above(ed: Editor, uri: str) -> None:
        if not typed:
            typed.append(True)
            ed.type(uri, (1, 0), (1, 0), "import os\n")

    editor.on_edit = type_above
    _, end = await run_one(editor)
    assert field(end, "outcome") == "completed"
    text = editor.buffers["file:///tmp/a.py"].text
    assert text.startswith("import math\nimport os\n")
    assert '    """\n    total = a + b\n    return total\n\nprint' in text


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_stale_edit_is_relocated_and_retried(editor_factory, scripted_llm: ScriptedLLM, mode: str) -> None:
    # the user types above while the first edit is in flight: strict refuses it, lax says applied and skips it
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url, confirmTimeoutS=0.3), mode)
    typed: list[bool] = []

    def type_before(ed: Editor, uri: str) -> None:
        if not typed:
            typed.append(True)
            ed.type(uri, (0, 0), (0, 0), "# header\n")

    editor.before_apply = type_before
    _, end = await run_one(editor)
    assert field(end, "outcome") == "completed"
    assert editor.edits == ["    total = a + b\n", "    return total\n"]
    assert editor.buffers["file:///tmp/a.py"].text == "# header\n" + BUFFER.replace(
        '    """\n\n', '    """\n    total = a + b\n    return total\n\n'
    )


async def test_edit_inside_the_generated_region_ends_with_conflict(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))

    def clobber(ed: Editor, uri: str) -> None:
        if len(ed.edits) == 1:
            ed.type(uri, (CURSOR, 4), (CURSOR, 9), "grand")  # rename inside the first generated line

    editor.on_edit = clobber
    _, end = await run_one(editor)
    assert field(end, "outcome") == "conflict"
    assert "generated region" in field(end, "detail")
    assert editor.edits == ["    total = a + b\n"]
    assert "    grand = a + b\n" in editor.buffers["file:///tmp/a.py"].text


async def test_refused_edit_is_retried_once_then_ends_with_conflict(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))
    editor.refuse = 1
    _, end = await run_one(editor)
    assert field(end, "outcome") == "completed"  # one refusal: re-locate and retry succeeds
    scripted_llm.push(ANSWER)
    editor.refuse = 2
    _, end = await run_one(editor, "file:///tmp/b.py")
    assert field(end, "outcome") == "conflict"
    assert editor.buffers["file:///tmp/b.py"].text == BUFFER


async def test_two_documents_generate_at_once(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda req: Reply([ANSWER], delay_s=0.05)
    editor = await editor_factory(settings(scripted_llm.base_url))
    results = await asyncio.gather(run_one(editor, "file:///tmp/x.py"), run_one(editor, "file:///tmp/y.py"))
    assert [field(end, "outcome") for _, end in results] == ["completed", "completed"]
    assert editor.buffers["file:///tmp/x.py"].text == editor.buffers["file:///tmp/y.py"].text != BUFFER


async def test_second_session_on_a_busy_document_is_refused(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda req: Reply([ANSWER], delay_s=0.1)
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/busy.py"
    editor.open(uri, BUFFER)
    first = await editor.generate(uri, CURSOR)
    with pytest.raises(JsonRpcException, match="busy"):
        await editor.generate(uri, CURSOR)
    await editor.wait_end(first["sessionId"])


async def test_no_model_configured_names_the_setting_and_the_extra(editor_factory) -> None:
    editor = await editor_factory({"localModel": False})
    editor.open("file:///tmp/n.py", BUFFER)
    with pytest.raises(JsonRpcException) as err:
        await editor.generate("file:///tmp/n.py", CURSOR)
    assert "vigor.baseUrl" in str(err.value) and "pip install 'vigor[local]'" in str(err.value)


async def test_open_trace_shows_the_page_and_returns_its_path(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))
    answer, _ = await run_one(editor)
    path = await editor.client.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="vigor.openTrace", arguments=[{"sessionId": answer["sessionId"]}])
    )
    assert path.endswith(".html") and Path(path).is_file()
    assert ".vigor/traces" in path
    assert editor.client.shown_documents and editor.client.shown_documents[-1].uri.endswith(".html")
    assert json.dumps(path)


async def test_utf8_client_cursor_after_non_ascii_text_writes_below_that_line(
    editor_factory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push("```python\n    return a + b\n```")
    editor = await editor_factory(settings(scripted_llm.base_url), encoding="utf-8")
    uri = "file:///tmp/u.py"
    text = 'def add(a, b):\n    """Add: \u00e9\u00e9."""  # \u00e9\n'
    editor.open(uri, text)
    last = text.splitlines()[1]
    answer = await editor.generate(uri, 1, len(last.encode("utf-8")))
    assert answer["anchor"] == 2
    end = await editor.wait_end(answer["sessionId"])
    assert field(end, "outcome") == "completed"
    assert editor.buffers[uri].text == text + "    return a + b\n"


async def test_settings_are_re_read_on_did_change_configuration(editor_factory, scripted_llm: ScriptedLLM) -> None:
    editor = await editor_factory({"localModel": False})
    editor.open("file:///tmp/a.py", BUFFER)
    with pytest.raises(JsonRpcException, match="vigor.baseUrl"):
        await editor.generate("file:///tmp/a.py", CURSOR)
    pushed = {"vigor": settings(scripted_llm.base_url, localModel=False)}
    editor.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=pushed))
    scripted_llm.push(ANSWER)
    answer = await editor.generate("file:///tmp/a.py", CURSOR)
    end = await editor.wait_end(answer["sessionId"])
    assert field(end, "outcome") == "completed"
