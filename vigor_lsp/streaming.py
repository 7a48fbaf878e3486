"""Stream committed lines into the buffer: one versioned applyEdit per line, confirmed from didChange.

Editors do not report an insert the way it was sent. Neovim reports an insert before a non-empty line
as a replace of part of that line (the common indentation factored out), sends CRLF line endings in
a `fileformat=dos` buffer, and adds an empty line when it inserts past the last line; VS Code
normalises the inserted line ending to the document's. So a didChange confirms our line by its
effect, not its shape: applied to the server's copy of the document, does it give the same text as
the planned insert (line endings aside, and one extra empty line allowed at the end of the file)?
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from lsprotocol import types as lsp

from .document import LineDocument
from .session import Session

log = logging.getLogger(__name__)

Point = tuple[int, int]  # (line, column in code points)


@dataclass(frozen=True)
class Insert:
    """Where and what the server inserts for one line: a range in code points and the new text."""

    start: Point
    end: Point
    text: str


def plan_insert(lines: tuple[str, ...] | list[str], anchor: int, line: str) -> Insert:
    """The edit that puts `line` as a whole line before line `anchor`.

    At the end of a file whose last line has no newline, inserting at (anchor, 0) would glue the text
    onto that last line (clients clamp the position): the line goes after a newline there instead.
    """
    if anchor >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        end_of_last = (len(lines) - 1, len(lines[-1]))
        return Insert(end_of_last, end_of_last, "\n" + line)
    return Insert((anchor, 0), (anchor, 0), line + "\n")


def insert_edit(uri: str, version: int | None, at: lsp.Position, text: str) -> lsp.ApplyWorkspaceEditParams:
    """A versioned TextDocumentEdit inserting `text` at `at` (client units)."""
    doc = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    edit = lsp.TextDocumentEdit(
        text_document=doc, edits=[lsp.TextEdit(range=lsp.Range(start=at, end=at), new_text=text)]
    )
    return lsp.ApplyWorkspaceEditParams(edit=lsp.WorkspaceEdit(document_changes=[edit]))


def _splice(lines: tuple[str, ...] | list[str], lo: int, hi: int, start: Point, end: Point, text: str) -> str:
    """Lines lo..hi (inclusive) as one string, with start..end replaced by `text` (both inside the window)."""
    window = lines[lo : hi + 1]

    def offset(p: Point) -> int:
        if p[0] > hi or p[0] >= len(lines):
            return sum(map(len, window))
        return sum(map(len, window[: p[0] - lo])) + p[1]

    joined = "".join(window)
    return joined[: offset(start)] + text + joined[offset(end) :]


def is_insert(lines: tuple[str, ...] | list[str], start: Point, end: Point, text: str, planned: Insert) -> bool:
    """Whether the change start..end -> text has the effect of the planned insert (see the module doc)."""
    lo = min(start[0], planned.start[0])
    hi = max(end[0], planned.end[0])
    theirs = _splice(lines, lo, hi, start, end, text).replace("\r\n", "\n")
    ours = _splice(lines, lo, hi, planned.start, planned.end, planned.text).replace("\r\n", "\n")
    if theirs == ours:
        return True
    # Neovim inserting past the last line adds an empty line after the text
    at_end = hi >= len(lines) - 1 and planned.start[0] >= len(lines) - 1
    return at_end and theirs == ours + "\n"


class Streamer(Protocol):
    """What stream_line needs of the server."""

    def document(self, uri: str) -> LineDocument | None: ...

    async def workspace_apply_edit_async(self, params: lsp.ApplyWorkspaceEditParams) -> Any: ...


async def stream_line(server: Streamer, session: Session, line: str, confirm_timeout_s: float) -> None:
    """Put one committed line at the anchor; retry once after re-locating; else end with `conflict`.

    A cancel never re-sends a line; the line in flight is waited for (bounded) so the session's count
    and the buffer agree.
    """
    for attempt in range(2):
        if attempt and session.stopping:
            return
        doc = server.document(session.uri)
        if doc is None:
            session.conflict("the document was closed during generation")
            return
        if attempt and not session.locate(list(doc.lines)):
            session.conflict("the generated lines are no longer where they were written")
            return
        planned = plan_insert(doc.lines, session.anchor, line)
        session.expect(line)
        at = doc.position_codec.position_to_client_units(
            list(doc.lines), lsp.Position(line=planned.start[0], character=planned.start[1])
        )
        try:
            result = await server.workspace_apply_edit_async(insert_edit(session.uri, doc.version, at, planned.text))
        except Exception as exc:  # a client error answer is a refusal
            log.info("applyEdit failed: %s", exc)
            result = None
        if session.end_reason:
            return
        if result is not None and result.applied:
            try:
                await asyncio.wait_for(session.confirmed.wait(), confirm_timeout_s)
            except asyncio.TimeoutError:
                log.info("session %s: no didChange for line %r within %.2fs", session.id, line, confirm_timeout_s)
            if session.stopping or session.pending is None:
                return  # confirmed, or the session ends (a cancel never re-sends a line)
        session.pending = None
    if not session.stopping:
        session.conflict(
            f"the editor refused or skipped line {len(session.written) + 1} twice; the buffer is left as is"
        )
