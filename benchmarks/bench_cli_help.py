"""``easyedit-plugins --help`` against ``python -c "import torch, transformers"``, in one run.

The CLI imports torch and transformers only inside the command that runs, so ``--help`` (of the
program and of every command) should cost a small fraction of importing them; the target is at
most 0.2x. Each command runs in a fresh interpreter, interleaved, best of ``--repeats``; the
result file goes to ``benchmarks/results/cli-help-<date>.json``.

    python benchmarks/bench_cli_help.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from results_file import write_result

#: The CLI runs from the repository root, so ``-m easyedit_plugins.cli`` is this checkout's.
ROOT = Path(__file__).resolve().parent.parent

#: The baseline: what ``--help`` took when the CLI imported everything first.
BASELINE = [sys.executable, "-c", "import torch, transformers"]
COMMANDS = ("demo", "plugins", "world", "stats", "ruleedit", "lga")


def _helps() -> dict[str, list[str]]:
    runs = {"easyedit-plugins --help": [sys.executable, "-m", "easyedit_plugins.cli", "--help"]}
    for command in COMMANDS:
        runs[f"easyedit-plugins {command} --help"] = [sys.executable, "-m", "easyedit_plugins.cli", command, "--help"]
    return runs


def _seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best of each is kept")
    args = parser.parse_args()
    runs = {"import torch, transformers": BASELINE, **_helps()}
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeats):
        for name, argv in runs.items():
            best[name] = min(best[name], _seconds(argv))
    baseline = best["import torch, transformers"]
    ratios = {name: seconds / baseline for name, seconds in best.items() if name != "import torch, transformers"}
    for name, seconds in best.items():
        ratio = f"  {ratios[name]:.3f}x" if name in ratios else ""
        print(f"{name:<36} {seconds:7.3f} s{ratio}")
    worst = max(ratios.values())
    summary = (f"`--help` of the program and of every command took at most {worst:.3f}x the time of "
               f"`python -c \"import torch, transformers\"` ({baseline:.2f} s), best of {args.repeats}.")
    print(summary)
    path = write_result("cli-help", {"repeats": args.repeats, "seconds": best, "ratio_to_import": ratios,
                                     "worst_ratio": worst, "target": 0.2}, summary)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
