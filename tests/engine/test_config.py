import pytest

from engine.config import load_config, parse_config
from engine.errors import ConfigError


def test_unknown_key_names_its_path():
    with pytest.raises(ConfigError, match=r"coder\.kk: unknown key"):
        parse_config({"coder": {"kk": 3}})


def test_wrong_type_names_path_and_value():
    with pytest.raises(ConfigError, match=r"context\.run_policy\.max_steps: .*'many'"):
        parse_config({"context": {"run_policy": {"max_steps": "many"}}})


def test_yaml_file_and_dotted_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("coder:\n  kind: reference\n")
    cfg = load_config(p, {"coder.k": 2, "dataset.limit": 3})
    assert (cfg.coder.kind, cfg.coder.k, cfg.dataset.limit) == ("reference", 2, 3)


def test_missing_file_and_bad_yaml_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("coder: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_per_agent_llm_overrides_inherit_the_rest():
    cfg = parse_config({"llm": {"model": "m", "temperature": 0.2, "agents": {"coder": {"temperature": 0.9}}}})
    coder = cfg.llm.for_agent("coder")
    assert (coder.model, coder.temperature) == ("m", 0.9)
    assert cfg.llm.for_agent("reviewer").temperature == 0.2


def test_snapshot_holds_no_key_values(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-supersecret-value-123456")
    snap = str(parse_config({"llm": {"provider": "openai"}}).snapshot())
    assert "sk-supersecret" not in snap and "OPENAI_API_KEY" in snap


def test_runner_example_documents_every_key_and_validates():
    from pathlib import Path

    import yaml

    from engine.config import VigorConfig

    example = yaml.safe_load((Path(__file__).parents[2] / "configs" / "runner.example.yaml").read_text())

    def walk(defaults: dict, documented: dict, path: str) -> None:
        for key, value in defaults.items():
            assert key in documented, f"{path}{key} is not documented"
            if isinstance(value, dict) and value:  # a section (an empty mapping is a free-form value)
                walk(value, documented[key], f"{path}{key}.")

    walk(VigorConfig().model_dump(), example, "")
    assert parse_config(example) == VigorConfig(), "the example shows the defaults"


def test_unknown_key_suggests_the_nearest_known_key():
    with pytest.raises(
        ConfigError,
        match=r"context\.run_policy\.max_step: unknown key \(did you mean context\.run_policy\.max_steps\?\)",
    ):
        parse_config({"context": {"run_policy": {"max_step": 3}}})
    with pytest.raises(
        ConfigError, match=r"llm\.agents\.coder\.temprature: .*did you mean llm\.agents\.coder\.temperature"
    ):
        parse_config({"llm": {"agents": {"coder": {"temprature": 0.5}}}})


def test_unknown_key_far_from_any_known_key_gets_no_suggestion():
    with pytest.raises(ConfigError) as info:
        parse_config({"coder": {"zzzzzz": 1}})
    assert "did you mean" not in str(info.value)


def test_error_in_a_set_value_names_the_set_not_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("coder:\n  kind: reference\n")
    with pytest.raises(ConfigError) as info:
        load_config(p, {"coder.k": "abc"})
    assert str(info.value).startswith("--set coder.k: ") and str(p) not in str(info.value)
    with pytest.raises(ConfigError, match=r"^--set coder\.kk: unknown key \(did you mean coder\.k\?\)"):
        load_config(p, {"coder.kk": 1})
    with pytest.raises(ConfigError, match=r"^--limit: dataset\.limit"):
        load_config(p, {"dataset.limit": 0}, origins={"dataset.limit": "--limit"})


def test_error_in_the_file_still_names_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("coder:\n  k: many\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: coder\.k"):
        load_config(p, {"dataset.limit": 2})


def test_start_rounds_beyond_what_evidence_seeds_allow_names_the_key():
    assert parse_config({"coder": {"start_rounds": 7}}).coder.start_rounds == 7  # plain samples: any number
    with pytest.raises(ConfigError, match=r"coder\.start_rounds: at most 3 with coder\.start_evidence"):
        parse_config({"coder": {"start_evidence": True, "start_rounds": 4}})
