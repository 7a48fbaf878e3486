"""Shared fixtures: above all the scripted OpenAI-compatible server the real client talks to."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The repository root goes first: tests/engine/ (a folder of test modules) must never shadow the
# `engine` package when tests import it.
sys.path.insert(0, str(Path(__file__).parent.parent))
from scripted_llm import ScriptedLLM

import engine  # noqa: F401 - bound now, before anything could resolve it to tests/engine


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    """A scripted OpenAI-compatible HTTP server on loopback, fresh per test."""
    server = ScriptedLLM()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see a developer's real key, and run from a clean directory."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("VIGOR_TEST_KEY", "sk-test-0123456789abcdef")
