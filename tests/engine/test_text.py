from engine.agents.coders.text import continuation_lines, strip_fences

PREFIX = 'def add(a, b):\n    """Add two numbers."""\n'


def test_strips_fences_around_a_single_line():
    assert strip_fences("```python\n    return a + b\n```") == "    return a + b"


def test_removes_an_echo_of_the_whole_prefix():
    answer = '```python\ndef add(a, b):\n    """Add two numbers."""\n    return a + b\n```'
    assert continuation_lines(PREFIX, answer) == ["    return a + b"]


def test_removes_an_echoed_header_with_a_new_docstring():
    answer = 'def add(a, b):\n    """Sum."""\n    s = a + b\n    return s\n'
    assert continuation_lines(PREFIX, answer) == ["    s = a + b", "    return s"]


def test_reindents_a_body_answered_at_column_zero():
    assert continuation_lines(PREFIX, "return a + b", base_indent=4) == ["    return a + b"]


def test_cuts_trailing_test_scaffold():
    answer = "    return a + b\n\nprint(add(1, 2))\nif __name__ == '__main__':\n    pass"
    assert continuation_lines(PREFIX, answer) == ["    return a + b"]


def test_empty_answer_is_no_continuation():
    assert continuation_lines(PREFIX, "```python\n```") == []
