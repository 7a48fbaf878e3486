"""The engine's front door: build agents from config and generate code for tasks.

`generate(task, config)` is the synchronous entry point; `Runtime` shares one sandbox, one LLM
client and (for `provider: local`) one bundled model server among many concurrent tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from engine.agents.coders.base import Coder
from engine.config import VigorConfig
from engine.loop.records import Result, StepInfo
from engine.loop.steps import Agents, run_task
from engine.plugins import load_factory
from engine.trace import TraceSink
from engine.types import Task

log = logging.getLogger(__name__)


class Runtime:
    """Resources shared by the tasks of one run: the sandbox, the LLM client, the local model."""

    def __init__(self, config: VigorConfig):
        self.config = config
        self._sandbox: Any = None
        self._client: Any = None
        self._local: Any = None
        self.base_url: str | None = None

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            from engine.execution.sandbox import Sandbox

            sb = self.config.sandbox
            self._sandbox = Sandbox(memory_mb=sb.memory_mb, cpu_s=sb.cpu_s, workers=sb.workers)
        return self._sandbox

    def _needs_local_model(self) -> bool:
        cfg = self.config.llm.for_agent("coder")
        return (
            self.config.coder.kind == "openai"
            and cfg.provider == "local"
            and cfg.base_url is None
            and cfg.cache != "replay"
        )

    async def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        """Do off the event loop what the first task would otherwise do inside it: assemble, verify and
        load the bundled model (a minute on first use). `progress` gets short messages, from a worker
        thread. Idempotent; a no-op for any other provider."""
        if self._needs_local_model():
            from engine.llm.local_model import shared_server

            server = shared_server(ctx_size=self.config.llm.for_agent("coder").ctx_size)
            await asyncio.to_thread(server.start, progress)

    def llm_client(self) -> Any:
        """The shared client for the coder (starts the bundled model on first use if configured)."""
        if self._client is None:
            from engine.llm.client import LLMClient

            cfg = self.config.llm.for_agent("coder")
            base_url = cfg.base_url
            if self._needs_local_model():
                from engine.llm.local_model import shared_server

                server = shared_server(ctx_size=cfg.ctx_size)
                base_url = server.start()
                # On a CPU a long answer from the bundled model can take minutes under load.
                cfg = cfg.model_copy(update={"model": server.model, "timeout_s": max(cfg.timeout_s, 600.0)})
            self.base_url = base_url
            self._client = LLMClient(cfg, base_url=base_url, use_n=self.config.coder.use_n)
        return self._client

    def make_coder(self) -> Coder:
        c = self.config.coder
        if c.kind == "reference":
            from engine.agents.coders.reference import ReferenceCoder

            return ReferenceCoder(k=c.k, seed=c.seed, distractors=c.distractors)
        if c.kind == "openai":
            from engine.agents.coders.judge import SandboxJudge
            from engine.agents.coders.openai_coder import OpenAICoder

            client = self.llm_client()
            ctx = self.config.context
            # repair judges drafts on the visible examples, in the run's sandbox
            judge = SandboxJudge(self.sandbox, example_timeout_s=self.config.sandbox.example_timeout_s)
            return OpenAICoder(c, client.cfg, client, prefetch=ctx.prefetch, prompts=ctx.prompts.coder, judge=judge)
        return load_factory(c.kind, "coder.kind")(self.config, self)

    def agents(self) -> Agents:
        """A fresh set of agents for one task (coders keep per-task draft state)."""
        cfg = self.config
        chosen = cfg.context.agents
        from engine.agents.evaluator import SandboxEvaluator
        from engine.agents.language.agent import LanguageAgent, parser_named
        from engine.agents.reviewer import RuleReviewer
        from engine.agents.tester import SandboxTester

        language = (
            LanguageAgent(parse=parser_named(cfg.context.parser))
            if chosen.language.kind == "default"
            else load_factory(chosen.language.kind, "context.agents.language.kind")(cfg, self)
        )
        reviewer = (
            RuleReviewer(max_blank_run=cfg.context.run_policy.max_blank_run)
            if chosen.reviewer.kind == "default"
            else load_factory(chosen.reviewer.kind, "context.agents.reviewer.kind")(cfg, self)
        )
        evaluator = (
            SandboxEvaluator(self.sandbox, example_timeout_s=cfg.sandbox.example_timeout_s)
            if chosen.evaluator.kind == "default"
            else load_factory(chosen.evaluator.kind, "context.agents.evaluator.kind")(cfg, self)
        )
        tester = SandboxTester(self.sandbox, timeout_s=cfg.sandbox.test_timeout_s)
        return Agents(coder=self.make_coder(), language=language, reviewer=reviewer, evaluator=evaluator, tester=tester)

    async def run(
        self,
        task: Task,
        *,
        trace: TraceSink | None = None,
        on_step: Callable[[StepInfo], Awaitable[None]] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> Result:
        agents = self.agents()
        if self.config.coder.mode in ("oneshot", "best_of_n"):
            from engine.loop.oneshot import run_oneshot

            return await run_oneshot(task, self.config, agents, trace=trace)
        return await run_task(task, self.config, agents, trace=trace, on_step=on_step, is_cancelled=is_cancelled)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._sandbox is not None:
            await self._sandbox.close()
            self._sandbox = None


async def agenerate(task: Task, config: VigorConfig, *, trace: TraceSink | None = None) -> Result:
    """Generate code for one task (async form; run many with asyncio.gather over one Runtime)."""
    async with Runtime(config) as rt:
        return await rt.run(task, trace=trace)


def generate(task: Task, config: VigorConfig | None = None, *, trace: TraceSink | None = None) -> Result:
    """Generate code for one task, validated line by line; usable without the CLI."""
    return asyncio.run(agenerate(task, config or VigorConfig(), trace=trace))
