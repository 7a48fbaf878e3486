"""Fixtures for the language-server tests: editors started against the real `vigor-lsp` (see lsp_client)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lsp_client import Editor, start_editor


@pytest.fixture
async def editor_factory(tmp_path: Path) -> AsyncIterator[Any]:
    started: list[Editor] = []

    async def make(
        init: dict[str, Any], mode: str = "strict", encoding: str | None = None, shape: str = "as_sent"
    ) -> Editor:
        editor = await start_editor(tmp_path, init, mode, encoding, shape)
        started.append(editor)
        return editor

    yield make
    for editor in started:
        await editor.client.shutdown_session()
