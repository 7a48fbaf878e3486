"""Choose a dataset adapter by `dataset.kind` and apply the task filter and limit."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable

from ..config import DatasetConfig
from ..errors import DatasetError
from . import BenchItem

log = logging.getLogger(__name__)


def _humaneval(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .humaneval import load_humaneval

    return load_humaneval(cfg.path, skipped=skipped)


ADAPTERS: dict[str, Callable[[DatasetConfig, list[dict]], list[BenchItem]]] = {"humaneval": _humaneval}


def select(items: list[BenchItem], tasks: tuple[str, ...], limit: int | None) -> list[BenchItem]:
    """Keep tasks whose id matches any id or glob in `tasks` (all when empty), then the first `limit`."""
    if tasks:
        items = [it for it in items if any(fnmatch.fnmatchcase(it.task.task_id, pat) for pat in tasks)]
    return items[:limit] if limit else items


def load_items(cfg: DatasetConfig, *, skipped: list[dict] | None = None) -> list[BenchItem]:
    """All selected BenchItems of the configured dataset; malformed lines land in `skipped`."""
    adapter = ADAPTERS.get(cfg.kind)
    if adapter is None:
        raise DatasetError(f"dataset.kind: unknown dataset {cfg.kind!r} (known: {', '.join(sorted(ADAPTERS))})")
    skipped = skipped if skipped is not None else []
    items = adapter(cfg, skipped)
    for s in skipped:
        log.warning("skipped malformed dataset line %s: %s", s.get("line"), s.get("error"))
    return select(items, cfg.tasks, cfg.limit)
