"""The `openai` coder: any OpenAI-compatible server (the bundled local model included).

Speculation (docs/design.md, "Speculation: drafts"): one call drafts the whole rest of the
code; its lines are offered one by one and commit without a new call while they pass the gates. When the offered draft line is
rejected, the coder asks afresh from the committed prefix: one greedy continuation (the new
draft) and k-1 sampled ones; their first lines are the step's candidates, and whichever commits
supplies the next draft. With `context.prefetch: false` every step asks for k next lines.
"""

from __future__ import annotations

import asyncio
import logging

from engine.agents.coders.base import Proposal, ProposeRequest, WholeAnswer
from engine.agents.coders.text import continuation_lines, expected_indent
from engine.config import CoderConfig, CoderPrompts, LLMConfig
from engine.llm.client import ChatResult, LLMClient
from engine.types import END, Candidate, Task, Usage

log = logging.getLogger(__name__)


def build_messages(
    task: Task,
    prefix: str,
    feedback: tuple[str, ...] = (),
    *,
    next_line_only: bool = False,
    prompts: CoderPrompts | None = None,
) -> list[dict[str, str]]:
    """The chat messages for a continuation request (never anything hidden: only the Task value)."""
    p = prompts or CoderPrompts()
    parts = []
    if task.instruction:
        parts.append(p.task.format(instruction=task.instruction.strip()))
    ask = "the next line" if next_line_only else "the rest of the code"
    parts.append(p.code.format(ask=ask, prefix=prefix))
    if task.suffix.strip():
        parts.append(p.suffix.format(suffix=task.suffix))
    if feedback:
        parts.append(p.feedback.format(rejected="\n".join(f"- {f}" for f in feedback)))
    return [{"role": "system", "content": p.system}, {"role": "user", "content": "\n".join(parts)}]


class OpenAICoder:
    """Proposes next lines from an OpenAI-compatible chat endpoint, with a speculative draft."""

    name = "openai"
    deterministic = False

    def __init__(
        self,
        coder: CoderConfig,
        llm: LLMConfig,
        client: LLMClient,
        *,
        prefetch: bool = True,
        prompts: CoderPrompts | None = None,
    ):
        self.cfg = coder
        self.llm = llm
        self.client = client
        self.prefetch = prefetch
        self.prompts = prompts or CoderPrompts()
        self._draft: list[str] = []  # lines still to offer from the live draft
        self._pending: dict[int, list[str]] = {}  # rank -> rest of that candidate's continuation

    async def propose(self, request: ProposeRequest) -> Proposal:
        if self.prefetch and self._draft and request.attempt == 0:
            text = self._draft[0]
            self._pending = {0: self._draft[1:]}
            return Proposal((Candidate(text, source="draft", rank=0, model=self.llm.model),), draft_hit=True)
        self._draft = []
        if self.prefetch:
            return await self._fresh_with_draft(request)
        return await self._next_lines(request)

    async def _fresh_with_draft(self, request: ProposeRequest) -> Proposal:
        messages = build_messages(request.task, request.prefix, request.feedback, prompts=self.prompts)
        ctx = f"{request.task.task_id} step {request.step} attempt {request.attempt}"
        greedy = self.client.chat(messages, n=1, context=ctx + " draft")
        # The first ask of a task is a zero-shot prefetch: one call, the draft alone.
        want_samples = self.cfg.k > 1 and (request.attempt > 0 or request.step > 0)
        jobs = [greedy]
        if want_samples:
            jobs.append(
                self.client.chat(
                    messages, n=self.cfg.k - 1, temperature=self.cfg.sample_temperature, context=ctx + " samples"
                )
            )
        results: list[ChatResult] = list(await asyncio.gather(*jobs))
        base = expected_indent(request.prefix)
        candidates: list[Candidate] = []
        self._pending = {}
        answers = [(t, f, "draft", self.llm.temperature) for t, f in _with_finish(results[0])]
        if want_samples:
            answers += [(t, f, "sample", self.cfg.sample_temperature) for t, f in _with_finish(results[1])]
        for answer, finish, source, temp in answers:
            lines = continuation_lines(request.prefix, answer, base_indent=base)
            if finish == "length":
                lines = lines[:-1]  # cut off mid-line: the last line may be partial, and END is unknown
                if not lines:
                    continue
            else:
                lines.append(END)  # a complete answer ends the code where it ends
            rank = len(candidates)
            self._pending[rank] = lines[1:]
            candidates.append(
                Candidate(lines[0], source=source, rank=rank, model=self.llm.model, settings={"temperature": temp})
            )
        usage = sum((r.usage for r in results), Usage())
        calls = tuple({"n": len(r.texts), **r.usage.to_dict()} for r in results)
        return Proposal(tuple(candidates), usage=usage, calls=calls)

    async def _next_lines(self, request: ProposeRequest) -> Proposal:
        messages = build_messages(
            request.task, request.prefix, request.feedback, next_line_only=True, prompts=self.prompts
        )
        temp = self.llm.temperature if self.cfg.k == 1 else self.cfg.sample_temperature
        result = await self.client.chat(
            messages,
            n=self.cfg.k,
            temperature=temp,
            max_tokens=min(self.llm.max_tokens, 128),
            context=f"{request.task.task_id} step {request.step}",
        )
        base = expected_indent(request.prefix)
        candidates = []
        for rank, answer in enumerate(result.texts):
            lines = continuation_lines(request.prefix, answer, base_indent=base)
            candidates.append(
                Candidate(
                    lines[0] if lines else END,
                    source="sample",
                    rank=rank,
                    model=self.llm.model,
                    settings={"temperature": temp},
                )
            )
        calls = ({"n": len(result.texts), **result.usage.to_dict()},)
        return Proposal(tuple(candidates), usage=result.usage, calls=calls)

    async def answer_whole(self, task: Task, prefix: str) -> WholeAnswer:
        """One request for the whole continuation, no gating (the one-shot baseline)."""
        messages = build_messages(task, prefix, prompts=self.prompts)
        result = await self.client.chat(messages, n=1, context=f"{task.task_id} oneshot")
        lines = continuation_lines(prefix, result.texts[0], base_indent=expected_indent(prefix))
        return WholeAnswer(tuple(lines), result.usage)

    def draft_ahead(self) -> list[str]:
        """The lines the live draft offers after its current line (rank 0), if that line commits."""
        return list(self._pending.get(0, [])) if self.prefetch else []

    def observe_commit(self, candidate: Candidate, prefix: str) -> None:
        """Keep the committed candidate's continuation as the live draft; drop all others."""
        self._draft = list(self._pending.get(candidate.rank, [])) if self.prefetch else []
        self._pending = {}

    async def stop_drafting(self) -> None:
        return None  # answers are read whole (streaming comes with the native drafts)

    async def aclose(self) -> None:
        await self.client.aclose()


def _with_finish(result: ChatResult) -> list[tuple[str, str]]:
    """Each choice's text with its finish reason ("length" when cut off by max_tokens)."""
    reasons = list(result.finish_reasons) + [""] * (len(result.texts) - len(result.finish_reasons))
    return list(zip(result.texts, reasons))
