"""Loading a user's own agent, coder or parser from a `package.module:attr` path in the config."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from engine.errors import ConfigError


def load_factory(path: str, key: str = "factory") -> Callable[..., Any]:
    """Resolve `package.module:attr` (or `package.module.attr`) to a callable; `key` names the config key."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot load {path!r}: {exc}") from None
