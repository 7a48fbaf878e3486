"""Map the editor's `vigor` settings onto a VigorConfig (the config edge: validation lives in engine.config)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine import ConfigError, VigorConfig, parse_config, set_dotted

NO_MODEL = (
    "VIGOR has no model: set `vigor.baseUrl` (and `vigor.apiKeyEnv`, the name of the environment variable "
    "holding the key) to an OpenAI-compatible server, or install the bundled model with "
    "`pip install 'vigor[local]'`."
)


class NoModelError(ConfigError):
    """No base URL and no bundled local model."""


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _snake_keys(section: Any) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ConfigError(f"vigor settings: expected a mapping, got {section!r}")
    return {_snake(k): v for k, v in section.items()}


def merge(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Later layers win, key by key (initializationOptions first, workspace/configuration over it)."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is not None:
                out[key] = value
    return out


def to_config(settings: dict[str, Any], *, local_available: Callable[[], bool]) -> VigorConfig:
    """Build the engine config from editor settings; raise NoModelError when nothing can generate.

    Keys are never read from settings, only the name of the environment variable (`apiKeyEnv`).
    """
    llm: dict[str, Any] = {}
    base_url = settings.get("baseUrl")
    if base_url:
        llm.update(provider="openai", base_url=base_url)
    elif settings.get("localModel", True) and local_available():
        llm["provider"] = "local"
    else:
        raise NoModelError(NO_MODEL)
    if settings.get("model"):
        llm["model"] = settings["model"]
    if settings.get("apiKeyEnv"):
        llm["api_key_env"] = settings["apiKeyEnv"]
    for key in ("timeoutS", "maxRetries", "backoffS"):
        if key in settings:
            llm[_snake(key)] = settings[key]
    data: dict[str, Any] = {"llm": llm, "coder": {"kind": "openai"}}
    if "candidates" in settings:
        data["coder"]["k"] = settings["candidates"]
    for key, path in (
        ("runPolicy", "context.run_policy"),
        ("commitPolicy", "context.commit_policy"),
        ("sandbox", "sandbox"),
    ):
        if key in settings:
            set_dotted(data, path, _snake_keys(settings[key]))
    return parse_config(data, source="vigor settings")
