"""A streamed line is confirmed by the effect of the didChange, whatever shape the editor reports it in.

The shapes are the ones a real headless Neovim 0.11 and VS Code send (recorded by hand, see
docs/editors.md "How edits are confirmed"); tests/nvim drives the real Neovim through them too.
"""

from __future__ import annotations

from vigor_lsp.streaming import Insert, is_insert, plan_insert

LINES = ("def f(x):\n", "    pass\n", "print(1)\n")


def test_a_plain_insert_at_the_anchor_is_ours() -> None:
    planned = plan_insert(LINES, 1, "    y = 1")
    assert planned == Insert((1, 0), (1, 0), "    y = 1\n")
    assert is_insert(LINES, (1, 0), (1, 0), "    y = 1\n", planned)


def test_neovim_reports_an_insert_before_a_non_empty_line_as_a_replace_of_that_line() -> None:
    planned = plan_insert(LINES, 1, "    y = 1")
    # what Neovim sent for that insert: the common indentation factored out
    assert is_insert(LINES, (1, 4), (1, 8), "y = 1\n    pass", planned)


def test_a_user_keystroke_on_the_insertion_line_is_not_ours() -> None:
    planned = plan_insert(LINES, 1, "    y = 1")
    assert not is_insert(LINES, (1, 4), (1, 4), "r", planned)
    assert not is_insert(LINES, (1, 0), (1, 0), "    y = 2\n", planned)


def test_typed_text_on_the_insertion_line_stays_below_our_line() -> None:
    lines = ("def f(x):\n", "    r\n")
    # Neovim, after the user typed `r`: our insert before that line comes as a replace of `r`
    assert is_insert(lines, (1, 4), (1, 5), "y = 1\n    r", plan_insert(lines, 1, "    y = 1"))


def test_crlf_line_endings_confirm_the_same_line() -> None:
    lines = ("def f(x):\r\n", '    """doc"""\r\n', "\r\n", "print(1)\r\n")
    planned = plan_insert(lines, 2, "    y = 1")
    assert is_insert(lines, (2, 0), (2, 0), "    y = 1\r\n", planned)


def test_neovim_inserting_past_the_last_line_adds_an_empty_line_and_is_still_ours() -> None:
    lines = ("def f(x):\n", '    """doc"""\n')
    planned = plan_insert(lines, 2, "    y = 1")
    # recorded from Neovim: the newline of the last line is replaced and an extra empty line follows
    assert is_insert(lines, (1, 13), (2, 0), "\n    y = 1\n\n", planned)
    assert not is_insert(lines, (1, 13), (2, 0), "\n    y = 1\n\n\n", planned)


def test_at_the_end_of_a_file_without_a_final_newline_the_line_goes_after_a_newline() -> None:
    lines = ("def f(x):\n", '    """doc"""')
    planned = plan_insert(lines, 2, "    y = 1")
    assert planned == Insert((1, 13), (1, 13), "\n    y = 1")
    assert is_insert(lines, (1, 13), (1, 13), "\n    y = 1", planned)
    assert not is_insert(lines, (1, 13), (1, 13), "    y = 1\n", planned)  # glued onto the last line


def test_vscode_reports_the_insert_as_sent_with_the_document_line_ending() -> None:
    lines = ("a\r\n", "b\r\n")
    assert is_insert(lines, (1, 0), (1, 0), "x\r\n", plan_insert(lines, 1, "x"))
    assert not is_insert(lines, (0, 0), (0, 0), "x\r\n", plan_insert(lines, 1, "x"))
