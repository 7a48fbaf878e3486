"""Run-level reports computed from results: gate self-test rates, spec conflicts, example coverage."""

from __future__ import annotations

from typing import Any

from engine.datasets import BenchItem
from engine.loop.records import TaskMetrics


def gate_report(results: list[dict[str, Any]], items: list[BenchItem]) -> dict[str, Any]:
    """Rejection rates by candidate kind, reference lines rejected (spec conflicts), coverage."""
    kinds: dict[str, dict[str, Any]] = {}
    conflicts = []
    metrics = {r["task_id"]: TaskMetrics.from_json(r.get("metrics")) for r in results}
    for task_id, m in metrics.items():
        for kind, slot in m.kinds:
            agg = kinds.setdefault(kind, {"offered": 0, "rejected": 0, "reasons": {}})
            agg["offered"] += slot.offered
            agg["rejected"] += slot.rejected
            for reason, n in slot.reasons:
                agg["reasons"][reason] = agg["reasons"].get(reason, 0) + n
        conflicts.extend({"task_id": task_id, **fb.to_json()} for fb in m.fallbacks)
    reference_rejected = {
        task_id: m.kind("reference").rejected for task_id, m in metrics.items() if m.kind("reference").rejected
    }
    for agg in kinds.values():
        agg["rate"] = round(agg["rejected"] / agg["offered"], 4) if agg["offered"] else None
    with_examples = sum(1 for it in items if any(ex.expected is not None for ex in it.task.examples))
    return {
        "kinds": kinds,
        "fallbacks": conflicts,
        "reference_rejected": reference_rejected,
        "tasks_with_comparable_examples": with_examples,
        "tasks": len(items),
        "draft_hits": sum(m.draft_hits for m in metrics.values()),
        "draft_misses": sum(m.draft_misses for m in metrics.values()),
    }
