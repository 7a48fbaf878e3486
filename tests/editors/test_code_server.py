"""The VS Code extension inside a real VS Code: code-server 4.100.3 (Code 1.100.3) served to headless
Chromium, the packaged .vsix installed into it, driven through the command palette as a user would.

generate, cancel and undo against the real `vigor-lsp` and the scripted OpenAI-compatible server, with
the shared editor task (tests/editors/scenario.py). code-server, Chromium and the tools they build
with are installed by editors/vscode/e2e/install.sh (the README's test command runs it); where that
cannot install them (not root, Node other than 20, ...) it records why and this test skips with it.
The browser is driven by Playwright's Python client over Chromium's DevTools protocol, using Debian's
Chromium (Playwright downloads no browser).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import scenario
from scripted_llm import Reply, ScriptedLLM
from test_vscode import EXTENSION, npm

REPO = Path(__file__).resolve().parents[2]
E2E = EXTENSION / "e2e"
ENTRY = E2E / "node_modules" / "code-server" / "out" / "node" / "entry.js"
WAIT_S = 120.0  # a loaded 2-core machine: extension host start, server start, engine imports


def code_server() -> str:
    """The code-server entry point, or a skip naming what is missing and how to install it."""
    reason = (E2E / "UNAVAILABLE").read_text().strip() if (E2E / "UNAVAILABLE").is_file() else ""
    if reason:
        pytest.skip(f"code-server is not installed here: {reason}")
    if not ENTRY.is_file():
        pytest.skip("code-server is not installed: run `bash editors/vscode/e2e/install.sh`")
    return str(ENTRY)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            real = Path("/usr/lib/chromium/chromium")  # Debian's wrapper script adds flags we do not want
            return str(real) if real.is_file() else path
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium; editors/vscode/e2e/install.sh does it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Workbench:
    """The VS Code page, driven with the keyboard as a user would."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def palette(self, text: str) -> None:
        """F1, type `text`, wait for the matching entry, run it."""
        self.page.keyboard.press("F1")
        self.page.wait_for_selector(".quick-input-widget:visible", timeout=WAIT_S * 1000)
        self.page.keyboard.type(text)
        row = self.page.locator(".quick-input-list .monaco-list-row", has_text=text.split(":")[-1].strip())
        row.first.wait_for(timeout=WAIT_S * 1000)
        self.page.keyboard.press("Enter")

    def open(self, name: str) -> None:
        self.palette("Go to File")
        self.page.keyboard.type(name)
        self.page.locator(".quick-input-list .monaco-list-row", has_text=name).first.wait_for(timeout=30_000)
        self.page.keyboard.press("Enter")
        self.page.locator(".tab.active", has_text=name).wait_for(timeout=30_000)

    def go_to_line(self, line: int) -> None:
        """Cursor to the start of 1-based `line`, checked on the status bar (a just-opened editor may
        not have the focus yet: then it is tried again)."""
        for _ in range(5):
            self.page.locator(".monaco-editor .view-lines").first.click()
            self.page.keyboard.press("Control+G")
            self.page.wait_for_selector(".quick-input-widget:visible", timeout=10_000)
            self.page.keyboard.type(str(line))
            self.page.keyboard.press("Enter")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if f"Ln {line}, Col 1" in self.status():
                    return
                time.sleep(0.1)
        raise AssertionError(f"could not put the cursor on line {line}: {self.status()!r}")

    def status(self) -> str:
        return str(self.page.locator(".statusbar").inner_text())

    def wait_status(self, *needles: str) -> str:
        deadline = time.monotonic() + WAIT_S
        text = ""
        while time.monotonic() < deadline:
            text = self.status()
            if any(n in text for n in needles):
                return text
            time.sleep(0.2)
        self.page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "vigor-code-server.png"))
        raise AssertionError(f"status bar never showed {needles}: {text!r}")

    def save(self, path: Path) -> str:
        """Ctrl+S, then the file's text once the write has landed (it changes, or 10 s pass)."""
        before = path.read_text()
        self.page.keyboard.press("Control+S")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and path.read_text() == before:
            time.sleep(0.1)
        return path.read_text()


class Model:
    """The scripted server behind the workbench: the scenario's answer, optionally after a delay."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.llm = ScriptedLLM(lambda req: Reply([scenario.ANSWER] * int(req.get("n") or 1), delay_s=self.delay_s))


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workbench, Path, Model]]:
    entry = code_server()
    browser_binary = chromium()
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    npm()
    tmp = tmp_path_factory.mktemp("code-server")
    work, data, extensions = tmp / "work", tmp / "user-data", tmp / "extensions"
    work.mkdir()
    for name in ("task.py", "cancel.py"):  # there before the window opens: quick open indexes them at once
        (work / name).write_text(scenario.BUFFER)
    (data / "User").mkdir(parents=True)
    vsix = tmp / "vigor.vsix"
    subprocess.run(
        ["npm", "run", "--silent", "package", "--", "-o", str(vsix)],
        cwd=EXTENSION,
        check=True,
        capture_output=True,
        timeout=300,
    )
    node = [shutil.which("node") or "node", entry, "--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    installed = subprocess.run([*node, "--install-extension", str(vsix)], capture_output=True, text=True, timeout=120)
    assert "successfully installed" in installed.stdout, installed.stdout + installed.stderr
    model = Model()
    settings = {f"vigor.{k}": v for k, v in scenario.client_settings(model.llm.base_url).items()}
    settings.update(
        {
            "vigor.server.pythonPath": sys.executable,
            "security.workspace.trust.enabled": False,
            "workbench.startupEditor": "none",
            "telemetry.telemetryLevel": "off",
            "extensions.autoCheckUpdates": False,
            "extensions.autoUpdate": False,
        }
    )
    (data / "User" / "settings.json").write_text(json.dumps(settings, indent=1))
    port = free_port()
    env = {**os.environ, "VIGOR_TEST_KEY": "sk-test-not-real"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    log = (tmp / "code-server.log").open("w")
    server = subprocess.Popen(
        [*node, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry", "--disable-update-check"]
        + ["--disable-workspace-trust", str(work)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_binary, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            deadline = time.monotonic() + 60
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/?folder={work}", timeout=10_000)
                    break
                except Exception:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.5)
            page.wait_for_selector(".monaco-workbench", timeout=WAIT_S * 1000)
            yield Workbench(page), work, model
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        model.llm.close()


def test_generate_in_a_real_vscode_writes_the_scenario_and_one_undo_removes_the_session(workbench) -> None:
    bench, work, model = workbench
    model.delay_s = 0.0
    bench.open("task.py")
    bench.go_to_line(scenario.CURSOR[0] + 1)
    bench.palette("VIGOR: Generate at Cursor")
    status = bench.wait_status("VIGOR completed", "VIGOR fails", "VIGOR conflict", "VIGOR error", "VIGOR stuck")
    assert "VIGOR completed · 1/1 examples pass · 4 lines" in status, status
    assert bench.save(work / "task.py") == scenario.EXPECTED
    bench.page.keyboard.press("Control+Z")  # the whole session is one undo step
    assert bench.save(work / "task.py") == scenario.BUFFER


def test_cancel_from_the_palette_stops_the_session_and_leaves_the_file_as_it_was(workbench) -> None:
    bench, work, model = workbench
    model.delay_s = 30.0  # the model is still thinking when the user cancels
    bench.open("cancel.py")
    bench.go_to_line(scenario.CURSOR[0] + 1)
    bench.palette("VIGOR: Generate at Cursor")
    bench.wait_status("VIGOR step")
    bench.palette("VIGOR: Cancel")
    status = bench.wait_status("VIGOR cancelled", "VIGOR completed", "VIGOR error")
    assert "VIGOR cancelled · 0 lines" in status, status
    assert (work / "cancel.py").read_text() == scenario.BUFFER
    assert bench.page.locator(".tab.active.dirty").count() == 0  # nothing was written into the buffer
