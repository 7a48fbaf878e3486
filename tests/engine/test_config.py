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
