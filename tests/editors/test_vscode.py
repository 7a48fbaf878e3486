"""The VS Code extension (editors/vscode): its build and its node tests, the protocol exchange included.

VS Code itself cannot run in CI, so `npm test` covers the extension's logic against a mocked `vscode`
module and the protocol exchange VS Code has with the real `vigor-lsp` (a vscode-jsonrpc client with
VS Code's strict version rule), with the shared editor task (tests/editors/scenario.py) in its
environment and the scripted OpenAI-compatible server behind the language server.
Needs node and `npm ci --prefix editors/vscode`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import scenario

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"


def npm() -> str:
    binary = shutil.which("npm")
    if binary is None:
        pytest.skip("npm is not installed (the VS Code extension needs node >= 18 and npm)")
    if not (EXTENSION / "node_modules").is_dir():
        pytest.skip("editors/vscode has no node_modules: run `npm ci --prefix editors/vscode`")
    return binary


def run_npm(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [npm(), "run", "--silent", script],
        cwd=EXTENSION,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, (
        f"npm run {script} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )
    return proc


def test_extension_typechecks_and_bundles() -> None:
    run_npm("build")
    assert (EXTENSION / "out" / "extension.js").is_file()


def test_node_tests_pass_and_the_protocol_client_ends_with_the_scenario_buffer(tmp_path: Path) -> None:
    npm()
    out = tmp_path / "out.py"
    workdir = tmp_path / "work"
    workdir.mkdir()
    with scenario.serve() as llm:
        env = {**os.environ, **scenario.client_env(llm.base_url, workdir, out)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        proc = run_npm("test", env)
    report = proc.stdout
    assert re.search(r"^# fail 0$", report, re.M), report
    assert re.search(r"^# skipped 0$", report, re.M), f"the protocol tests were skipped\n{report}"
    assert out.read_text() == scenario.EXPECTED
