"""What a client that gets things wrong sees: InvalidParams naming the field, the exit codes of the
LSP spec, and no tracebacks when the client leaves in the middle of a session."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lsp_client import settings
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from scripted_llm import Reply, ScriptedLLM

BUFFER = 'def add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n\n'
URI = "file:///tmp/errors.py"
GOOD = {"textDocument": {"uri": URI, "version": 1}, "position": {"line": 5, "character": 0}}


async def refused(editor: Any, argument: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as err:
        await editor.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="vigor.generate", arguments=[argument])
        )
    return err.value


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({**GOOD, "textDocument": {"uri": 7, "version": 1}}, "textDocument.uri: expected a string, got a number"),
        ({**GOOD, "position": {"line": "5", "character": 0}}, "position.line: expected an integer, got a string"),
        ({**GOOD, "position": None}, "position: expected an object, got null"),
        ({**GOOD, "textDocument": {"uri": URI, "version": "1"}}, "textDocument.version: expected an integer"),
        ({"textDocument": {"uri": URI, "version": 1}}, "position: is required"),
    ],
)
async def test_wrong_arguments_get_invalid_params_naming_the_field(
    editor_factory, scripted_llm: ScriptedLLM, argument: Any, message: str
) -> None:
    editor = await editor_factory(settings(scripted_llm.base_url))
    editor.open(URI, BUFFER)
    error = await refused(editor, argument)
    assert error.code == -32602, error
    assert message in str(error)
    assert "Traceback" not in str(error) and editor.buffers[URI].text == BUFFER


async def test_a_document_never_opened_is_named_as_such(editor_factory, scripted_llm: ScriptedLLM) -> None:
    editor = await editor_factory(settings(scripted_llm.base_url))
    error = await refused(editor, GOOD)
    assert "is not open in the server" in str(error) and URI in str(error)


async def test_a_position_past_the_end_of_the_document_is_refused(editor_factory, scripted_llm: ScriptedLLM) -> None:
    editor = await editor_factory(settings(scripted_llm.base_url))
    editor.open(URI, BUFFER)
    error = await refused(editor, {**GOOD, "position": {"line": 40, "character": 0}})
    assert error.code == -32602 and "position.line: 40 is past the end of the document (6 lines)" in str(error)


async def test_bad_settings_are_named_when_generating(editor_factory, scripted_llm: ScriptedLLM) -> None:
    editor = await editor_factory(settings(scripted_llm.base_url, candidates="three"))
    editor.open(URI, BUFFER)
    error = await refused(editor, GOOD)
    assert "candidates: expected an integer, got a string" in str(error)
    for _ in range(500):  # ... and shown to the user once the server has its settings (after `initialized`)
        if any("candidates" in m.message for m in editor.client.messages):
            break
        await asyncio.sleep(0.01)
    assert any("candidates: expected an integer" in m.message for m in editor.client.messages)


# -- exit codes and quiet exits, over a raw stdio connection


class RawClient:
    """A bare JSON-RPC client over the server's stdio (no library between us and the exit code)."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "VIGOR_TEST_KEY": "sk-test-not-real"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigor_lsp", "--stdio"],  # as vscode-languageclient starts it
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        self.messages: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = out.readline()
            if not header:
                return
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
                while out.readline().strip():  # other headers, up to the blank line
                    pass
                message = json.loads(out.read(length))
                if message.get("method") in ("workspace/applyEdit", "window/workDoneProgress/create"):
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": {"applied": False}})
                elif "id" in message and "method" in message:
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                self.messages.append(message)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any, timeout: float = 20.0) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get("id") == ident and "method" not in message:
                    return message
            time.sleep(0.01)
        raise AssertionError(f"no answer to {method}")

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def start(self, root: Path, init: dict[str, Any]) -> None:
        params = {
            "processId": None,
            "rootUri": root.as_uri(),
            "capabilities": {},
            "initializationOptions": {"vigor": init},
        }
        assert "result" in self.request("initialize", params)
        self.notify("initialized", {})

    def finish(self, timeout: float = 20.0) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the server did not exit") from None
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read().decode()


def test_exit_without_shutdown_exits_1_and_with_shutdown_0(tmp_path: Path) -> None:
    for shutdown, expected in ((False, 1), (True, 0)):
        client = RawClient(tmp_path)
        client.start(tmp_path, {"localModel": False})
        if shutdown:
            assert client.request("shutdown", None).get("result", "missing") is None
        client.notify("exit")
        code, stderr = client.finish()
        assert code == expected, stderr
        assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("shutdown", [False, True])
def test_leaving_during_the_llm_call_prints_no_traceback(tmp_path: Path, shutdown: bool) -> None:
    answer = "```python\n    return a + b\n```"
    with ScriptedLLM(lambda req: Reply([answer], delay_s=3.0)) as llm:
        client = RawClient(tmp_path)
        client.start(tmp_path, settings(llm.base_url))
        item = {"uri": URI, "languageId": "python", "version": 1, "text": BUFFER}
        client.notify("textDocument/didOpen", {"textDocument": item})
        started = client.request("workspace/executeCommand", {"command": "vigor.generate", "arguments": [GOOD]})
        assert "sessionId" in started["result"], started
        deadline = time.monotonic() + 10
        while not llm.requests and time.monotonic() < deadline:  # the session is waiting for the model
            time.sleep(0.05)
        if shutdown:
            assert "error" not in client.request("shutdown", None)
        client.notify("exit")
        code, stderr = client.finish()
    assert code == (0 if shutdown else 1), stderr
    assert "Traceback" not in stderr and "closed file" not in stderr, stderr
