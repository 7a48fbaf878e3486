"""The `context` section (prompts, parser, prefetch, policies, agent factories) and the trace_html /
generation_log sections, each seen in what a run actually does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from scripted_llm import Reply, ScriptedLLM

from engine.agents.coders.openai_coder import build_messages
from engine.agents.language.agent import LanguageAgent, ast_parse
from engine.agents.reviewer import RuleReviewer
from engine.api import Runtime
from engine.config import VigorConfig, parse_config
from engine.datasets.humaneval import load_humaneval
from engine.errors import ConfigError
from engine.runs.runner import run_items
from engine.types import Label, Task

TASK = Task(
    task_id="t/1",
    prompt="def add(a, b):\n",
    entry_point="add",
    instruction="Add two numbers.",
    suffix="print(add(1, 2))\n",
)
ANSWER = "```python\n    return a + b\n```"


def openai_config(base_url: str, **context: Any) -> VigorConfig:
    return parse_config(
        {
            "llm": {"provider": "openai", "base_url": base_url, "api_key_env": "VIGOR_TEST_KEY", "max_retries": 0},
            "coder": {"kind": "openai", "k": 2},
            "context": context,
        }
    )


def test_default_prompts_are_byte_identical_to_the_recorded_requests() -> None:
    # Record/replay caches are keyed by the request: the defaults must not drift.
    messages = build_messages(TASK, TASK.prompt, ("`x` -> exec.raised: boom",))
    assert messages[0]["content"] == (
        "You are an expert Python programmer. You continue code exactly where it stops. "
        "Answer with code only, in one ```python block."
    )
    assert messages[1]["content"] == (
        "Task: Add two numbers.\n\n"
        "Continue this Python code with the rest of the code. Do not repeat the code that is already written; "
        "start at the line after the last one.\n\n```python\ndef add(a, b):\n```\n"
        "\nThe code right after the insertion point (do not write it):\n```python\nprint(add(1, 2))\n\n```\n"
        "\nThese next lines were rejected; write something else:\n- `x` -> exec.raised: boom"
    )


def test_prompt_templates_reach_the_server(monkeypatch: pytest.MonkeyPatch, scripted_llm: ScriptedLLM) -> None:
    monkeypatch.setenv("VIGOR_TEST_KEY", "k")
    scripted_llm.responder = lambda request: Reply([ANSWER] * int(request.get("n") or 1))
    prompts = {"coder": {"system": "SYS", "task": "TODO: {instruction}", "code": "<<{prefix}>> {ask}", "suffix": ""}}
    cfg = openai_config(scripted_llm.base_url, prompts=prompts)  # the templates are the `continue` request's
    cfg = cfg.model_copy(update={"coder": cfg.coder.model_copy(update={"prompt": "continue"})})
    result = asyncio.run(_run(cfg, TASK))
    assert result.completion == "    return a + b\n"
    messages = scripted_llm.requests[0]["messages"]
    assert messages[0] == {"role": "system", "content": "SYS"}
    assert messages[1]["content"] == "TODO: Add two numbers.\n<<def add(a, b):\n>> the rest of the code\n"


async def _run(cfg: VigorConfig, task: Task) -> Any:
    async with Runtime(cfg) as rt:
        return await rt.run(task)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"context": {"prompts": {"coder": {"task": "{goal}"}}}},
            r"context\.prompts\.coder\.task: unknown placeholder \{goal\}",
        ),
        (
            {"context": {"prompts": {"coder": {"code": "{prefix"}}}},
            r"context\.prompts\.coder\.code: not a valid template",
        ),
        ({"context": {"prompts": {"tester": {}}}}, r"context\.prompts\.tester: unknown key"),
        ({"context": {"prefetch": "often"}}, r"context\.prefetch: "),
        ({"run_policy": {"max_steps": 3}}, r"run_policy: moved to context\.run_policy"),
        ({"coder": {"draft": False}}, r"coder\.draft: moved to context\.prefetch"),
        ({"output": {"trace_html": False}}, r"output\.trace_html: moved to trace_html\.enabled"),
        ({"trace_html": {"only": "some"}}, r"trace_html\.only: "),
    ],
)
def test_bad_context_keys_name_the_key_path(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_prefetch_off_asks_for_next_lines_at_every_step(
    monkeypatch: pytest.MonkeyPatch, scripted_llm: ScriptedLLM
) -> None:
    monkeypatch.setenv("VIGOR_TEST_KEY", "k")
    replies = iter(["```python\n    total = a + b\n```", "```python\n    return total\n```", "```python\n```"])
    scripted_llm.responder = lambda request: Reply([next(replies, "```python\n```")] * int(request.get("n") or 1))
    result = asyncio.run(_run(openai_config(scripted_llm.base_url, prefetch=False), TASK))
    assert result.completion == "    total = a + b\n    return total\n"
    assert all("the next line" in r["messages"][1]["content"] for r in scripted_llm.requests)
    assert len(scripted_llm.requests) == 3  # one per step: no draft carries lines forward


def test_parser_choice_reaches_the_language_agent() -> None:
    assert Runtime(parse_config({"context": {"parser": "ast"}})).agents().language._parse_fn is ast_parse
    with pytest.raises(SyntaxError):
        ast_parse("def f(:\n")
    # The ast parser labels lines like libcst does on ordinary code.
    for parse in (None, ast_parse):
        agent = LanguageAgent() if parse is None else LanguageAgent(parse=parse)
        state = agent.start("def f(x):\n")
        assert agent.classify(state, "    return x +* 1").label is Label.INVALID
        assert agent.classify(state, "    return x + 1").label is Label.EXECUTABLE
    with pytest.raises(ConfigError, match=r"context\.parser: cannot load 'nowhere\.module:parse'"):
        Runtime(parse_config({"context": {"parser": "nowhere.module:parse"}})).agents()


class CountingReviewer(RuleReviewer):
    made: list[dict[str, Any]] = []

    def __init__(self, config: VigorConfig, runtime: Runtime):
        super().__init__(max_blank_run=config.context.run_policy.max_blank_run)
        CountingReviewer.made.append(dict(config.context.agents.reviewer.options))


def test_agent_factories_by_dotted_path() -> None:
    cfg = parse_config(
        {"context": {"agents": {"reviewer": {"kind": f"{__name__}:CountingReviewer", "options": {"strict": True}}}}}
    )
    CountingReviewer.made.clear()
    agents = Runtime(cfg).agents()
    assert isinstance(agents.reviewer, CountingReviewer) and CountingReviewer.made == [{"strict": True}]
    bad = parse_config({"context": {"agents": {"evaluator": {"kind": "engine.nothing:Evaluator"}}}})
    with pytest.raises(ConfigError, match=r"context\.agents\.evaluator\.kind: cannot load"):
        Runtime(bad).agents()


def test_trace_html_only_unsolved_and_step_lines_in_the_generation_log(tmp_path: Path) -> None:
    items = [it for it in load_humaneval() if it.task.task_id in ("HumanEval/0", "HumanEval/47")]
    cfg = parse_config(
        {
            "coder": {"kind": "reference", "k": 3},
            "context": {"commit_policy": {"fallback": "none"}},
            "trace_html": {"only": "unsolved"},
        }
    )
    summary = asyncio.run(run_items(items, cfg, tmp_path / "run"))
    rows = {r["task_id"]: r for r in summary.results}
    # HumanEval/47's reference line contradicts its docstring example: with no fallback it does not solve.
    unsolved = sorted(t for t, r in rows.items() if not (r["status"] == "completed" and r["tests"].get("ok")))
    assert unsolved == ["HumanEval/47"]
    assert [p.name for p in (tmp_path / "run" / "trace_html").iterdir()] == ["HumanEval_47.html"]
    log = (tmp_path / "run" / "generation_logs" / "HumanEval_0.log").read_text()
    step_lines = [line for line in log.splitlines() if line.startswith("step ")]
    assert len(step_lines) == rows["HumanEval/0"]["steps"]
    assert step_lines[0].startswith("step 0: '    for idx, elem in enumerate(numbers):' [gates]")
    assert "rejected: " in step_lines[0] and json.loads(log.splitlines()[3].removeprefix("usage: "))["calls"] == 0
