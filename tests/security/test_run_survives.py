"""A run whose model proposes worker-killing and process-ending lines completes, and `--resume` works."""

from __future__ import annotations

import json
from pathlib import Path

from scripted_llm import Reply, ScriptedLLM, user_code

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = (
    "    import os; os.kill(os.getppid(), 9)",
    "    import os; [os.kill(int(p), 9) for p in os.listdir('/proc') if p.isdigit()]",
    "    import os; os._exit(0)",
)


def run(out: Path, llm: ScriptedLLM, *extra: str) -> int:
    return main(
        [
            "run",
            "--config",
            str(ROOT / "configs/humaneval-local.yaml"),
            "--limit",
            "2",
            "--out",
            str(out),
            "--set",
            "llm.provider=openai",
            "--set",
            f"llm.base_url={llm.base_url}",
            "--no-evaluate",
            *extra,
        ]
    )


def test_hostile_lines_cost_their_candidates_and_the_run_completes_and_resumes(
    tmp_path: Path, scripted_llm: ScriptedLLM
) -> None:
    from engine.datasets.humaneval import load_humaneval

    references = {it.task.prompt: it.task.reference or "" for it in load_humaneval()[:2]}
    asked: list[str] = []

    def respond(request: dict) -> Reply:
        prefix = user_code(request)
        asked.append(prefix)
        hostile = HOSTILE[len(asked) % len(HOSTILE)]
        for prompt, reference in references.items():
            if prefix == prompt and len(asked) <= 2:  # the first answer per task opens with a hostile line
                return Reply(["```python\n" + prompt + hostile + "\n" + reference + "```"])
            if prompt in prefix or prefix in prompt:
                rest = (prompt + reference)[len(prefix) :] if (prompt + reference).startswith(prefix) else reference
                return Reply(["```python\n" + prefix + rest + "```"])
        return Reply(["```python\n" + prefix + "```"])

    scripted_llm.responder = respond
    out = tmp_path / "run"
    assert run(out, scripted_llm) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["status"] != "error" for r in rows)
    trace = (out / "trace.jsonl").read_text()
    assert "exec.crashed" in trace or "exec.raised" in trace  # the hostile lines were judged, not run in the open
    sandbox = json.loads((out / "run_manifest.json").read_text())["sandbox"]
    assert set(sandbox["layers"]) >= {"user_namespace", "readonly_filesystem", "pids_cgroup"}
    assert sandbox["missing"] == [name for name, applied in sandbox["layers"].items() if not applied]
    assert run(out, scripted_llm, "--resume") == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 2  # nothing lost, nothing repeated
