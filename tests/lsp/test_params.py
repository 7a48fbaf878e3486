"""Command arguments and settings are typed: a wrong value is refused with the name of its field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vigor_lsp.params import SETTING_KEYS, GenerateArgs, InvalidArgument, SessionArgs, read_settings, structure

REPO = Path(__file__).resolve().parents[2]
GOOD = {"textDocument": {"uri": "file:///a.py", "version": 3}, "position": {"line": 1, "character": 0}}


def generate_error(value: object) -> str:
    with pytest.raises(InvalidArgument) as err:
        structure(value, GenerateArgs, "vigor.generate")
    return str(err.value)


def test_good_arguments_become_typed_values() -> None:
    arg = structure({**GOOD, "instruction": "double it"}, GenerateArgs, "vigor.generate")
    assert (arg.text_document.uri, arg.text_document.version) == ("file:///a.py", 3)
    assert (arg.position.line, arg.position.character, arg.instruction) == (1, 0, "double it")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"textDocument": {"uri": 3, "version": 1}}, "textDocument.uri: expected a string, got a number"),
        ({"position": {"line": "1", "character": 0}}, "position.line: expected an integer, got a string"),
        ({"position": None}, "position: expected an object, got null"),
        ({"position": {"line": -1, "character": 0}}, "position.line: must be >= 0, got -1"),
        ({"textDocument": {"uri": "file:///a.py", "version": "3"}}, "textDocument.version: expected an integer"),
        ({"textDocument": {"uri": "file:///a.py", "version": True}}, "textDocument.version: expected an integer"),
        ({"instruction": 5}, "instruction: expected a string, got a number"),
    ],
)
def test_a_wrong_field_is_named(change: dict, message: str) -> None:
    assert generate_error({**GOOD, **change}).startswith(f"vigor.generate: {message}")


def test_a_missing_field_is_named() -> None:
    assert generate_error({"textDocument": GOOD["textDocument"]}) == "vigor.generate: position: is required"
    assert generate_error("file:///a.py") == "vigor.generate: expected an object, got a string"


def test_session_arguments_take_an_empty_lua_table() -> None:
    assert structure([], SessionArgs, "vigor.cancel").session_id is None
    assert structure({"sessionId": "s1"}, SessionArgs, "vigor.cancel").session_id == "s1"


def test_settings_are_checked_and_unknown_keys_refused_by_name() -> None:
    settings = read_settings({"baseUrl": "http://127.0.0.1:1/v1", "candidates": 2, "timeoutS": 3})
    assert (settings.base_url, settings.candidates, settings.timeout_s) == ("http://127.0.0.1:1/v1", 2, 3.0)
    with pytest.raises(InvalidArgument, match=r"vigor settings: candidates: expected an integer, got a string"):
        read_settings({"candidates": "3"})
    with pytest.raises(InvalidArgument, match=r"vigor settings: candidates: must be >= 1, got 0"):
        read_settings({"candidates": 0})
    with pytest.raises(InvalidArgument, match=r"unknown key 'baseURL'"):
        read_settings({"baseURL": "http://x"})


# -- one list of setting keys: the clients and the docs are checked against it


def test_vscode_sends_exactly_the_server_keys() -> None:
    source = (REPO / "editors/vscode/src/settings.ts").read_text()
    block = re.search(r"SERVER_KEYS = \[(.*?)\] as const", source, re.S)
    assert block, "SERVER_KEYS not found in settings.ts"
    assert tuple(re.findall(r"'(\w+)'", block.group(1))) == SETTING_KEYS


def test_vscode_contributes_every_server_key_and_only_client_keys_besides() -> None:
    manifest = json.loads((REPO / "editors/vscode/package.json").read_text())
    keys = [k.removeprefix("vigor.") for k in manifest["contributes"]["configuration"]["properties"]]
    server_side = [k for k in keys if not k.startswith(("server.", "undo.", "trace."))]
    assert sorted(server_side) == sorted(SETTING_KEYS)


def test_the_neovim_help_lists_exactly_the_server_keys() -> None:
    text = (REPO / "editors/nvim/doc/vigor.txt").read_text()
    section = text[text.index("*vigor-settings*") : text.index("*vigor.set_settings()*")]
    keys = re.findall(r"^    ([a-z]\w+)  ", section, re.M)
    assert sorted(keys) == sorted(SETTING_KEYS)


def test_the_settings_table_of_the_docs_lists_exactly_the_server_keys() -> None:
    text = (REPO / "docs/editors.md").read_text()
    table = text[text.index("| setting | meaning | maps to |") :].split("\n\n")[0]
    keys = [k for row in table.splitlines()[2:] for k in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert sorted(keys) == sorted(SETTING_KEYS)
