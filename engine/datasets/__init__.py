"""Benchmark adapters. Each yields BenchItems: what generation may see apart from what scoring uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.types import Task


@dataclass(frozen=True)
class Hidden:
    """What scoring uses and generation never sees: a test program and how to run it."""

    # "check_function" (HumanEval-style `check(candidate)`), "asserts", "stdio", "calls",
    # "plus_inputs", "unittest", "ds1000"; engine.datasets.scoring builds each one's program.
    kind: str
    test: str = ""
    entry_point: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchItem:
    task: Task
    hidden: Hidden
