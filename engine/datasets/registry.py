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


def _humanevalplus(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .plus import load_humanevalplus

    return load_humanevalplus(cfg.path, skipped=skipped)


def _mbppplus(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .plus import load_mbppplus

    return load_mbppplus(cfg.path, skipped=skipped)


def _apps(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .apps import load_apps

    return load_apps(cfg.path, skipped=skipped)


def _ds1000(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .ds1000 import load_ds1000

    return load_ds1000(cfg.path, skipped=skipped)


def _livecodebench(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .livecodebench import load_livecodebench

    return load_livecodebench(cfg.path, skipped=skipped)


def _bigcodebench(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .bigcodebench import load_bigcodebench

    return load_bigcodebench(cfg.path, skipped=skipped)


def _jsonl(cfg: DatasetConfig, skipped: list[dict]) -> list[BenchItem]:
    from .generic import load_generic

    return load_generic(cfg.path, cfg.fields, skipped=skipped)


ADAPTERS: dict[str, Callable[[DatasetConfig, list[dict]], list[BenchItem]]] = {
    "humaneval": _humaneval,
    "humanevalplus": _humanevalplus,
    "mbppplus": _mbppplus,
    "apps": _apps,
    "ds1000": _ds1000,
    "livecodebench_jsonl": _livecodebench,
    "bigcodebench_jsonl": _bigcodebench,
    "jsonl": _jsonl,
}


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
