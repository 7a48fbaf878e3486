"""One editor generation session: where it writes, what it has written, and how user edits move it.

Pure bookkeeping: the server feeds it the document's content changes (line numbers only, so the
position encoding does not matter here) and asks it where the next line goes.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import StepRecord

_ids = itertools.count(1)

# How an editor session can end besides the engine's statuses (completed, stuck, budget, error)
CANCELLED = "cancelled"
CONFLICT = "conflict"  # the user's edits and the session's lines collided; the buffer is left as is
FAILED_EXAMPLES = "failed_examples"  # finished, but the final code fails its visible examples


def new_session_id() -> str:
    import os

    return f"s{os.getpid():x}-{next(_ids)}"


@dataclass(frozen=True)
class Change:
    """One incremental content change in line/column terms (`None` range: the whole document)."""

    start: tuple[int, int] | None
    end: tuple[int, int] | None
    text: str


@dataclass
class Session:
    """The live state of one generation in one document."""

    id: str
    uri: str
    anchor: int  # line index the next committed line is inserted before
    trace_jsonl: Path
    trace_html: Path
    token: str = ""
    start: int = -1  # first line of the generated region (set at construction)
    written: list[str] = field(default_factory=list)
    steps: int = 0
    last_decision: str = ""
    cancelled: bool = False
    end_reason: str = ""  # "conflict" etc. once the server decided to end the session
    end_detail: str = ""
    pending: str | None = None  # the line awaiting confirmation from didChange
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def __post_init__(self) -> None:
        if self.start < 0:
            self.start = self.anchor

    @property
    def stopping(self) -> bool:
        return self.cancelled or bool(self.end_reason)

    def expect(self, line: str) -> None:
        """The next didChange inserting `line` at the anchor confirms our edit."""
        self.pending = line
        self.confirmed.clear()

    def conflict(self, detail: str) -> None:
        if not self.end_reason:
            self.end_reason, self.end_detail = CONFLICT, detail
        self.confirmed.set()  # wake a waiting streamer

    def observe(self, change: Change) -> None:
        """Account for one content change: ours (confirm), above (shift), below (ignore), else conflict."""
        if change.start is None or change.end is None:
            self.conflict("the whole document was replaced during generation")
            return
        if (
            self.pending is not None
            and change.start == change.end == (self.anchor, 0)
            and change.text == self.pending + "\n"
        ):
            self.written.append(self.pending)
            self.pending = None
            self.anchor += 1
            self.confirmed.set()
            return
        delta = change.text.count("\n") - (change.end[0] - change.start[0])
        whole_lines = change.start[1] == 0 and (change.text == "" or change.text.endswith("\n"))
        if change.end[0] < self.start or (change.end == (self.start, 0) and whole_lines):
            # above the region, or whole lines replaced right above it: the region moves with them
            self.start += delta
            self.anchor += delta
        elif change.start >= (self.anchor, 0):
            return
        else:
            self.conflict(f"an edit at line {change.start[0] + 1} touched the generated region")

    def locate(self, lines: list[str]) -> bool:
        """Find the written region again in the document (after a skipped or refused edit)."""
        block = [s.rstrip("\r\n") for s in lines]
        n = len(self.written)
        if n == 0:
            return 0 <= self.anchor <= len(block)
        if block[self.start : self.start + n] == self.written:
            self.anchor = self.start + n
            return True
        for i in range(len(block) - n + 1):
            if block[i : i + n] == self.written:
                self.start, self.anchor = i, i + n
                return True
        return False

    def landed(self, lines: list[str], line: str) -> bool:
        """Whether `line` already sits at the anchor in the document (a late confirmation)."""
        return self.anchor < len(lines) and lines[self.anchor].rstrip("\r\n") == line


def step_summary(session: Session, step: int, line: str | None, record: StepRecord) -> dict[str, Any]:
    """The `vigor/step` payload: every candidate with its label and verdict, and the committed line."""
    candidates = [
        {"text": c.text, "label": c.label, "outcome": c.outcome, "reason": c.reason} for c in record.candidates
    ]
    return {
        "sessionId": session.id,
        "uri": session.uri,
        "step": step,
        "line": line,
        "committed": record.committed.text if record.committed is not None else None,
        "candidates": candidates,
    }
