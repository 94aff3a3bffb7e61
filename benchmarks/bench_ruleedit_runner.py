"""Time per rule of the RuleEdit runner (one model, edited weights restored after every rule)
against reloading the model for every rule, as the DMLE authors' ``run_new.py`` does.

    python benchmarks/bench_ruleedit_runner.py [--rules 4] [--arch gpt2] [--width 64] [--layers 4]
                                               [--repeats 1] [--threads 1]

Both modes run DMLE (``hparams/DMLE/tiny-<arch>.yaml``) on the same invented rules in the
RuleEdit-200 layout, with the same tiny random-weight model saved to disk, in the same process:

* ``restore``: :func:`run_ruleedit` end to end, model loaded once; its wall time (loading
  included) divided by the number of rules;
* ``reload``: for every rule, the model loaded from disk, then the same per-rule steps
  (:class:`RuleProcessor`: evaluate, edit, evaluate, restore).

Covariance statistics are computed once, before anything is timed. A reloaded model is a new
object, so it also loses the per-model caches (context templates, C0 held in memory) and pays
for them again; EasyEdit keeps both in process-wide globals, so the authors' runner does not.
The breakdown per phase shows how much of the difference that is. Prints seconds per rule for
both modes and their ratio (reload / restore).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from statistics import fmean
from typing import Any

import torch

from easyedit_plugins.data import load_ruleedit
from easyedit_plugins.runners import EvaluationSettings, RuleProcessor, load_method_hparams, load_model, run_ruleedit
from easyedit_plugins.runners.restore import parameter_checksums
from easyedit_plugins.testing import save_tiny_model
from easyedit_plugins.world.tokenizer import training_corpus
from results_file import write_result

HPARAMS_DIR = Path(__file__).resolve().parents[1] / "hparams" / "DMLE"


def rule_files(n: int) -> dict[str, Any]:
    """An invented rule ("the weight of blend<n> is the sum of its parts") in the RuleEdit layout."""
    subject = f"blend{n}"
    formula_prompt, description_prompt = f"The formula of a {subject}", f"The weight of a {subject} is"
    locality = {"neighborhood": {"prompt": [f"The colour of a {subject} is", f"A {subject} is"],
                                 "ground_truth": ["grey.", "small."]},
                "distracting": {"prompt": ["The sky is", "A square has area"], "ground_truth": ["blue.", "s^2."]}}
    instance = {"prompt": [f"A {subject} of 2 and 5 weighs", f"A {subject} of 6 and 1 weighs"], "target_new": ["7", "7"]}

    def case(case_id: int, prompt: str, target: str, other_prompt: str, other_target: str) -> dict[str, Any]:
        return {"case_id": case_id, "subject": subject, "rule": f"weight of {subject}", "prompt": prompt,
                "target_new": target, "ground_truth": ["p * q."], "rephrase_prompt": f"Say how a {subject} is weighed:",
                "Rule_Understanding": {"prompt": other_prompt, "target_new": other_target, "ground_truth": ["p * q."]},
                "Instance": instance, "locality": locality}

    return {
        "f_d.json": [case(0, formula_prompt, "W = p + q.", description_prompt, "the sum of its parts."),
                     case(1, description_prompt, "the sum of its parts.", formula_prompt, "W = p + q.")],
        "ins.json": [{"case_id": 0, "subject": subject, "rule": f"weight of {subject}",
                      "prompt": f"A {subject} of 3 and 4 weighs", "target_new": "W = 3 + 4 = 7.",
                      "rephrase_prompt": f"The weight of a {subject} of 3 and 4 is",
                      "Rule_Understanding": {"prompt": [formula_prompt, description_prompt],
                                             "target_new": ["W = p + q.", "the sum of its parts."],
                                             "ground_truth": ["p * q.", "the product."]},
                      "Instance": instance, "locality": locality}],
    }


def write_fixture(root: Path, rules: int) -> Path:
    for n in range(rules):
        (root / str(n)).mkdir(parents=True)
        for name, content in rule_files(n).items():
            (root / str(n) / name).write_text(json.dumps(content), encoding="utf-8")
    return root


def restore_mode(hparams_path: Path, data: Path, out: Path, overrides: dict[str, Any]) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    report = run_ruleedit(hparams_path, data, out, method_kwargs=overrides, show_progress=False)
    seconds = time.perf_counter() - start
    if report.failed:
        raise RuntimeError(f"rules failed: {report.failed}")
    phases = {phase: fmean(t[phase] for t in report.seconds.values()) for phase in next(iter(report.seconds.values()))}
    return seconds / len(report.computed), phases


def reload_mode(hparams_path: Path, data: Path, overrides: dict[str, Any]) -> tuple[float, dict[str, float]]:
    method, hparams = load_method_hparams(hparams_path, overrides)
    processor = RuleProcessor(method, hparams, EvaluationSettings())
    rules = list(load_ruleedit(data))
    per_rule: list[dict[str, float]] = []
    start = time.perf_counter()
    for rule in rules:
        load_start = time.perf_counter()
        model, tok = load_model(hparams)
        reference = parameter_checksums(model)
        load_seconds = time.perf_counter() - load_start
        result = processor.process(model, tok, rule, reference)
        per_rule.append({"load": load_seconds, **result.seconds})
        del model
    seconds = time.perf_counter() - start
    return seconds / len(rules), {phase: fmean(t[phase] for t in per_rule) for phase in per_rule[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=4, help="invented rules in the fixture")
    parser.add_argument("--arch", default="gpt2", choices=("gpt2", "gptj", "llama"))
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="v_num_grad_steps")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of both modes; the best is kept")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench-ruleedit-") as scratch:
        root = Path(scratch)
        data = write_fixture(root / "data", args.rules)
        corpus = root / "corpus.txt"
        corpus.write_text("\n".join(training_corpus() * 3), encoding="utf-8")
        model_dir = save_tiny_model(args.arch, root / "models", width=args.width, layers=args.layers)
        size = sum(path.stat().st_size for path in model_dir.iterdir())
        hparams_path = HPARAMS_DIR / f"tiny-{args.arch}.yaml"
        overrides = {"model_name": str(model_dir), "stats_dir": str(root / "stats"), "stats_corpus": str(corpus),
                     "v_num_grad_steps": args.steps}
        run_ruleedit(hparams_path, data, root / "warm-up", method_kwargs=overrides, rule_ids=["0"], show_progress=False)

        best: dict[str, tuple[float, dict[str, float]]] = {}
        for round_ in range(args.repeats):
            measured = {
                "restore": restore_mode(hparams_path, data, root / f"restore-{round_}", overrides),
                "reload": reload_mode(hparams_path, data, overrides),
            }
            for mode, value in measured.items():
                if mode not in best or value[0] < best[mode][0]:
                    best[mode] = value

    print(f"DMLE on a tiny {args.arch} (width {args.width}, {args.layers} layers, {size / 2**20:.1f} MiB on disk), "
          f"{args.rules} rules, {args.threads} thread(s), best of {args.repeats}")
    for mode, (per_rule, phases) in best.items():
        breakdown = ", ".join(f"{phase} {value:.3f}" for phase, value in phases.items())
        print(f"  {mode:8s} {per_rule:7.3f} s/rule   ({breakdown})")
    ratio = best["reload"][0] / best["restore"][0]
    print(f"  ratio reload / restore: {ratio:.2f}x")
    summary = (f"DMLE on a tiny {args.arch} ({args.rules} rules): reloading the model for every rule took {ratio:.2f}x "
               f"the time per rule of restoring its weights ({best['restore'][0]:.3f} s/rule restoring).")
    path = write_result("ruleedit-runner", {
        "arch": args.arch, "width": args.width, "layers": args.layers, "rules": args.rules, "steps": args.steps,
        "threads": args.threads, "repeats": args.repeats, "model_mib": size / 2**20,
        "seconds_per_rule": {mode: value[0] for mode, value in best.items()},
        "phases": {mode: value[1] for mode, value in best.items()}, "ratio_reload_to_restore": ratio,
    }, summary)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
