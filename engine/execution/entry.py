"""How a sandbox job names the function the child runs: `package.module:function` (stdlib only)."""

from __future__ import annotations

import importlib
from typing import Any


def resolve(path: str) -> Any:
    """The function a job path names."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
