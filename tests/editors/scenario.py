"""One editor task shared by every client test: the same buffer, cursor and scripted answers.

The Neovim, node (VS Code protocol) and pytest-lsp clients and the headless engine all run this task
against a scripted OpenAI-compatible server that answers every request with the same reply, so their
final buffers must be identical (issue 4, "Must show").

External clients get the task through the environment (see `client_env`) and write the final buffer
text to the file named by VIGOR_TEST_OUT.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))

from lsp_client import settings
from scripted_llm import Reply, ScriptedLLM

BUFFER = (
    "import math\n\n\n"
    "def hypot_sum(xs, ys):\n"
    '    """Sum of the hypotenuses of the pairs (x, y).\n'
    "    >>> hypot_sum([3, 6], [4, 8])\n"
    "    15.0\n"
    '    """\n'
    "\n"
    "print(hypot_sum([3], [4]))\n"
)
CURSOR = (8, 0)  # the blank line under the docstring (line, character)
ANSWER = (
    "```python\n    total = 0.0\n    for x, y in zip(xs, ys):\n        total += math.hypot(x, y)\n    return total\n```"
)
LINES = ["    total = 0.0", "    for x, y in zip(xs, ys):", "        total += math.hypot(x, y)", "    return total"]
EXPECTED = BUFFER.replace('    """\n\n', '    """\n' + "".join(line + "\n" for line in LINES) + "\n", 1)


def serve() -> ScriptedLLM:
    """A scripted server that answers every request (any `n`) with ANSWER."""
    return ScriptedLLM(lambda request: Reply([ANSWER] * int(request.get("n") or 1)))


def client_settings(base_url: str) -> dict[str, Any]:
    """The `vigor` settings every client sends (camelCase, as in docs/editors.md): the LSP tests' own."""
    return settings(base_url, model="scripted")


def client_env(base_url: str, workdir: Path, out: Path) -> dict[str, str]:
    """Environment variables that hand the task to an external client test (node, nvim)."""
    buffer_file = workdir / "task.py"
    buffer_file.write_text(BUFFER)
    return {
        "VIGOR_TEST_SETTINGS": json.dumps(client_settings(base_url)),
        "VIGOR_TEST_BUFFER_FILE": str(buffer_file),
        "VIGOR_TEST_CURSOR": f"{CURSOR[0]},{CURSOR[1]}",
        "VIGOR_TEST_EXPECTED_LINES": json.dumps(LINES),
        "VIGOR_TEST_OUT": str(out),
        "VIGOR_TEST_SERVER": f"{sys.executable} -m vigor_lsp",
        "VIGOR_TEST_KEY": "sk-test-not-real",
    }
