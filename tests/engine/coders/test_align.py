"""Aligning a native reply to the committed prefix: restatements skipped, extras end the draft."""

from engine.agents.coders.align import align_reply, defined_names, open_function

PROMPT = '''import re
from typing import List


def helper(s: str) -> str:
    return s.strip()


def count_words(text: str) -> int:
    """ Count the words.
    >>> count_words("a b")
    2
    """
'''

REPLY = '''Here is the completed function:

```python
import re
from typing import List


def helper(s: str) -> str:
    return s.strip()


def count_words(text: str) -> int:
    """ Count the words.
    >>> count_words("a b")
    2
    """
    words = helper(text).split()
    return len(words)


# Example usage
print(count_words("a b c"))
```
This works because ...'''


def test_restated_imports_helpers_signature_and_docstring_are_skipped():
    a = align_reply(PROMPT, REPLY, "count_words")
    assert a.lines == ("    words = helper(text).split()", "    return len(words)")
    assert a.complete
    assert a.ended_by == 'extra: print(count_words("a b c"))'
    assert a.skipped > 10


def test_the_draft_starts_after_the_last_committed_line():
    prefix = PROMPT + "    words = helper(text).split()\n"
    a = align_reply(prefix, REPLY, "count_words")
    assert a.lines == ("    return len(words)",)


def test_a_reply_that_rewrote_the_docstring_still_aligns_on_the_body():
    reply = "```python\ndef count_words(text):\n    '''Counts.'''\n    words = text.split()\n    return len(words)\n```"
    a = align_reply(PROMPT + "    words = text.split()\n", reply, "count_words")
    assert a.lines == ("    return len(words)",)


def test_a_reply_that_diverged_from_the_committed_lines_offers_nothing():
    reply = "```python\ndef count_words(text):\n    n = 0\n    return n\n```"
    a = align_reply(PROMPT + "    words = text.split()\n", reply, "count_words")
    assert a.lines == () and not a.complete and a.ended_by == "diverged"


def test_tests_and_a_main_block_after_the_function_end_the_draft():
    reply = (
        "```python\ndef count_words(text):\n    return len(text.split())\n\n"
        "assert count_words('a') == 1\nif __name__ == '__main__':\n    print(1)\n```"
    )
    a = align_reply(PROMPT, reply, "count_words")
    assert a.lines == ("    return len(text.split())",)
    assert a.ended_by.startswith("extra: assert")


def test_a_needed_helper_the_prefix_lacks_comes_after_the_function_and_a_needed_import_at_the_body_top():
    reply = (
        "```python\nimport math\n\ndef norm(v):\n    return math.sqrt(sq(v))\n\n"
        "def sq(v):\n    return sum(x * x for x in v)\n\nprint(norm([3, 4]))\n```"
    )
    prefix = 'def norm(v):\n    """Length."""\n'
    a = align_reply(prefix, reply, "norm")
    assert a.lines[0] == "    import math"
    assert "    return math.sqrt(sq(v))" in a.lines
    assert "def sq(v):" in a.lines and "    return sum(x * x for x in v)" in a.lines
    assert not any("print" in line for line in a.lines)
    env: dict = {}
    exec(prefix + "\n".join(a.lines) + "\n", env)
    assert env["norm"]([3, 4]) == 5


def test_a_cut_off_reply_drops_its_partial_last_line_and_is_not_complete():
    reply = "```python\ndef count_words(text):\n    words = text.split()\n    return len(wo"
    a = align_reply(PROMPT, reply, "count_words", cut_off=True)
    assert a.lines == ("    words = text.split()",) and not a.complete


def test_a_body_only_reply_is_read_as_a_continuation():
    a = align_reply(PROMPT, "```python\n    return len(text.split())\n```", "count_words")
    assert a.lines == ("    return len(text.split())",)
    assert a.ended_by == "no_header"


def test_a_reply_indented_differently_is_shifted_to_the_prefix():
    prefix = "class A:\n    def f(self):\n"
    reply = "```python\ndef f(self):\n    return 1\n```"
    a = align_reply(prefix, reply, None)
    assert a.lines == ("        return 1",)


def test_the_open_function_is_the_outermost_still_open_def():
    lines = ["def f(x):", "    def g():", "        return 1", "    y = g()"]
    assert open_function(lines) == 0
    assert open_function(["def f(x):", "    return x", "y = 1"]) is None


def test_defined_names_cover_defs_classes_and_imports():
    code = "import os.path\nfrom typing import List, Dict as D\nclass K: pass\ndef f(): pass\nimport numpy as np"
    assert defined_names(code) == {"os", "List", "D", "K", "f", "np"}


def test_program_replies_skip_restated_definitions():
    prefix = "def helper():\n    return 1\n\n"
    reply = "```python\ndef helper():\n    return 1\n\ndef main():\n    return helper()\n```"
    a = align_reply(prefix, reply, "main")
    assert a.lines == ("def main():", "    return helper()")


IMPORT_FIRST = '''def fill(grid, capacity):
    import math
    """Times the buckets go down.
    >>> fill([[1, 1]], 1)
    2
    """
'''


def test_a_prompt_with_an_import_before_its_docstring_aligns_whether_the_reply_keeps_moves_or_drops_it():
    hoisted = (
        "```python\nimport math\nfrom typing import List\n\ndef fill(grid: List[List[int]], capacity: int) -> int:\n"
        '    """Times the buckets go down."""\n    return sum(math.ceil(sum(r) / capacity) for r in grid)\n```'
    )
    kept = (
        "```python\ndef fill(grid, capacity):\n    import math\n\n"
        "    return sum(math.ceil(sum(r) / capacity) for r in grid)\n```"
    )
    dropped = '```python\ndef fill(grid, capacity):\n    """Times."""\n    total = 0\n    return total\n```'
    body = "    return sum(math.ceil(sum(r) / capacity) for r in grid)"
    assert align_reply(IMPORT_FIRST, hoisted, "fill").lines == (body,)
    assert align_reply(IMPORT_FIRST, kept, "fill").lines == ("", body)  # blank lines are the loop's to drop
    assert align_reply(IMPORT_FIRST, dropped, "fill").lines == ("    total = 0", "    return total")
    # a body line committed after the docstring is still what the reply must restate first
    more = IMPORT_FIRST + "    total = 0\n"
    assert align_reply(more, dropped, "fill").lines == ("    return total",)
    assert align_reply(more, hoisted, "fill").ended_by == "diverged"  # it never wrote `total = 0`
