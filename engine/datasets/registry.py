"""Choose a dataset adapter by `dataset.kind` and apply the task filter and limit."""

from __future__ import annotations

import fnmatch
import importlib
import logging

from engine.config import DatasetConfig
from engine.datasets import BenchItem
from engine.errors import DatasetError

log = logging.getLogger(__name__)


# dataset.kind -> (module in this package, loader). Loaders are imported on use, so a run pays
# only for its own adapter.
ADAPTERS: dict[str, tuple[str, str]] = {
    "humaneval": ("humaneval", "load_humaneval"),
    "humanevalplus": ("plus", "load_humanevalplus"),
    "mbppplus": ("plus", "load_mbppplus"),
    "apps": ("apps", "load_apps"),
    "ds1000": ("ds1000", "load_ds1000"),
    "livecodebench_jsonl": ("livecodebench", "load_livecodebench"),
    "bigcodebench_jsonl": ("bigcodebench", "load_bigcodebench"),
    "jsonl": ("generic", "load_generic"),
}


def _load(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    module, name = ADAPTERS[cfg.kind]
    loader = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    if cfg.kind == "jsonl":  # the generic adapter also takes the field mapping
        return loader(cfg.path, cfg.fields, skipped=skipped)
    return loader(cfg.path, skipped=skipped)


def select(items: list[BenchItem], tasks: tuple[str, ...], limit: int | None) -> list[BenchItem]:
    """Keep tasks whose id matches any id or glob in `tasks` (all when empty), then the first `limit`."""
    if tasks:
        items = [it for it in items if any(fnmatch.fnmatchcase(it.task.task_id, pat) for pat in tasks)]
    return items[:limit] if limit else items


def load_items(cfg: DatasetConfig, *, skipped: list[dict] | None = None) -> list[BenchItem]:
    """All selected BenchItems of the configured dataset; malformed lines land in `skipped`."""
    if cfg.kind not in ADAPTERS:
        raise DatasetError(f"dataset.kind: unknown dataset {cfg.kind!r} (known: {', '.join(sorted(ADAPTERS))})")
    skipped = skipped if skipped is not None else []
    items = _load(cfg, skipped)
    for s in skipped:
        log.warning("dataset %s line %s: %s; row skipped", s.get("file", cfg.path), s.get("line"), s.get("error"))
    if not items and skipped:
        first = skipped[0]
        raise DatasetError(
            f"dataset {first.get('file', cfg.path)}: no usable task ({len(skipped)} row(s) skipped; "
            f"line {first.get('line')}: {first.get('error')})"
        )
    return select(items, cfg.tasks, cfg.limit)
