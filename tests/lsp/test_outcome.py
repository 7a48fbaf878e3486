"""A session's outcome carries its examples' verdict (pure: vigor_lsp.server.judged)."""

from __future__ import annotations

from vigor_lsp.running import judged, readable_failure


def test_passing_examples_keep_completed_and_are_counted() -> None:
    tests = {"ran": 2, "passed": 2, "failed": 0, "ok": True}
    assert judged("completed", "", tests) == ("completed", "", {"ran": 2, "passed": 2, "failed": 0})


def test_finished_code_failing_an_example_is_failed_examples_naming_it() -> None:
    failure = "assert _vigor_match(add(1, 2), 3), 'add(1, 2)' -> AssertionError: add(1, 2)"
    tests = {"ran": 2, "passed": 1, "failed": 1, "ok": False, "failures": [failure]}
    outcome, detail, examples = judged("completed", "", tests)
    assert outcome == "failed_examples"
    assert detail == "the code fails 1 of 2 example(s): add(1, 2) should be 3"
    assert examples == {"ran": 2, "passed": 1, "failed": 1}


def test_a_stuck_session_keeps_its_status_and_adds_the_examples_verdict() -> None:
    tests = {"ran": 0, "passed": 0, "failed": 1, "ok": False, "error": "IndentationError: expected an indented block"}
    outcome, detail, examples = judged("stuck", "no candidate passed the gates", tests)
    assert outcome == "stuck"
    assert detail.startswith("no candidate passed the gates; the code fails 1 of 1 example(s): IndentationError")
    assert examples == {"ran": 1, "passed": 0, "failed": 1}


def test_no_examples_changes_nothing() -> None:
    assert judged("completed", "", {}) == ("completed", "", {"ran": 0, "passed": 0, "failed": 0})


def test_an_exception_other_than_the_comparison_is_kept_and_odd_text_passes_through() -> None:
    failure = "assert _vigor_match(f(0), 1), 'f(0)' -> ZeroDivisionError: division by zero"
    assert readable_failure(failure) == "f(0) should be 1 (ZeroDivisionError: division by zero)"
    assert readable_failure("IndentationError: expected an indented block") == (
        "IndentationError: expected an indented block"
    )
