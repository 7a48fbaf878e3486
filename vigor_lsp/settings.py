"""Map the editor's `vigor` settings onto a VigorConfig (the config edge: validation lives in engine.config)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine import ConfigError, VigorConfig, parse_config, set_dotted

from .params import InvalidArgument, Settings, read_settings, snake

NO_MODEL = (
    "VIGOR has no model: set `vigor.baseUrl` (and `vigor.apiKeyEnv`, the name of the environment variable "
    "holding the key) to an OpenAI-compatible server, or install the bundled model with "
    "`pip install 'vigor[local]'`."
)


class NoModelError(ConfigError):
    """No base URL and no bundled local model."""


def _snake_keys(section: Mapping[str, Any]) -> dict[str, Any]:
    return {snake(k): v for k, v in section.items()}


def to_config(settings: Settings | Mapping[str, Any], *, local_available: Callable[[], bool]) -> VigorConfig:
    """Build the engine config from editor settings; raise NoModelError when nothing can generate.

    Keys are never read from settings, only the name of the environment variable (`apiKeyEnv`).
    A settings mapping is read (and checked) as `Settings` first.
    """
    if not isinstance(settings, Settings):
        try:
            settings = read_settings(settings)
        except InvalidArgument as exc:
            raise ConfigError(str(exc)) from None
    llm: dict[str, Any] = {}
    if settings.base_url:
        llm.update(provider="openai", base_url=settings.base_url)
    elif settings.local_model and local_available():
        llm["provider"] = "local"
    else:
        raise NoModelError(NO_MODEL)
    for key in ("model", "api_key_env", "timeout_s", "max_retries", "backoff_s"):
        value = getattr(settings, key)
        if value is not None and value != "":
            llm[key] = value
    # lines land at the model's pace: a streamed draft is not held back to be judged whole first
    data: dict[str, Any] = {"llm": llm, "coder": {"kind": "openai", "judge_first": False}}
    if settings.candidates is not None:
        data["coder"]["k"] = settings.candidates
    for section, path in (
        (settings.run_policy, "context.run_policy"),
        (settings.commit_policy, "context.commit_policy"),
        (settings.sandbox, "sandbox"),
    ):
        if section is not None:
            set_dotted(data, path, _snake_keys(section))
    return parse_config(data, source="vigor settings")
