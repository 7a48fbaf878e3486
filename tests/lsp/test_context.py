"""Building the Task from a buffer and a cursor (pure)."""

from __future__ import annotations

from vigor_lsp.context import build_context

BUFFER = (
    'import math\n\n\ndef add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n\nprint(add(1, 2))\n'
)


def test_splits_the_buffer_at_the_cursor_line_into_prefix_and_suffix() -> None:
    ctx = build_context(BUFFER, 8, 0, None, "s1")
    assert ctx.anchor == 8
    assert ctx.task.prompt.endswith('    """\n') and ctx.task.suffix == "\nprint(add(1, 2))\n"
    assert ctx.task.prompt + ctx.task.suffix == BUFFER


def test_docstring_above_is_the_instruction_and_its_examples_feed_the_evaluator() -> None:
    ctx = build_context(BUFFER, 8, 0, None, "s1")
    assert ctx.task.entry_point == "add"
    assert ctx.task.instruction.startswith("Add two numbers.")
    assert [(e.call, e.expected) for e in ctx.task.examples] == [("add(1, 2)", "3")]


def test_command_instruction_wins_over_the_docstring() -> None:
    assert build_context(BUFFER, 8, 0, "subtract instead", "s1").task.instruction == "subtract instead"


def test_comment_block_above_the_cursor_is_the_instruction_at_module_level() -> None:
    text = "import os\n# list the files\n# in the home directory\n\n"
    ctx = build_context(text, 3, 0, None, "s1")
    assert ctx.task.instruction == "list the files\nin the home directory"
    assert ctx.task.entry_point == "" and ctx.task.examples == ()


def test_text_before_the_cursor_moves_the_anchor_below_its_line() -> None:
    assert build_context("x = 1\ny = 2\n", 0, 5, None, "s1").anchor == 1
    assert build_context("x = 1\ny = 2\n", 0, 0, None, "s1").anchor == 0
    assert build_context("x = 1", 5, 0, None, "s1").task.prompt == "x = 1\n"
