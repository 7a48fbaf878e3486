"""The request builders: native chat, raw completion, fill-in-the-middle; and how answers are read."""

from engine.agents.coders.completion import fim_prompt, raw_prompt, read_completion
from engine.agents.coders.native import ASK_FUNCTION, ASK_PROGRAM, native_messages
from engine.types import Task

PROMPT = 'def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n'


def test_native_request_is_the_makers_question_with_the_code_in_a_python_fence():
    messages = native_messages(Task("t", PROMPT, "add"), PROMPT)
    assert messages == [{"role": "user", "content": f"{ASK_FUNCTION}\n```python\n{PROMPT.rstrip()}\n```"}]


def test_native_request_for_a_program_carries_the_instruction_suffix_and_evidence():
    task = Task("t", "x = 1\n", "", instruction="Print x twice.", suffix="print('done')\n")
    content = native_messages(task, "x = 1\n", ("`f(1)` should return 2 but returned 3",))[0]["content"]
    assert content.startswith("Print x twice.\n")
    assert ASK_PROGRAM in content and "print('done')" in content
    assert "`f(1)` should return 2 but returned 3" in content


def test_a_raw_completion_inside_a_function_ends_at_the_next_top_level_statement():
    text = "    return a + b\n\n\nprint(add(1, 2))\n"
    assert read_completion(PROMPT, text, False) == (["    return a + b"], True, "top_level")


def test_a_cut_off_raw_completion_drops_its_partial_last_line():
    lines, complete, ended = read_completion(PROMPT, "    s = a + b\n    return s +", True)
    assert lines == ["    s = a + b"] and not complete and ended == "cut_off"


def test_a_raw_completion_of_a_partial_line_starts_on_the_next_line():
    lines, complete, _ = read_completion("x = [1,", " 2]\ny = x\n", False)
    assert lines == ["y = x"] and complete


def test_fim_prompt_uses_qwens_tokens_around_prefix_and_suffix():
    assert fim_prompt("a\n", "b\n") == "<|fim_prefix|>a\n<|fim_suffix|>b\n<|fim_middle|>"


def test_raw_prompt_puts_an_instruction_first_as_comments():
    task = Task("t", "", "", instruction="Sum two numbers.\nReturn it.")
    assert raw_prompt(task, "def f():\n") == "# Sum two numbers.\n# Return it.\ndef f():\n"
