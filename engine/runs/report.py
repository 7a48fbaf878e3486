"""Run-level reports computed from results: gate self-test rates, spec conflicts, example coverage."""

from __future__ import annotations

from typing import Any

from engine.datasets import BenchItem


def gate_report(results: list[dict[str, Any]], items: list[BenchItem]) -> dict[str, Any]:
    """Rejection rates by candidate kind, reference lines rejected (spec conflicts), coverage."""
    kinds: dict[str, dict[str, Any]] = {}
    conflicts = []
    for r in results:
        for kind, slot in r.get("metrics", {}).get("kinds", {}).items():
            agg = kinds.setdefault(kind, {"offered": 0, "rejected": 0, "reasons": {}})
            agg["offered"] += slot["offered"]
            agg["rejected"] += slot["rejected"]
            for reason, n in slot["reasons"].items():
                agg["reasons"][reason] = agg["reasons"].get(reason, 0) + n
        for fb in r.get("metrics", {}).get("fallbacks", []):
            conflicts.append({"task_id": r["task_id"], **fb})
    reference_rejected = {
        r["task_id"]: r["metrics"]["kinds"]["reference"]["rejected"]
        for r in results
        if r.get("metrics", {}).get("kinds", {}).get("reference", {}).get("rejected")
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
        "draft_hits": sum(r.get("metrics", {}).get("draft_hits", 0) for r in results),
        "draft_misses": sum(r.get("metrics", {}).get("draft_misses", 0) for r in results),
    }
