"""The shared editor task gives the same buffer from the headless engine and from pytest-lsp clients.

With test_nvim.py (real headless Neovim) and test_vscode.py (the node client with VS Code's strict
version rule), every client is held to the same `scenario.EXPECTED` text (issue 4, "Must show").
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))

import scenario
from lsp_client import start_editor

from engine.api import Runtime
from vigor_lsp.context import build_context
from vigor_lsp.settings import to_config


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGOR_TEST_KEY", "sk-test-not-real")


async def test_headless_engine_gives_the_expected_buffer() -> None:
    with scenario.serve() as llm:
        ctx = build_context(scenario.BUFFER, *scenario.CURSOR, None, "headless")
        config = to_config(scenario.client_settings(llm.base_url), local_available=lambda: False)
        async with Runtime(config) as rt:
            result = await rt.run(ctx.task)
    assert result.status == "completed"
    assert ctx.task.prompt + result.completion + ctx.task.suffix == scenario.EXPECTED


@pytest.mark.parametrize("mode", ["strict", "lax"])
async def test_pytest_lsp_client_gives_the_expected_buffer(tmp_path: Path, mode: str) -> None:
    with scenario.serve() as llm:
        editor = await start_editor(tmp_path, scenario.client_settings(llm.base_url), mode)
        try:
            uri = (tmp_path / "task.py").as_uri()
            editor.open(uri, scenario.BUFFER)
            answer = await editor.generate(uri, *scenario.CURSOR)
            end = await editor.wait_end(answer["sessionId"])
        finally:
            await editor.client.shutdown_session()
    assert end.outcome == "completed"  # pygls hands custom notifications over as named tuples
    assert [e.rstrip("\n") for e in editor.edits] == scenario.LINES
    assert editor.buffers[uri].text == scenario.EXPECTED
