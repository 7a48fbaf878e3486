"""How scoring runs a finished program against a benchmark's hidden tests (after generation only).

`hidden_program(code, hidden)` builds one program that raises when a hidden test fails and runs
to the end when all pass; `engine.evaluate` runs it in the sandbox.
"""

from __future__ import annotations

from ..errors import ConfigError
from . import Hidden


def hidden_program(code: str, hidden: Hidden) -> str:
    """The program that scores `code` against the hidden tests."""
    if hidden.kind == "check_function":
        return f"{code}\n\n{hidden.test}\n\ncheck({hidden.entry_point})\n"
    if hidden.kind == "asserts":
        return f"{code}\n\n{hidden.test}\n"
    raise ConfigError(f"no scorer for hidden test kind {hidden.kind!r}")
