"""The `openai` coder: any OpenAI-compatible server (the bundled local model included).

Drafting (docs/design.md, "Speculation: drafts"): one request drafts the whole rest of the code,
in the form the model is best asked (`coder.prompt`, engine/agents/coders/drafts.py; native by default). Its lines are offered
one by one and commit without a new call while they pass the gates.

Repair, forward-only: when the greedy draft's predicted final code fails a visible example, or a
line was rejected, the coder asks for `k` alternatives from the committed prefix (the greedy
answer and k-1 seeded samples, each request carrying the evidence: the example call, expected and
observed value or exception, the rejected line). Each alternative that reaches its end is judged
on the visible examples; the step's candidates are the alternatives' first lines, best final code
first, and the one that commits supplies the next draft. Alternatives whose first line repeats a
rejected line are dropped; when none is left the coder says so (`exhausted`) and stops asking.
With `context.prefetch: false` every step asks for k next lines (the old request).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

from engine.agents.coders.base import Proposal, ProposeRequest, WholeAnswer
from engine.agents.coders.continue_request import build_messages
from engine.agents.coders.drafts import Draft, DraftStyle
from engine.agents.coders.judge import DraftJudge, Judgement, comparable_examples
from engine.agents.coders.native import NATIVE_MAX_TOKENS, native_messages
from engine.agents.coders.sanitize import sanitize
from engine.agents.coders.streaming import LiveDraft
from engine.agents.coders.styles import make_style
from engine.agents.coders.text import continuation_lines, expected_indent
from engine.config import CoderConfig, CoderPrompts, LLMConfig
from engine.llm.client import LLMClient
from engine.types import END, Candidate, Task, Usage

log = logging.getLogger(__name__)

_REJECTED = re.compile(r"^`(.*)` -> ")


def final_code(prefix: str, draft: Draft) -> str | None:
    """The program a complete draft predicts (prefix + its lines), None for an unfinished one."""
    if not draft.complete:
        return None
    return prefix + "".join(line + "\n" for line in draft.lines)


def _where(request: ProposeRequest) -> str:
    """How a request is named in errors (a replay miss names the task and the step)."""
    return f"{request.task.task_id} step {request.step}"


def first_line(draft: Draft) -> str | None:
    """The line a draft offers first: its first line, END for a complete empty one, else None."""
    if draft.lines:
        return draft.lines[0]
    return END if draft.complete else None


def _affordable(request: ProposeRequest, want: int, spent: int, deadline: float | None) -> int:
    """How many of `want` samples the Run Policy still allows, `spent` calls into this proposal
    (each sample counted as a call, as `use_n: no` sends them); none past the deadline."""
    if deadline is not None and time.monotonic() >= deadline:
        return 0
    if request.calls_left is not None:
        want = min(want, request.calls_left - spent)
    return max(0, want)


def _best_verdict(judged: list[tuple[Draft, Judgement | None]]) -> Judgement | None:
    """The judged alternatives' best verdict (most visible examples passed); None if none was judged."""
    verdicts = [v for _, v in judged if v is not None]
    return max(verdicts, key=lambda v: v.passed) if verdicts else None


def rejected_lines(feedback: tuple[str, ...]) -> set[str]:
    """The rejected lines named in re-ask feedback ("`line` -> reason: detail")."""
    return {m.group(1).strip() for f in feedback if (m := _REJECTED.match(f))}


class OpenAICoder:
    """Proposes next lines from an OpenAI-compatible server, with a speculative draft and repair."""

    name = "openai"
    deterministic = False
    keeps_to_calls_left = True  # with no call left it offers only its draft's lines

    def __init__(
        self,
        coder: CoderConfig,
        llm: LLMConfig,
        client: LLMClient,
        *,
        prefetch: bool = True,
        prompts: CoderPrompts | None = None,
        judge: DraftJudge | None = None,
        style: DraftStyle | None = None,
    ):
        self.cfg = coder
        self.llm = llm
        self.client = client
        self.prefetch = prefetch
        self.prompts = prompts or CoderPrompts()
        self.judge = judge
        self.style = style or make_style(coder.prompt, client, llm, self.prompts)
        self._draft: list[str] = []  # lines still to offer from the live draft
        self._pending: dict[int, list[str]] = {}  # rank -> that candidate's line and its continuation
        self._evidence: tuple[str, ...] = ()  # what the live draft's final code got wrong
        self._rejected: dict[str, set[str]] = {}  # prefix -> lines rejected there
        self._exhausted: set[str] = set()  # prefixes where alternatives only repeat rejected lines
        self._evidence_of: dict[int, tuple[str, ...]] = {}  # rank -> its final code's evidence
        self._live: LiveDraft | None = None  # the greedy draft being streamed (coder.stream)
        self._unbilled = Usage()  # tokens of a streamed draft dropped before its end was counted

    async def propose(self, request: ProposeRequest) -> Proposal:
        if self._live is not None:
            if request.attempt == 0:
                return await self._from_live(request)
            await self._drop_live()  # its line was rejected: repair below, from the committed prefix
        if self.prefetch and self._draft and request.attempt == 0:
            text = self._draft[0]
            self._pending = {0: list(self._draft)}
            return Proposal((Candidate(text, source="draft", rank=0, model=self.llm.model),), draft_hit=True)
        self._draft = []
        if not _affordable(request, 1, 0, None):  # every line from here needs a call, and none is left
            return Proposal((), usage=self._take_unbilled(), out_of_calls=True)
        if not self.prefetch:
            return await self._next_lines(request)
        rejected = self._rejected.setdefault(request.prefix, set())
        rejected |= rejected_lines(request.feedback)
        if request.prefix in self._exhausted:
            return Proposal((), exhausted=True)
        if request.attempt == 0:
            return await self._fresh(request)
        return await self._repair(request, request.feedback + self._evidence, self._take_unbilled(), [])

    async def _fresh(self, request: ProposeRequest) -> Proposal:
        """The greedy draft alone when its final code passes the visible examples (or nothing can
        judge it); otherwise repair with its evidence, the greedy draft among the alternatives."""
        if self.cfg.stream:
            return await self._fresh_streamed(request)
        got = await self.style.drafts(
            request.task,
            request.prefix,
            n=1,
            temperature=self.llm.temperature,
            seed=None,
            evidence=(),
            where=_where(request),
        )
        greedy = got.drafts[0] if got.drafts else None
        verdict = await self._judge(request, greedy)
        if greedy is None or verdict is None or verdict.all_pass or self.cfg.k < 2:
            self._evidence = verdict.evidence if verdict else ()
            return self._offer(request, [(greedy, verdict)] if greedy else [], got.usage, got.calls)
        return await self._repair(request, verdict.evidence, got.usage, [(greedy, verdict)], calls=got.calls)

    async def _repair(
        self,
        request: ProposeRequest,
        evidence: tuple[str, ...],
        usage: Usage,
        judged: list[tuple[Draft, Judgement | None]],
        calls: tuple[dict, ...] = (),
    ) -> Proposal:
        """k alternatives from the committed prefix, each judged ahead; before the first line, up to
        `start_rounds` batches while none passes every visible example (docs/drafting.md, "Repair").
        The evidence goes with them, except to the plain samples before the first line."""
        n = self.cfg.k - len(judged)
        seed = self.cfg.seed + 1000 * request.step + 100 * request.attempt
        rounds = self.cfg.start_rounds if request.step == 0 else 1
        # before the first line, plain samples: the request best-of-n samples, seeded seed+1, +2, ...
        plain = request.step == 0 and request.attempt == 0 and not self.cfg.start_evidence
        deadline = None if request.seconds_left is None else time.monotonic() + request.seconds_left
        asked, sampled = evidence, 0
        for round_ in range(rounds):
            want = _affordable(request, n if round_ == 0 else self.cfg.k - 1, usage.calls, deadline if round_ else None)
            if want <= 0:
                break
            got = await self.style.drafts(
                request.task,
                request.prefix,
                n=want,
                temperature=self.cfg.sample_temperature,
                seed=self.cfg.seed + 1 + sampled if plain else seed + 32 * round_,
                evidence=() if plain else asked[:4],
                where=_where(request),
            )
            sampled += want
            usage, calls = usage + got.usage, calls + got.calls
            for draft in got.drafts:
                judged.append((draft, await self._judge(request, draft)))
            best = _best_verdict(judged)
            if best is None or best.all_pass or not got.drafts:
                break
            asked = best.evidence or asked  # the next round hears what the best alternative got wrong
        rejected = self._rejected.get(request.prefix, set())
        fresh = [(d, v) for d, v in judged if (first := first_line(d)) is not None and first.strip() not in rejected]
        proposal = self._offer(request, fresh, usage, calls, repair=evidence)
        if not fresh and judged and request.attempt > 0:
            self._exhausted.add(request.prefix)  # the model only repeats what was rejected: stop asking
            return replace(proposal, exhausted=True)
        return proposal

    async def _fresh_streamed(self, request: ProposeRequest) -> Proposal:
        """The greedy draft read as the model writes it (docs/engine.md, "Streaming"): its first line
        is offered as soon as it is written; its final code is judged when the answer has ended."""
        draft = await self.style.stream(
            request.task,
            request.prefix,
            temperature=self.llm.temperature,
            seed=None,
            evidence=(),
            where=_where(request),
        )
        self._live = LiveDraft(draft)
        self._pending, self._evidence = {}, ()
        return await self._from_live(request, opened=True)

    async def _from_live(self, request: ProposeRequest, *, opened: bool = False) -> Proposal:
        """The streamed draft's line on offer (END once a complete draft is used up). When the answer
        is seen to have ended its tokens are counted and the rest of the draft is judged like a whole
        draft: a failing one is repaired from the committed prefix, the rest among the alternatives."""
        live = self._live
        assert live is not None
        usage, calls = self._take_unbilled(), ()
        if opened:
            usage = usage + Usage(calls=1)
            calls = ({"n": 1, "stream": "opened", "temperature": self.llm.temperature},)
        waited = opened and self._judges_first(request)
        if waited:
            await live.draft.wait_end(raising=False)  # the whole draft, judged below before its first line is offered
        line = await live.offer()
        if not live.settled and await live.draft.end_seen(live.index, waited=waited):
            live.settled = True
            spent = live.draft.stream.usage
            usage = usage + Usage(0, spent.prompt_tokens, spent.completion_tokens, spent.latency_s)
            # when the model wrote each line and the loop got it (wall clock: volatile, like durations)
            facts = {"stream": "ended", "lines": len(live.draft.lines), "timings": live.draft.timing()}
            calls = (*calls, {**facts, **Usage(0, spent.prompt_tokens, spent.completion_tokens).to_dict()})
            rest = [text for text in live.rest() if text != END]
            greedy = Draft(tuple(rest), live.draft.complete, "draft", self.llm.temperature, None, live.draft.ended_by)
            verdict = await self._judge(request, greedy)
            self._evidence = verdict.evidence if verdict else ()
            if rest and verdict is not None and not verdict.all_pass and self.cfg.k >= 2:
                self._live = None  # the answer has ended: nothing to close
                return await self._repair(request, verdict.evidence, usage, [(greedy, verdict)], calls=calls)
        if line is None and opened:  # an answer with no line at all: as an empty whole draft would
            await self._drop_live()
            return self._offer(request, [], usage, calls)
        if line is None:  # the draft ran out without ending the code (cut off, diverged): ask afresh
            await self._drop_live()
            if not _affordable(request, 1, usage.calls, None):  # asking afresh needs a call
                return Proposal((), usage=usage + self._take_unbilled(), calls=calls, out_of_calls=True)
            fresh = await self._fresh(request)
            return replace(fresh, usage=usage + fresh.usage, calls=calls + fresh.calls)
        settings = {"temperature": self.llm.temperature} if opened else {}
        candidate = Candidate(line, source="draft", rank=0, model=self.llm.model, settings=settings)
        return Proposal((candidate,), usage=usage, draft_hit=not opened, calls=calls)

    def _judges_first(self, request: ProposeRequest) -> bool:
        """Whether a streamed draft waits for its end to be judged before its first line is offered."""
        return self.cfg.judge_first and self.judge is not None and bool(comparable_examples(request.task))

    async def _drop_live(self) -> None:
        """Close the streamed draft (the model stops writing it); tokens not yet counted are billed
        to the next proposal."""
        live, self._live = self._live, None
        if live is None:
            return
        await live.close()
        if not live.settled:
            spent = live.draft.stream.usage
            self._unbilled = self._unbilled + Usage(0, spent.prompt_tokens, spent.completion_tokens, spent.latency_s)

    def _take_unbilled(self) -> Usage:
        usage, self._unbilled = self._unbilled, Usage()
        return usage

    async def _judge(self, request: ProposeRequest, draft: Draft | None) -> Judgement | None:
        return await self._judge_code(request.task, request.prefix, draft)

    def _offer(
        self,
        request: ProposeRequest,
        judged: list[tuple[Draft, Judgement | None]],
        usage: Usage,
        calls: tuple[dict, ...],
        repair: tuple[str, ...] = (),
    ) -> Proposal:
        """Candidates from the drafts' first lines: best final code first (more visible examples
        passed; unjudged after judged ones), then the greedy draft, then the order asked."""

        def score(item: tuple[int, tuple[Draft, Judgement | None]]) -> tuple[int, int, int]:
            i, (draft, verdict) = item
            passed = verdict.passed if verdict is not None else -1
            return (-passed, 0 if draft.source == "draft" else 1, i)

        ordered = [pair for _, pair in sorted(enumerate(judged), key=score)]
        candidates: list[Candidate] = []
        self._pending = {}
        evidence_of: dict[int, tuple[str, ...]] = {}
        for draft, verdict in ordered:
            lines = list(draft.lines) + ([END] if draft.complete else [])
            if not lines:
                continue
            rank = len(candidates)
            self._pending[rank] = lines
            evidence_of[rank] = verdict.evidence if verdict else ()
            settings: dict = {"temperature": draft.temperature}
            if draft.seed is not None:
                settings["seed"] = draft.seed
            if verdict is not None:
                settings["final_passed"] = verdict.passed
                settings["final_examples"] = verdict.total
                if verdict.evidence:
                    settings["evidence"] = verdict.evidence[0]
            if repair:
                settings["repair"] = True
                settings["trigger"] = repair[0]  # the evidence that asked for this repair
            source = "draft" if rank == 0 else "sample"
            candidates.append(Candidate(lines[0], source=source, rank=rank, model=self.llm.model, settings=settings))
        self._evidence_of = evidence_of
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
        """The one-shot baseline's single request: native (what a user gets by asking the model
        directly, sanitised as evalplus does) or the coder's own prompt style (e.g. `continue`)."""
        if self.cfg.prompt != "native":
            got = await self.style.drafts(task, prefix, n=1, temperature=self.llm.temperature, seed=None, evidence=())
            return WholeAnswer(got.drafts[0].lines if got.drafts else (), got.usage)
        result = await self.client.chat(
            native_messages(task, prefix), n=1, max_tokens=NATIVE_MAX_TOKENS, context=f"{task.task_id} oneshot"
        )
        return WholeAnswer(oneshot_lines(task, prefix, result.texts[0]), result.usage)

    async def answer_best_of(self, task: Task, prefix: str) -> WholeAnswer:
        """Best-of-n, the first thing a researcher would try: the greedy draft, then seeded samples
        (the same request at `sample_temperature`), each judged on the visible examples; the first
        that passes them all is the answer, else the greedy one. At most `best_of` answers, and no
        new batch once `best_of_tokens` completion tokens are spent."""
        got = await self.style.drafts(task, prefix, n=1, temperature=self.llm.temperature, seed=None, evidence=())
        usage = got.usage
        greedy = got.drafts[0] if got.drafts else None
        verdict = await self._judge_code(task, prefix, greedy)
        chosen = greedy if verdict is not None and verdict.all_pass else None
        tried = 1
        budget = self.cfg.best_of_tokens
        while chosen is None and verdict is not None and tried < self.cfg.best_of:
            if budget and usage.completion_tokens >= budget:
                break
            n = min(self.cfg.k, self.cfg.best_of - tried)
            got = await self.style.drafts(
                task, prefix, n=n, temperature=self.cfg.sample_temperature, seed=self.cfg.seed + tried, evidence=()
            )
            usage = usage + got.usage
            tried += n
            for draft in got.drafts:
                judged = await self._judge_code(task, prefix, draft)
                if judged is not None and judged.all_pass:
                    chosen = draft
                    break
        pick = chosen or greedy
        return WholeAnswer(pick.lines if pick is not None else (), usage)

    async def _judge_code(self, task: Task, prefix: str, draft: Draft | None) -> Judgement | None:
        code = final_code(prefix, draft) if draft is not None else None
        if code is None or self.judge is None:
            return None
        return await self.judge.judge(code, task)

    def draft_ahead(self) -> list[str]:
        """The lines the live draft offers after its current line (rank 0), if that line commits."""
        if self._live is not None:
            return self._live.ahead()  # a streamed draft: the lines written so far
        return self._pending.get(0, [])[1:] if self.prefetch else []

    def observe_commit(self, candidate: Candidate, prefix: str) -> None:
        """Keep the committed candidate's continuation as the live draft; drop all others."""
        if self._live is not None:  # while a draft streams, its line is the only one offered
            self._live.advance()
            self._pending = {}
            return
        # a fallback may commit a line offered by an earlier ask of the step: its continuation is gone
        offered = self._pending.get(candidate.rank)
        mine = offered is not None and offered[0].rstrip() == candidate.text.rstrip()  # the loop strips lines
        self._draft = offered[1:] if offered is not None and self.prefetch and mine else []
        self._evidence = self._evidence_of.get(candidate.rank, ()) if mine else ()
        self._pending = {}

    async def stop_drafting(self) -> Usage:
        """Close the streamed draft, if one is still being read (the task ended or was cancelled);
        the tokens streamed answers spent that no proposal counted yet."""
        await self._drop_live()
        return self._take_unbilled()

    async def aclose(self) -> None:
        await self.client.aclose()


def oneshot_lines(task: Task, prefix: str, answer: str) -> tuple[str, ...]:
    """The lines a sanitised native answer adds after the prompt.

    A reply that defines the entry point is kept whole after the prompt (the later definition wins,
    the prompt's imports and helpers stay in scope), as the official harnesses run a sanitised
    answer; a reply that only continues the body is read as a continuation."""
    code = sanitize(answer, task.entry_point or None)
    if code.strip() and (not task.entry_point or re.search(rf"def\s+{re.escape(task.entry_point)}\s*\(", code)):
        return ("", "", *code.rstrip("\n").split("\n"))
    return tuple(continuation_lines(prefix, answer, base_indent=expected_indent(prefix)))
