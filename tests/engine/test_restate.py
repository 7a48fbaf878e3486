"""Restated definitions: the function being written (or a helper, or an import) written again inside it."""

from engine.agents.language.restate import restated_definition

PREFIX = 'import re\nfrom typing import List\n\n\ndef helper(s):\n    return s\n\n\ndef words(text: str) -> List[str]:\n    """Split."""\n'


def test_a_nested_def_of_the_function_being_written_is_a_restatement():
    assert "`words` is already defined" in restated_definition(PREFIX, "    def words(text: str) -> List[str]:")


def test_a_nested_copy_of_a_helper_is_a_restatement():
    assert restated_definition(PREFIX, "    def helper(s):") is not None


def test_a_reimport_inside_the_function_is_a_restatement():
    assert restated_definition(PREFIX, "    import re") == "re already imported at the module level"
    assert restated_definition(PREFIX, "    from typing import List") is not None


def test_new_nested_helpers_and_new_imports_are_not_restatements():
    assert restated_definition(PREFIX, "    def inner(x):") is None
    assert restated_definition(PREFIX, "    import math") is None
    assert restated_definition(PREFIX, "    from typing import List, Dict") is None


def test_module_level_lines_are_never_restatements():
    assert restated_definition(PREFIX, "def words(text):") is None
    assert restated_definition(PREFIX, "import re") is None


def test_the_reviewer_rejects_a_restated_definition_of_the_function_being_written():
    from engine.agents.language.agent import LanguageAgent
    from engine.agents.reviewer import RuleReviewer
    from engine.types import Candidate, Outcome, Task

    language = LanguageAgent()
    state = language.start(PREFIX)
    task = Task("t", PREFIX, "words")
    reviewer = RuleReviewer()
    for line in ("    def words(text: str) -> List[str]:", "    import re"):
        verdict = reviewer.review(Candidate(line), language.classify(state, line), PREFIX, task)
        assert verdict.outcome is Outcome.REJECT and verdict.reason == "review.restated", line
    ok = reviewer.review(
        Candidate("    return text.split()"), language.classify(state, "    return text.split()"), PREFIX, task
    )
    assert ok.reason != "review.restated"
