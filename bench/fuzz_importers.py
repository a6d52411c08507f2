"""Every importer fuzzed with 10,000 generated files each: the issue-9 figure.

Runs the hypothesis tests in tests/core/test_fuzz_importers.py (suite CSV, suite
JSONL, rulebook YAML/JSON, settings TOML) at WHYLAB_FUZZ_SLOW_EXAMPLES cases per
importer (default 10,000; `make test` runs 300 and, in its slow set, 2,000) and
prints each importer's outcome and time. A crash is any exception other than a
clean `UserError` naming the file; hypothesis shrinks it and pytest prints it.

    .venv/bin/python bench/fuzz_importers.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run the slow fuzz tests at the chosen count and print one line per importer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    env = {**os.environ, "WHYLAB_FUZZ_SLOW_EXAMPLES": str(args.cases)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        "slow",
        "-p",
        "no:cacheprovider",
        "--durations=0",
        "--durations-min=0",
        "-k",
        f"{args.cases}_cases",
        str(ROOT / "tests" / "core" / "test_fuzz_importers.py"),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    timings = re.findall(r"([\d.]+)s call\s+\S+::(test_\w+)\[", done.stdout)
    for seconds, name in timings:
        print(f"{name:45s} {args.cases:,} cases  {float(seconds):7.1f} s")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    print(summary)
    print("0 crashes" if done.returncode == 0 else "CRASHES: see pytest's output above")
    if done.returncode != 0:
        print(done.stdout[-8000:])
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
