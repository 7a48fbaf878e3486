"""Stream committed lines into the buffer: one versioned applyEdit per line, confirmed from didChange."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types as lsp

from .session import Change, Session

log = logging.getLogger(__name__)


def insert_edit(uri: str, version: int | None, line_index: int, text: str) -> lsp.ApplyWorkspaceEditParams:
    """A TextDocumentEdit inserting whole lines at column 0 (the same in every position encoding)."""
    at = lsp.Position(line=line_index, character=0)
    doc = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    edit = lsp.TextDocumentEdit(
        text_document=doc, edits=[lsp.TextEdit(range=lsp.Range(start=at, end=at), new_text=text)]
    )
    return lsp.ApplyWorkspaceEditParams(edit=lsp.WorkspaceEdit(document_changes=[edit]))


def to_change(change: Any, lines: list[str] | None = None) -> Change:
    """An lsprotocol content change as a Change (line numbers are encoding-free; columns are not used
    beyond 'at column 0', which is also encoding-free)."""
    rng = getattr(change, "range", None)
    if rng is None:
        return Change(None, None, change.text)
    return Change((rng.start.line, rng.start.character), (rng.end.line, rng.end.character), change.text)


async def stream_line(server: Any, session: Session, line: str, confirm_timeout_s: float) -> None:
    """Put one committed line at the anchor; retry once after re-locating; else end with `conflict`."""
    for attempt in range(2):
        if attempt and session.stopping:
            return
        doc = server.workspace.get_text_document(session.uri)
        if attempt and not session.locate(list(doc.lines)):
            session.conflict("the generated lines are no longer where they were written")
            return
        session.expect(line)
        params = insert_edit(session.uri, doc.version, session.anchor, line + "\n")
        try:
            result = await server.workspace_apply_edit_async(params)
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
