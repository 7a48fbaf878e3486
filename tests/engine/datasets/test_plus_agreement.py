"""Our verdicts equal evalplus's, task by task, on MBPP+ rows written in the release's shape.

tests/fixtures/mbppplus_rules.jsonl holds 25 rows (one or more per rule of docs/evaluation.md);
tests/fixtures/mbppplus_rules_verdicts.jsonl holds, per row, a solution (the reference coder's or a
hand-written wrong or alternative one) and the verdict evalplus 0.3.1 gave it, recorded by running
`evalplus.evaluate --dataset mbpp` through `vigor evaluate --mode external` (MBPP_OVERRIDE_PATH on
the rows file). evalplus itself is not a test dependency; its recorded verdicts are the oracle.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.config import parse_config
from engine.datasets.registry import load_items
from engine.execution.sandbox import Sandbox
from engine.runs.evaluate import SCORING_CPU_S, SCORING_MEMORY_MB, score_task

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_every_verdict_equals_the_one_evalplus_gave() -> None:
    rows = FIXTURES / "mbppplus_rules.jsonl"
    items = {
        it.task.task_id: it
        for it in load_items(parse_config({"dataset": {"kind": "mbppplus", "path": str(rows)}}).dataset)
    }
    recorded = [json.loads(line) for line in (FIXTURES / "mbppplus_rules_verdicts.jsonl").read_text().splitlines()]
    assert len(items) == len(recorded) == 25

    async def main() -> dict[str, bool]:
        async with Sandbox(memory_mb=SCORING_MEMORY_MB, cpu_s=SCORING_CPU_S, workers=2) as sandbox:
            rows = await asyncio.gather(
                *(
                    score_task(sandbox, {"task_id": r["task_id"], "code": r["solution"]}, items[r["task_id"]], None)
                    for r in recorded
                )
            )
        return {row["task_id"]: row["passed"] for row in rows}

    ours = asyncio.run(main())
    theirs = {r["task_id"]: r["evalplus_0_3_1"]["base"] == r["evalplus_0_3_1"]["plus"] == "pass" for r in recorded}
    assert sum(theirs.values()) == 17  # the fixture keeps both outcomes in play
    assert {t: ours[t] for t in theirs if ours[t] != theirs[t]} == {}
