"""The server's copy of an open document: lines kept split, incremental changes spliced in.

pygls's TextDocument re-splits the whole source for every incremental change: about a millisecond per
streamed line on a 5,000-line buffer, paid for our own edit's didChange and again for every keystroke
the user types meanwhile. This document keeps its lines and splices the changed range into them; the
result is the same text as pygls's (a test compares the two on random edits). It is the server's own
value (pygls's public PositionCodec does the encoding), so nothing here reaches into pygls's workspace.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import PositionCodec


class LineDocument:
    """One open document: uri, version, text as a tuple of lines (with their endings)."""

    def __init__(
        self, uri: str, source: str, version: int | None = None, position_codec: PositionCodec | None = None
    ) -> None:
        self.uri = uri
        self.version = version
        self.position_codec = position_codec or PositionCodec()
        self._source = source
        self._lines: tuple[str, ...] = tuple(source.splitlines(True))

    @property
    def source(self) -> str:
        return self._source

    @property
    def lines(self) -> tuple[str, ...]:
        return self._lines

    def points(self, rng: types.Range) -> tuple[tuple[int, int], tuple[int, int]]:
        """A client range as ((line, code point), (line, code point))."""
        r = self.position_codec.range_from_client_units(list(self._lines), rng)
        return (r.start.line, r.start.character), (r.end.line, r.end.character)

    def position_from_client_units(self, position: types.Position) -> types.Position:
        return self.position_codec.position_from_client_units(list(self._lines), position)

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        """Apply one content change (a range and its new text, or the whole text)."""
        rng = getattr(change, "range", None)
        if rng is None:
            self._source = change.text
            self._lines = tuple(change.text.splitlines(True))
            return
        (first, start_col), (last, end_col) = self.points(rng)
        lines = self._lines
        if first >= len(lines):  # an edit at the very end of the file
            self._source = self._source + change.text
            self._lines = tuple(self._source.splitlines(True))
            return
        tail = lines[last][end_col:] if last < len(lines) else ""
        middle = lines[first][:start_col] + change.text + tail
        self._lines = (*lines[:first], *middle.splitlines(True), *lines[last + 1 :])
        self._source = "".join(self._lines)
