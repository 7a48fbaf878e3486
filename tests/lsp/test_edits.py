"""Streamed lines land exactly once whatever shape the editor reports them in (the real server over stdio).

Each test checks the three things a user sees: no line twice, the reported count equals the lines
added, and the final file compiles.
"""

from __future__ import annotations

import ast
import asyncio
from typing import Any

import pytest
from lsp_client import Editor, settings
from lsprotocol import types as lsp
from scripted_llm import ScriptedLLM

from engine.reasons import Reason
from engine.trace import read_trace

BUFFER = 'def add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n\nprint(add(1, 2))\n'
CURSOR = 5
ANSWER = "```python\n    total = a + b\n    return total\n```"
LINES = ["    total = a + b", "    return total"]


def field(obj: Any, key: str) -> Any:
    value = obj[key] if isinstance(obj, dict) else getattr(obj, key)
    return value._asdict() if hasattr(value, "_asdict") else value  # pygls: custom params as named tuples


async def session(editor: Editor, uri: str, text: str, line: int, character: int = 0, **kw: Any) -> Any:
    editor.open(uri, text)
    answer = await editor.generate(uri, line, character, **kw)
    return await editor.wait_end(answer["sessionId"])


def assert_landed_once(editor: Editor, uri: str, end: Any, lines: list[str] = LINES) -> str:
    text = editor.buffers[uri].text.replace("\r\n", "\n")
    for line in lines:
        assert text.count(line + "\n") + text.endswith(line) == 1, f"{line!r} not exactly once in\n{text}"
    assert field(end, "lines") == len(lines)
    ast.parse(text)
    return text


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_typing_on_the_insertion_line_neither_duplicates_nor_loses_a_line(
    editor_factory, scripted_llm: ScriptedLLM, mode: str
) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url), mode, shape="diff")
    uri = "file:///tmp/typing.py"

    def type_on_the_insertion_line(ed: Editor, _uri: str) -> None:
        if len(ed.edits) == 1:  # the line under the first generated line is the next insertion line
            ed.type(uri, (CURSOR + 1, 0), (CURSOR + 1, 0), "    # ")

    editor.on_edit = type_on_the_insertion_line
    end = await session(editor, uri, BUFFER, CURSOR)
    assert field(end, "outcome") == "completed", field(end, "detail")
    text = assert_landed_once(editor, uri, end)
    assert '    """\n    total = a + b\n    return total\n    # \n' in text


@pytest.mark.parametrize("shape", ["as_sent", "diff"])
async def test_a_crlf_file_gets_each_line_once(editor_factory, scripted_llm: ScriptedLLM, shape: str) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url), shape=shape)
    uri = "file:///tmp/dos.py"
    end = await session(editor, uri, BUFFER.replace("\n", "\r\n"), CURSOR)
    assert field(end, "outcome") == "completed", field(end, "detail")
    assert_landed_once(editor, uri, end)


async def test_a_function_at_the_end_of_a_file_without_a_final_newline_stays_on_its_own_lines(
    editor_factory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/eof.py"
    text = BUFFER[: BUFFER.index('    """\n\n') + 7]  # ends with the docstring's closing quotes, no newline
    end = await session(editor, uri, text, 4, 7)
    assert field(end, "outcome") == "completed", field(end, "detail")
    assert editor.buffers[uri].text == text + "\n    total = a + b\n    return total"
    assert_landed_once(editor, uri, end)


async def test_a_stale_did_change_is_refused_and_the_real_version_still_generates(
    editor_factory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/stale.py"
    buf = editor.open(uri, BUFFER)
    editor.type(uri, (0, 0), (0, 0), "# one\n")  # version 2
    editor.type(uri, (0, 0), (0, 0), "# two\n")  # version 3
    stale = lsp.VersionedTextDocumentIdentifier(uri=uri, version=2)
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), text="# stale\n"
    )
    editor.client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(text_document=stale, content_changes=[change])
    )
    await asyncio.sleep(0.1)
    answer = await editor.generate(uri, CURSOR + 2)  # version 3: no "has not seen version 3 yet"
    end = await editor.wait_end(answer["sessionId"])
    assert field(end, "outcome") == "completed", field(end, "detail")
    assert buf.text == "# two\n# one\n" + BUFFER.replace(
        '    """\n\n', '    """\n' + "".join(s + "\n" for s in LINES) + "\n"
    )


# -- the oracle in the editor


async def test_code_that_fails_the_docstring_examples_is_never_reported_as_completed(
    editor_factory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.responder = lambda req: "```python\n    total = a + b\n```"  # returns None: add(1, 2) is not 3
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/fails.py"
    end = await session(editor, uri, BUFFER, CURSOR)
    assert field(end, "outcome") != "completed"
    assert "add(1, 2)" in field(end, "detail")
    assert field(end, "examples") == {"ran": 1, "passed": 0, "failed": 1}
    events = read_trace(field(end, "tracePath"))
    (editor_end,) = [e for e in events if e["event"] == "editor_end"]
    assert editor_end["outcome"] == field(end, "outcome") and editor_end["examples"]["failed"] == 1
    task_end = next(e for e in events if e["event"] == "task_end")
    assert task_end["tests"]["ran"] == 1  # the trace page shows "visible tests 0/1", not 0/0


async def test_code_that_passes_them_completes_with_its_examples_counted(
    editor_factory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(ANSWER)
    editor = await editor_factory(settings(scripted_llm.base_url))
    end = await session(editor, "file:///tmp/passes.py", BUFFER, CURSOR)
    assert field(end, "outcome") == "completed"
    assert field(end, "examples") == {"ran": 1, "passed": 1, "failed": 0}


async def test_examples_in_the_instruction_gate_the_lines(editor_factory, scripted_llm: ScriptedLLM) -> None:
    wrong = "```python\ndef double(x):\n    return x + 3\n```"
    scripted_llm.responder = lambda req: wrong
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/instr.py"
    end = await session(editor, uri, "import os\n\n", 2, instruction="double a number\ndouble(2) == 4")
    # the line is rejected at its own step (2 + 3 is not 4); whatever the commit policy then does,
    # the session does not end as "completed"
    assert field(end, "outcome") != "completed"
    assert field(end, "examples")["ran"] == 1
    events = read_trace(field(end, "tracePath"))
    reasons = {c["reason"] for e in events if e["event"] == "step" for a in e["attempts"] for c in a["candidates"]}
    assert Reason.EXEC_WRONG_RETURN in reasons


async def test_a_right_answer_to_the_instruction_examples_completes(editor_factory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda req: "```python\ndef double(x):\n    return x * 2\n```"
    editor = await editor_factory(settings(scripted_llm.base_url))
    uri = "file:///tmp/instr_ok.py"
    end = await session(editor, uri, "import os\n\n", 2, instruction="double a number\nassert double(2) == 4")
    assert field(end, "outcome") == "completed", field(end, "detail")
    assert field(end, "examples") == {"ran": 1, "passed": 1, "failed": 0}
