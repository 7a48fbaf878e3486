"""A draft read as the model writes it (docs/design.md, "Streaming").

A `DraftStream` reads a streamed answer and hands out the draft's lines as they settle: each
time a newline arrives, the answer so far is read by the style's own reader (the same function
that reads the whole answer, told the answer may be cut off), and lines that are settled are
released. The streamed draft is the draft of the whole answer, only read earlier:

- a reader told "cut off" drops the last line, so a line is released only when complete;
- a `settled` guard holds everything back while the answer could still be restating the prefix
  in a way that changes where the draft starts (style-specific, see `native_settled`);
- when the answer ends it is read whole; if that reading does not start with the lines already
  released (never seen on real replies; a test sweeps every newline of sample replies), the draft
  ends after them and `diverged` says so in the trace.

Releases depend only on the answer's text at each of its newlines, never on how it was chunked
(each newline inside a piece is a place of its own), so a replayed answer releases the same lines
at the same places.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from engine.llm.stream import ABANDONED, ChatStream
from engine.types import END

log = logging.getLogger(__name__)

# (answer text, cut_off) -> (draft lines, complete, ended_by): a style's reader of whole answers
Read = Callable[[str, bool], tuple[Sequence[str], bool, str]]
# answer text so far -> whether the lines it yields can no longer change with more text
Settled = Callable[[str], bool]


def always_settled(text: str) -> bool:
    return True


class DraftStream:
    """The lines of one streamed draft as they settle; `await line(i)` waits for the i-th one."""

    def __init__(self, stream: ChatStream, read: Read, *, settled: Settled = always_settled):
        self.stream = stream
        self._read = read
        self._settled = settled
        self.lines: list[str] = []  # released so far; only ever grows
        self.line_times: list[float] = []  # wall-clock time each line was released
        # when the model had written each line: the reading of the answer so far, kept with the
        # time each of its lines first appeared (a line held back by `settled` was written earlier)
        self._seen: list[str] = []
        self._seen_at: list[float] = []
        self.emitted_at: list[float] = []  # per line of `lines`, set when the answer ends
        self.complete = False  # known once `ended`: the code ends after `lines` (END follows)
        self.ended = False
        self.ended_by = ""
        self.diverged = False
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._pump())

    @property
    def text(self) -> str:
        return self.stream.text

    async def line(self, index: int) -> str | None:
        """The draft's line `index`, once it is settled; None when the draft has no such line.
        Raises the stream's error (an LLMError) if the answer broke off before it."""
        while index >= len(self.lines) and not self.ended:
            self._changed.clear()
            await self._changed.wait()
        if index < len(self.lines):
            return self.lines[index]
        if self.error is not None:
            raise self.error
        return None

    async def end_seen(self, index: int, *, waited: bool = False) -> bool:
        """Whether the answer is known to have ended when line `index` is offered.

        Live, that depends on the model's pace, so the first line at which it was seen is recorded
        with the answer (`ChatStream.mark`), and a replayed answer is seen to end at that same line:
        the same decisions follow. A replayed answer with no such mark was never seen to end before
        the run stopped using it, except by running out of lines. Once the mark is kept the answer
        is closed: nothing more about it will be recorded, and the request is free for others to
        be answered from its recording (engine/llm/cache.py).

        `waited`: the caller waited for the end before offering line `index` (`coder.judge_first`),
        so the end is seen there whatever the model's pace, live or replayed, and whatever mark a run
        that did not wait recorded with the same answer."""
        mark = self.stream.marks.get("end_seen")
        if self.stream.cached:
            seen = mark is not None and index >= mark
            if waited or seen or (mark is None and self.ended and index >= len(self.lines)):
                await self.wait_end()
                return True
            return False
        if not self.ended:
            return False
        self.stream.mark("end_seen", index)
        await self.stream.aclose()
        return True

    async def wait_end(self, *, raising: bool = True) -> None:
        """Until the answer has ended (and its whole reading is known). With `raising=False` a
        broken answer is left for `line` to report, after the lines released before the break."""
        while not self.ended:
            self._changed.clear()
            await self._changed.wait()
        if raising and self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        """Stop reading: the HTTP response is closed, so the model stops writing this answer."""
        if not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self.stream.aclose()
        self._finish_abandoned()

    async def _pump(self) -> None:
        try:
            async for piece in self.stream:
                # the answer is read at every newline, however the pieces came (a token may hold
                # several): the same places whether it is live or replayed line by line
                text, at = self.stream.text, len(self.stream.text) - len(piece)
                while (at := text.find("\n", at) + 1) > 0:
                    self._release(text[:at])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an LLMError (broken stream, replay miss): the waiter re-raises it
            self.error = exc
            self.ended, self.ended_by = True, "error"
            self._changed.set()
            return
        self._finish()

    def _release(self, text: str) -> None:
        lines = list(self._read(text, True)[0])
        now = time.time()
        same = next((i for i, (a, b) in enumerate(zip(lines, self._seen)) if a != b), min(len(lines), len(self._seen)))
        if same < len(lines):  # a shorter reading that agrees (a closing fence hid the last line) keeps them
            self._seen, self._seen_at = lines, self._seen_at[:same] + [now] * (len(lines) - same)
        if not self._settled(text):
            return
        if lines[: len(self.lines)] != self.lines:
            return  # a reading that disagrees with what was released: wait for more text
        if len(lines) > len(self.lines):
            self.line_times += [now] * (len(lines) - len(self.lines))
            self.lines += lines[len(self.lines) :]
            self._changed.set()

    def _finish(self) -> None:
        finish = self.stream.finish or "stop"
        lines, complete, ended_by = self._read(self.stream.text, finish in ("length", ABANDONED))
        lines = list(lines)
        n = len(self.lines)
        if lines[:n] != self.lines:
            log.warning("streamed draft diverged from its whole reading after %d lines; it ends there", n)
            self.diverged, complete, ended_by = True, False, "diverged"
        else:
            now = time.time()
            self.line_times += [now] * (len(lines) - n)
            self.lines += lines[n:]
        end = self.stream.ended_at or time.time()
        self.emitted_at = [
            self._seen_at[i] if i < len(self._seen) and self._seen[: i + 1] == self.lines[: i + 1] else end
            for i in range(len(self.lines))
        ]
        self.complete, self.ended_by, self.ended = complete, ended_by, True
        self._changed.set()

    def _finish_abandoned(self) -> None:
        if not self.ended:
            self.emitted_at = [
                self._seen_at[i] if i < len(self._seen) and self._seen[: i + 1] == self.lines[: i + 1] else 0.0
                for i in range(len(self.lines))
            ]
            self.complete, self.ended_by, self.ended = False, "closed", True
            self._changed.set()

    def timing(self) -> dict[str, Any]:
        """Wall-clock facts for the trace: when the request went out, each line settled, the answer ended."""
        return {
            "sent_at": round(self.stream.sent_at, 6),
            "first_piece_at": None if self.stream.first_piece_at is None else round(self.stream.first_piece_at, 6),
            "line_at": [round(t, 6) for t in self.line_times],  # released to the loop
            "emitted_at": [round(t, 6) for t in self.emitted_at],  # written by the model (known at the end)
            "ended_at": None if self.stream.ended_at is None else round(self.stream.ended_at, 6),
            "finish": self.stream.finish,
            "diverged": self.diverged,
        }


# --- guards: when the answer so far can no longer change where the draft starts ---------------

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+\w")
_FENCE = re.compile(r"^\s*```")


def native_settled(prefix: str, entry_point: str | None) -> Settled:
    """The guard for native replies (the reply restates the open function, then continues it).

    Settled once the reply has restated the open function's header; until then a restated import
    or helper could be read as draft lines. While the function's body is still empty, imports the
    reply puts above the header may be moved into the body when the reply ends (align_reply keeps
    those the body uses): then nothing is released before the end."""
    from engine.agents.coders.align import _header_end, open_function
    from engine.agents.coders.text import _skip_docstring

    prefix_lines = prefix.rstrip("\n").split("\n") if prefix.strip() else []
    header = open_function(prefix_lines, entry_point)
    if header is None:
        return echo_settled(prefix)
    m = _DEF.match(prefix_lines[header])
    name = m.group(1) if m else ""
    # the body as align_reply counts it: what follows the signature and the docstring
    body = prefix_lines[_skip_docstring(prefix_lines, _header_end(prefix_lines, header) + 1) :]
    body_empty = not any(line.strip() for line in body)
    known = {line.strip() for line in prefix_lines}

    def settled(text: str) -> bool:
        seen_header = False
        for line in _code_lines(text):
            hm = _DEF.match(line)
            if hm and hm.group(1) == name:
                seen_header = True
                break
            if body_empty and _IMPORT.match(line) and line.strip() not in known:
                return False
        return seen_header

    return settled


def echo_settled(prefix: str) -> Settled:
    """The guard for answers read as continuations (`continuation_lines`): settled once a fenced
    block has opened (prose before it is not code) and holds a line that is not a line of the
    prefix (the echo, if any, is over). An answer with no fence is read whole at its end."""
    known = {line.strip() for line in prefix.split("\n") if line.strip()}

    def settled(text: str) -> bool:
        if not any(_FENCE.match(line) for line in text.split("\n")):
            return False
        return any(line.strip() and line.strip() not in known for line in _code_lines(text))

    return settled


def _code_lines(text: str) -> list[str]:
    """The lines of the first fenced block so far; the whole text when no fence opened."""
    lines = text.replace("\r\n", "\n").split("\n")
    opens = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if not opens:
        return lines
    end = next((i for i in opens[1:]), len(lines))
    return lines[opens[0] + 1 : end]


class LiveDraft:
    """A coder's streamed draft and the loop's place in it: line `index` is the one on offer.

    The coder offers `await offer()` as its draft hit, moves on with `advance()` when that line
    commits, and drops the draft (`close()`) when anything else happens; `ahead()` is what the
    draft offers after the current line (Coder.draft_ahead)."""

    def __init__(self, draft: DraftStream):
        self.draft = draft
        self.index = 0
        self.settled = False  # the coder has dealt with the answer's end (judged it, counted it)

    async def offer(self) -> str | None:
        """The line on offer: the draft's next line, END after a complete draft, None when the draft
        ran out without ending the code (cut off, diverged, closed)."""
        line = await self.draft.line(self.index)
        if line is not None:
            return line
        return END if self.draft.complete else None

    def ahead(self) -> list[str]:
        rest = self.draft.lines[self.index + 1 :]
        return rest + ([END] if self.draft.ended and self.draft.complete else [])

    def rest(self) -> list[str]:
        """The lines still to come from the current one, END included when the draft is complete."""
        return self.draft.lines[self.index :] + ([END] if self.draft.complete else [])

    def advance(self) -> None:
        self.index += 1

    async def close(self) -> None:
        await self.draft.aclose()
