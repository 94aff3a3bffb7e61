"""DMLE: edit one rule in its three forms, then ask about instances it was never shown.

    python examples/dmle_rule_edit.py [--hparams hparams/DMLE/world-test-gpt2.yaml]

A RuleEdit case edits a rule three ways: its formula, a sentence describing it and one worked
instance. DMLE routes each request by its ``form`` tag to a stage (formula and description on
an early layer group, instances on a middle one) and applies the stages in order. The model
is the miniature world model, which was trained on invented rules. For RuleEdit-200 itself use
``easyedit-plugins ruleedit --hparams ... --data RuleEdit-200.zip --out DIR``, which runs DMLE
(or any registered method) through EasyEdit's editor with the rule-level metrics.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from easyedit_plugins import DMLEHyperParams, apply_dmle_to_model

from _world import answers, world_and_corpus

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hparams", type=Path, default=HERE.parent / "hparams" / "DMLE" / "world-test-gpt2.yaml")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="dmle-example-"))
    world, corpus = world_and_corpus(workdir)
    requests = world.rule_requests(seed=0)[:3]  # the three forms of the first rule the model knows
    unseen = requests[-1]["portability"]["Instance"]  # other worked instances of the new rule
    prompts = [r["prompt"] for r in requests] + list(unseen["prompt"])
    wanted = [r["target_new"] for r in requests] + list(unseen["ground_truth"])

    hparams = DMLEHyperParams.from_hparams(args.hparams).replace(
        model_name=str(world.path), stats_dir=str(workdir / "stats"), stats_corpus=str(corpus))
    before = answers(world.model, world.tok, prompts, tokens=16)
    model, _ = apply_dmle_to_model(world.model, world.tok, requests, hparams)
    after = answers(model, world.tok, prompts, tokens=16)
    print(f"rule {requests[0]['subject']!r}: {requests[0]['ground_truth']!r} -> {requests[0]['target_new']!r}")
    kinds = [r["form"] for r in requests] + ["unseen instance"] * len(unseen["prompt"])
    for kind, prompt, want, old, new in zip(kinds, prompts, wanted, before, after):
        print(f"  {kind:<15} {prompt!r}: {old!r} -> {new!r} (want {want!r})")


if __name__ == "__main__":
    main()
