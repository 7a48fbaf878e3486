"""A pytest-lsp client driving the real `vigor-lsp` over stdio, with two applyEdit emulators.

strict (VS Code): refuses an edit whose version is not the buffer's, applies and sends didChange at once.
lax (Neovim): answers applied for every edit, skips a stale one silently, and sends didChange late.

How an applied edit is reported is a separate choice (`shape`): "as_sent" (VS Code: the edit's own
range and text) or "diff" (the smallest change between the old and the new text, which is how Neovim
computes its didChange: an insert before a non-empty line comes back as a replace inside that line).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client


@dataclass
class Buffer:
    """The client's copy of one document."""

    uri: str
    text: str
    version: int = 1

    def apply(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        lines = self.text.splitlines(keepends=True)

        def offset(pos: tuple[int, int]) -> int:  # columns are code points here (ASCII in the e2e tests)
            return sum(map(len, lines[: pos[0]])) + pos[1]

        self.text = self.text[: offset(start)] + new + self.text[offset(end) :]
        self.version += 1


@dataclass
class Editor:
    """The pytest-lsp client plus buffers, an applyEdit emulator and the vigor notifications."""

    client: LanguageClient
    mode: str = "strict"
    lax_delay_s: float = 0.05
    refuse: int = 0  # refuse this many edits (any version) before behaving
    buffers: dict[str, Buffer] = field(default_factory=dict)
    edits: list[str] = field(default_factory=list)  # texts applied from the server, in order
    steps: list[Any] = field(default_factory=list)
    ends: dict[str, Any] = field(default_factory=dict)
    shape: str = "as_sent"  # how applied server edits are reported: "as_sent" or "diff" (see the module doc)
    on_edit: Any = None  # hook after each applied server edit: on_edit(editor, uri)
    before_apply: Any = None  # hook when an applyEdit request arrives, before it is judged

    def open(self, uri: str, text: str) -> Buffer:
        buf = Buffer(uri, text)
        self.buffers[uri] = buf
        item = lsp.TextDocumentItem(uri=uri, language_id="python", version=buf.version, text=text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
        return buf

    def type(self, uri: str, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        buf = self.buffers[uri]
        buf.apply(start, end, new)
        rng = lsp.Range(start=lsp.Position(*start), end=lsp.Position(*end))
        change = lsp.TextDocumentContentChangePartial(range=rng, text=new)
        ident = lsp.VersionedTextDocumentIdentifier(uri=uri, version=buf.version)
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(text_document=ident, content_changes=[change])
        )

    def type_diff(self, uri: str, old: str, new: str) -> None:
        """Report old -> new as the smallest single change (common prefix and suffix left out)."""
        p = 0
        while p < min(len(old), len(new)) and old[p] == new[p]:
            p += 1
        q = 0
        while q < min(len(old), len(new)) - p and old[len(old) - 1 - q] == new[len(new) - 1 - q]:
            q += 1

        def point(offset: int) -> tuple[int, int]:
            before = old[:offset]
            return before.count("\n"), offset - (before.rfind("\n") + 1)

        buf = self.buffers[uri]
        buf.text = old
        self.type(uri, point(p), point(len(old) - q), new[p : len(new) - q])
        assert buf.text == new

    async def generate(self, uri: str, line: int, character: int = 0, instruction: str | None = None) -> Any:
        arg: dict[str, Any] = {
            "textDocument": {"uri": uri, "version": self.buffers[uri].version},
            "position": {"line": line, "character": character},
        }
        if instruction:
            arg["instruction"] = instruction
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="vigor.generate", arguments=[arg])
        )

    async def wait_end(self, session_id: str, timeout: float = 20.0) -> Any:
        for _ in range(int(timeout / 0.01)):
            if session_id in self.ends:
                return self.ends[session_id]
            await asyncio.sleep(0.01)
        raise AssertionError(f"session {session_id} did not end")

    async def handle_apply(self, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        doc_edit = params.edit.document_changes[0]
        uri, version = doc_edit.text_document.uri, doc_edit.text_document.version
        edit = doc_edit.edits[0]
        buf = self.buffers[uri]
        if self.before_apply is not None:
            self.before_apply(self, uri)
        if self.refuse:
            self.refuse -= 1
            return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="refused by test")
        stale = version != buf.version
        if self.mode == "strict":
            if stale:
                return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            self._apply(uri, edit)
        elif not stale:
            asyncio.get_running_loop().call_later(self.lax_delay_s, self._apply, uri, edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    def _apply(self, uri: str, edit: lsp.TextEdit) -> None:
        start = (edit.range.start.line, edit.range.start.character)
        end = (edit.range.end.line, edit.range.end.character)
        if self.shape == "diff":
            buf = self.buffers[uri]
            old = buf.text
            buf.apply(start, end, edit.new_text)
            buf.version -= 1  # type_diff counts the version
            self.type_diff(uri, old, buf.text)
        else:
            self.type(uri, start, end, edit.new_text)
        self.edits.append(edit.new_text)
        if self.on_edit is not None:
            self.on_edit(self, uri)


def settings(base_url: str | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "apiKeyEnv": "VIGOR_TEST_KEY",
        "candidates": 3,
        "maxRetries": 1,
        "backoffS": 0.01,
        "timeoutS": 5.0,
        # generous: on a loaded 2-core machine a line's run can take longer than the 1 s default
        "sandbox": {"exampleTimeoutS": 3.0},
        "runPolicy": {"maxSteps": 12, "maxLines": 8, "maxLlmCalls": 20},
        "confirmTimeoutS": 1.0,
    }
    if base_url:
        data["baseUrl"] = base_url
    data.update(extra)
    return data


async def start_editor(
    root: Path, init: dict[str, Any], mode: str = "strict", encoding: str | None = None, shape: str = "as_sent"
) -> Editor:
    client = make_test_lsp_client()
    capabilities = client_capabilities("visual-studio-code")
    if encoding:  # Neovim offers utf-8 (and utf-16), VS Code only utf-16
        capabilities.general = lsp.GeneralClientCapabilities(position_encodings=[encoding, "utf-16"])
    editor = Editor(client, mode=mode, shape=shape)

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    async def apply_edit(params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
        return await editor.handle_apply(params)

    @client.feature("vigor/step")
    def on_step(params: Any) -> None:
        editor.steps.append(params)

    @client.feature("vigor/end")
    def on_end(params: Any) -> None:
        sid = params["sessionId"] if isinstance(params, dict) else params.sessionId
        editor.ends[sid] = params

    await client.start_io(sys.executable, "-m", "vigor_lsp")
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            initialization_options={"vigor": init},
        )
    )
    return editor
