"""Benchmark quirks kept apart from the core: tasks whose visible spec is known to be wrong."""

from __future__ import annotations

KNOWN_SPEC_CONFLICTS: dict[str, str] = {
    "HumanEval/47": "median([-10, 4, 6, 1000, 10, 20]) is documented as 15.0; the reference gives 8.0",
    "HumanEval/116": "sort_array examples show plain ascending order; the reference and hidden test sort by "
    "the count of '1' in bin(x), e.g. [1, 5, 2, 3, 4] -> [1, 2, 4, 3, 5]",
}
"""Tasks whose docstring examples contradict their reference solution and hidden tests. The examples
are kept (a reader sees them); `exec.wrong_return` on them is the docstring's fault."""
