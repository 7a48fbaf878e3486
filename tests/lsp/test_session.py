"""How a session accounts for content changes (pure bookkeeping)."""

from __future__ import annotations

from pathlib import Path

from vigor_lsp.session import Change, Session


def session(anchor: int = 5) -> Session:
    return Session("s1", "file:///a.py", anchor, Path("t.jsonl"), Path("t.html"))


def test_its_own_insert_at_the_anchor_confirms_and_advances() -> None:
    s = session()
    s.expect("    x = 1")
    s.observe(Change((5, 0), (5, 0), "    x = 1\n"))
    assert (s.written, s.anchor, s.pending, s.confirmed.is_set()) == (["    x = 1"], 6, None, True)


def test_edits_above_move_the_region_and_edits_below_are_ignored() -> None:
    s = session()
    s.observe(Change((1, 0), (1, 0), "a\nb\n"))
    assert (s.start, s.anchor) == (7, 7)
    s.observe(Change((0, 0), (2, 0), ""))
    assert (s.start, s.anchor) == (5, 5)
    s.observe(Change((9, 0), (9, 3), "xyz\n"))
    assert (s.start, s.anchor, s.end_reason) == (5, 5, "")


def test_an_edit_inside_the_region_or_a_full_replace_is_a_conflict() -> None:
    s = session()
    s.expect("x = 1")
    s.observe(Change((5, 0), (5, 0), "x = 1\n"))
    s.observe(Change((5, 1), (5, 2), "y"))
    assert s.end_reason == "conflict"
    joined = session()
    joined.written, joined.anchor = ["x = 1"], 6
    joined.observe(Change((4, 3), (5, 0), ""))  # deleting the newline above joins a line onto the region
    assert joined.end_reason == "conflict"
    t = session()
    t.observe(Change(None, None, "all new"))
    assert t.end_reason == "conflict"


def test_locate_finds_the_written_lines_after_they_moved() -> None:
    s = session(2)
    s.written = ["a", "b"]
    s.anchor = 4
    assert s.locate(["h\n", "i\n", "j\n", "a\n", "b\n", "z\n"])
    assert (s.start, s.anchor) == (3, 5)
    assert not s.locate(["a\n", "c\n"])
