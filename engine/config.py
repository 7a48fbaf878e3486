"""Typed, validated configuration (pydantic at the edge); errors name the key path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentLLM(_Section):
    """Per-agent overrides of the shared LLM settings; unset fields inherit."""

    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, gt=0)
    seed: int | None = None


class LLMConfig(_Section):
    """Shared LLM access (DESIGN §3). `provider: local` starts the bundled model on loopback."""

    provider: Literal["local", "openai"] = "local"
    model: str = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=384, gt=0)
    seed: int | None = 0
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    backoff_s: float = Field(default=0.5, ge=0)
    cache: Literal["off", "record", "replay"] = "off"
    cache_dir: str = ".vigor/llm-cache"
    ctx_size: int = Field(default=4096, ge=2048, le=4096)
    agents: dict[str, AgentLLM] = Field(default_factory=dict)

    def for_agent(self, agent: str) -> LLMConfig:
        """The shared settings with the agent's overrides applied."""
        over = self.agents.get(agent)
        if over is None:
            return self
        return self.model_copy(update={k: v for k, v in over.model_dump().items() if v is not None})


class CoderConfig(_Section):
    """The Coder: `openai` (any OpenAI-compatible server; the local model too), `reference`, or a dotted path."""

    kind: str = "openai"
    mode: Literal["guided", "oneshot"] = "guided"
    k: int = Field(default=3, ge=1, le=32)
    draft: bool = True
    sample_temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    use_n: Literal["auto", "yes", "no"] = "auto"
    seed: int = 0
    distractors: tuple[Literal["syntax", "raises", "indent", "plausible"], ...] = (
        "syntax",
        "raises",
        "indent",
        "plausible",
    )


class AgentChoice(_Section):
    """An agent chosen by name or dotted path (`package.module:factory`)."""

    kind: str = "default"
    options: dict[str, Any] = Field(default_factory=dict)


class SandboxConfig(_Section):
    memory_mb: int = Field(default=1024, ge=64)
    cpu_s: int = Field(default=10, ge=1)
    example_timeout_s: float = Field(default=1.0, gt=0)
    test_timeout_s: float = Field(default=10.0, gt=0)
    workers: int = Field(default=1, ge=1, le=16)


class RunPolicy(_Section):
    """When a generation stops (DESIGN §1, Termination)."""

    max_steps: int = Field(default=80, ge=1)
    max_lines: int = Field(default=60, ge=1)
    max_llm_calls: int = Field(default=40, ge=0)
    max_tokens: int = Field(default=40_000, ge=0)
    max_wall_s: float = Field(default=300.0, gt=0)
    max_blank_run: int = Field(default=2, ge=0)


class CommitPolicy(_Section):
    """What the Commit agent does, including when nothing passes."""

    reask: int = Field(default=2, ge=0)
    fallback: Literal["none", "exec_only"] = "exec_only"
    prefer_draft: bool = True


class DatasetConfig(_Section):
    kind: str = "humaneval"
    path: str | None = None
    # For `kind: jsonl`: role -> field name (roles: id, prompt, entry_point, instruction, tests,
    # hidden_tests, reference); unmapped roles use the role's own name.
    fields: dict[str, str] = Field(default_factory=dict)
    tasks: tuple[str, ...] = ()
    limit: int | None = Field(default=None, ge=1)


class RunnerConfig(_Section):
    concurrency: int = Field(default=4, ge=1, le=256)
    resume: bool = False


class OutputConfig(_Section):
    dir: str = "runs"
    name: str | None = None
    trace_html: bool = True
    generation_log: bool = True


class VigorConfig(_Section):
    """The whole configuration of a run."""

    llm: LLMConfig = Field(default_factory=LLMConfig)
    coder: CoderConfig = Field(default_factory=CoderConfig)
    language: AgentChoice = Field(default_factory=AgentChoice)
    reviewer: AgentChoice = Field(default_factory=AgentChoice)
    evaluator: AgentChoice = Field(default_factory=AgentChoice)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    run_policy: RunPolicy = Field(default_factory=RunPolicy)
    commit_policy: CommitPolicy = Field(default_factory=CommitPolicy)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for manifests (holds no secrets: keys are only ever named, never stored)."""
        return json.loads(self.model_dump_json())

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.snapshot(), sort_keys=True).encode()).hexdigest()[:16]


def _describe(err: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in err["loc"]) or "<root>"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    got = err.get("input")
    got_s = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"{path}: {err['msg'].lower()}{got_s}"


def parse_config(data: dict[str, Any] | None, *, source: str = "config") -> VigorConfig:
    """Validate a mapping into a VigorConfig; the first problem becomes a one-line ConfigError."""
    try:
        return VigorConfig.model_validate(data or {})
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{more}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> VigorConfig:
    """Read a YAML config file, apply dotted-key overrides, validate."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}:{where} not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections")
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return parse_config(data, source=str(p))


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set `a.b.c` in a nested dict, creating sections as needed."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{key}: {part} is not a section")
        node = nxt
    node[parts[-1]] = value
