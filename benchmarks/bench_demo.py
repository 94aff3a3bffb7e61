"""Wall time of ``easyedit-plugins demo`` with the world model cached, per thread setting.

    python benchmarks/bench_demo.py [--settings default 1 2 2-spinning] [--repeats 1] [--label idle]

Each setting runs the demo in a fresh process from the repository root (``-q``, output in a
temporary folder): ``default`` lets the command choose its thread count, ``N`` passes
``--threads N``, and ``N-spinning`` does so with ``OMP_WAIT_POLICY=ACTIVE``, the OpenMP
behaviour before the commands set ``PASSIVE``. The load average before and after each run is
recorded with it: on a shared machine it decides the outcome (target: at most 60 s on 2 cores,
idle and under load). The result file goes to ``benchmarks/results/demo[-<label>]-<date>.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import write_result

ROOT = Path(__file__).resolve().parent.parent


def _run(setting: str) -> dict[str, object]:
    env = dict(os.environ)
    argv = [sys.executable, "-m", "easyedit_plugins.cli", "-q", "demo"]
    threads, _, mode = setting.partition("-")
    if threads != "default":
        argv += ["--threads", threads]
    if mode == "spinning":
        env["OMP_WAIT_POLICY"] = "ACTIVE"
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as out:
        load_before = os.getloadavg()
        start = time.perf_counter()
        subprocess.run(argv + ["--out", out], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    return {"setting": setting, "seconds": seconds, "load_before": load_before, "load_after": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["default", "1", "2", "2-spinning"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--label", help="written into the result file's name (demo-<label>-<date>), e.g. idle or busy")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        for setting in args.settings:
            runs.append(_run(setting))
            run = runs[-1]
            print(f"{setting:<12} {run['seconds']:7.1f} s   load {run['load_before'][0]:.2f} -> {run['load_after'][0]:.2f}")
    summary = "; ".join(f"{r['setting']}: {r['seconds']:.0f} s (load {r['load_before'][0]:.1f})" for r in runs)
    summary = f"`easyedit-plugins demo`, world cached, wall time per thread setting: {summary}."
    name = f"demo-{args.label}" if args.label else "demo"
    print(f"results: {write_result(name, {'runs': runs}, summary)}")


if __name__ == "__main__":
    main()
