"""The README's first command (configs/humaneval-local.yaml) is the native, budgeted default."""

from pathlib import Path

from engine.config import load_config

CONFIG = Path(__file__).parents[3] / "configs" / "humaneval-local.yaml"


def test_the_first_run_drafts_natively_within_its_per_task_budgets():
    cfg = load_config(CONFIG)
    assert cfg.coder.prompt == "native" and cfg.coder.mode == "guided"
    policy = cfg.context.run_policy
    assert policy.max_wall_s <= 90  # no task over 90 s: one that cannot improve stops
    assert 0 < policy.max_llm_calls <= 8
    assert cfg.dataset.limit is not None and cfg.dataset.limit <= 5
