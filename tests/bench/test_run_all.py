"""bench/run_all.py: every number against its target; a miss is named and makes the exit non-zero."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_all():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "bench" / "run_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(tmp_path: Path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(f"import json\nprint('warming up')\nprint(json.dumps({data!r}))\n")
    return str(path)


def test_missed_targets_are_named_and_the_exit_is_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_all = _run_all()
    step = _script(tmp_path, "step.py", {"median_ms": 7.5, "target_ms": 5.0})
    parse = _script(tmp_path, "parse.py", {"ratio_5000_50": 1.1, "target_ratio": 1.5})
    monkeypatch.setattr(run_all, "BENCHES", {"step": (step, run_all._step), "parse": (parse, run_all._parse)})
    assert run_all.main([]) == 1
    err = capsys.readouterr().err
    assert "MISS step: median_ms = 7.5 (target <= 5.0)" in err
    assert "ok   parse: ratio_5000_50 = 1.1" in err
    assert err.strip().splitlines()[-1] == "run_all: 1 target(s) missed: step median_ms"


def test_all_targets_met_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all = _run_all()
    step = _script(tmp_path, "step.py", {"median_ms": 3.2, "target_ms": 5.0})
    monkeypatch.setattr(run_all, "BENCHES", {"step": (step, run_all._step)})
    assert run_all.main([]) == 0


def test_a_script_that_fails_misses_its_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all = _run_all()
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit('no server')\n")
    monkeypatch.setattr(run_all, "BENCHES", {"lsp": (str(broken), run_all._lsp)})
    (check,) = run_all.run_one("lsp")
    assert not check.met and "exited 1: no server" in check.metric


def test_runner_target_applies_where_there_is_concurrency() -> None:
    run_all = _run_all()
    data = {"levels": {"1": {"ratio": 1.4}, "8": {"ratio": 1.1}, "32": {"ratio": 3.1}}, "target_ratio": 1.2}
    checks = run_all._runner(data)
    assert [(c.metric, c.met) for c in checks] == [("ratio at concurrency 8", True), ("ratio at concurrency 32", False)]
