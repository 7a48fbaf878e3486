"""LineDocument applies incremental changes to the same text as pygls's TextDocument."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types as lsp
from pygls.workspace import PositionCodec, TextDocument

from vigor_lsp.document import LineDocument

PIECES = ["x", "é", "😀", "\n", "\r\n", "def f():\n", "    return 1\n", "", "ab\ncd"]


def change(doc: TextDocument, rng: random.Random) -> lsp.TextDocumentContentChangePartial:
    """A random range in client units (utf-16 columns may split nothing: they come from real text)."""
    lines = doc.lines
    codec = doc.position_codec

    def position() -> lsp.Position:
        line = rng.randint(0, len(lines))  # len(lines): the very end of the file
        if line == len(lines):
            return lsp.Position(line=line, character=0)
        text = lines[line].rstrip("\r\n")
        column = rng.randint(0, len(text))
        return codec.position_to_client_units(lines, lsp.Position(line=line, character=column))

    a, b = position(), position()
    start, end = sorted((a, b), key=lambda p: (p.line, p.character))
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
    return lsp.TextDocumentContentChangePartial(range=lsp.Range(start=start, end=end), text=text)


@pytest.mark.parametrize("encoding", [lsp.PositionEncodingKind.Utf16, lsp.PositionEncodingKind.Utf8])
def test_random_edits_give_the_same_text_as_pygls(encoding: lsp.PositionEncodingKind) -> None:
    rng = random.Random(7)
    source = "import os\n\n\ndef g(é):\n    return '😀'\n" * 20
    codec = PositionCodec(encoding=encoding)
    ours = LineDocument("file:///a.py", source, position_codec=codec)
    theirs = TextDocument("file:///a.py", source, position_codec=codec)
    for _ in range(400):
        edit = change(theirs, rng)
        ours.apply_change(edit)
        theirs.apply_change(edit)
        assert ours.source == theirs.source
        assert ours.lines == theirs.lines
