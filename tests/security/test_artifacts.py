"""No key in any artifact: a run whose model writes keys into its code leaves none on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_llm import Reply, ScriptedLLM, user_code

from engine.cli import main
from engine.trace import redact

ROOT = Path(__file__).resolve().parents[2]
SHORT_ENV_KEY = "k3y-9x"  # a short value under a secret-looking name
SHORT_SK_KEY = "sk-ab12"  # key-shaped, few characters after sk-
HIDDEN_TOKEN = "tok-4242-zz"


def test_redact_covers_short_secret_values_and_short_key_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "abc")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", 'q"uo<te')
    monkeypatch.setenv("DB_PASSWORD", "pw12")
    text = 'abc, q\\"uo<te, q"uo&lt;te, pw12, sk-9, Bearer x.y, api_key=zz, task-1 and disk-2 stay'
    out = redact(text)
    for secret in ("abc", 'q\\"uo<te', "pw12", "sk-9", "x.y", "zz"):
        assert secret not in out, secret
    assert "task-1 and disk-2 stay" in out


def test_no_key_reaches_any_artifact_of_a_run(
    tmp_path: Path, scripted_llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.datasets.humaneval import load_humaneval

    task = load_humaneval()[0].task

    def respond(request: dict) -> Reply:
        code = f'    note = "{SHORT_ENV_KEY} {SHORT_SK_KEY} {HIDDEN_TOKEN}"  # keys a model copied\n' + (
            task.reference or ""
        )
        return Reply(["```python\n" + user_code(request) + code + "```"])

    scripted_llm.responder = respond
    monkeypatch.setenv("API_KEY", SHORT_ENV_KEY)
    monkeypatch.setenv("HF_TOKEN", HIDDEN_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-run-key-000111")
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--config",
            str(ROOT / "configs/humaneval-local.yaml"),
            "--tasks",
            task.task_id,
            "--out",
            str(out),
            "--set",
            "llm.provider=openai",
            "--set",
            f"llm.base_url={scripted_llm.base_url}",
        ]
    )
    assert code == 0
    kinds = {p.relative_to(out).parts[0] for p in out.rglob("*") if p.is_file()}
    assert {"results.jsonl", "trace.jsonl", "gate_report.json", "run_manifest.json"} <= kinds
    assert {"trace_html", "generation_logs", "evaluation"} <= kinds
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for secret in (SHORT_ENV_KEY, SHORT_SK_KEY, HIDDEN_TOKEN, "sk-run-key-000111"):
                assert secret not in text, (secret, path)
            if path.suffix in (".json", ".jsonl"):
                for line in text.splitlines() if path.suffix == ".jsonl" else [text]:
                    json.loads(line)  # redaction kept it well-formed
