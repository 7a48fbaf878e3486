"""Sanitising a chat answer the way evalplus does: fenced code, the entry point and what it needs."""

from engine.agents.coders.sanitize import extract_code, longest_parsable_run, sanitize

ANSWER = '''Sure! Here is the function:

```python
import re
from typing import List


def helper(x):
    return x + 1


def unused():
    return 0


def f(a: List[int]) -> int:
    """doc"""
    return helper(a[0])


# Example usage
print(f([1]))
assert f([1]) == 2
if __name__ == "__main__":
    print(f([2]))
```

The function works by calling `helper`.
'''


def test_keeps_imports_the_entry_point_and_its_helpers_and_drops_tests_prints_and_prose():
    code = sanitize(ANSWER, "f")
    assert "import re" in code and "from typing import List" in code
    assert "def helper(x):" in code and "def f(a: List[int]) -> int:" in code
    assert "unused" not in code
    assert "print" not in code and "assert" not in code and "__main__" not in code
    assert "works by" not in code
    env: dict = {}
    exec(code, env)
    assert env["f"]([1]) == 2


def test_without_an_entry_point_keeps_every_definition_but_no_statement():
    code = sanitize(ANSWER, None)
    assert "def unused" in code and "def helper" in code
    assert "print(" not in code


def test_prefers_the_fenced_block_that_defines_the_entry_point():
    text = "```python\nx = 1\ny = 2\nz = 3\nw = [x, y, z]\n```\nand\n```python\ndef g():\n    return 1\n```\n"
    assert extract_code(text, "g").startswith("def g():")
    assert extract_code(text, None).startswith("x = 1")


def test_an_unfenced_answer_gives_its_longest_parsable_run():
    text = "Here you go:\ndef f(x):\n    return x\nThat is all, it returns x."
    assert longest_parsable_run(text) == "def f(x):\n    return x"
    assert sanitize(text, "f") == "def f(x):\n    return x\n"


def test_a_cut_off_fence_keeps_what_parses():
    text = "```python\ndef f(x):\n    return x\n\ndef g(y):\n    return (y +"
    code = sanitize(text, "f")
    assert "def f(x):" in code and "def g" not in code


def test_an_answer_with_no_code_sanitises_to_nothing():
    assert sanitize("I cannot help with that.", "f") == ""
