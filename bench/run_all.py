"""Run every benchmark in turn (each prints one JSON line); record the results in docs/benchmarks.md.

Run: python bench/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_step.py", "bench_sandbox.py", "bench_parse.py", "bench_calls.py"]

if __name__ == "__main__":
    failed = 0
    for name in BENCHES:
        proc = subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent, check=False)
        failed += proc.returncode != 0
    sys.exit(1 if failed else 0)
