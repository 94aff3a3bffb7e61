"""LGA picks the layers, BLUE edits them: the selector by hand, then as a hyperparameter.

    python examples/lga_then_blue.py [--hparams hparams/BLUE/world-test-gpt2.yaml] [--proxy 16]

LGA scores every layer by the inner product of two gradients on a proxy set of edits (of the
NLL of the original answer and of the new target, with respect to the layer's MLP output
weights), ranks the layers by it (by default the most negative score first; Tukey's fences can
drop outlying scores first) and keeps the best layer or a window around it. Step 1 runs the search directly and prints the scores; step 2 lets BLUE do the same by
itself with ``layer_selection: lga``, the way an EasyEdit hparams file asks for it, and edits
facts that were not in the proxy set.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from easyedit_plugins import BLUEHyperParams, LGAHyperParams, apply_blue_to_model, run_lga
from easyedit_plugins.selectors.lga import EditTarget

from _world import answers, world_and_corpus

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hparams", type=Path, default=HERE.parent / "hparams" / "BLUE" / "world-test-gpt2.yaml")
    parser.add_argument("--proxy", type=int, default=16, help="proxy edits LGA scores the layers on")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="lga-example-"))
    world, corpus = world_and_corpus(workdir)
    requests = world.fact_requests(args.proxy + 2, seed=7)
    proxy, edits = requests[:args.proxy], requests[args.proxy:]
    hparams = BLUEHyperParams.from_hparams(args.hparams).replace(
        model_name=str(world.path), stats_dir=str(workdir / "stats"), stats_corpus=str(corpus))

    # 1. The search by hand: a window of as many layers as the hparams file lists.
    settings = LGAHyperParams(selection="window", num_layers=len(hparams.layers))
    report = run_lga(world.model, world.tok, proxy, settings, EditTarget.of(hparams))
    scores = ", ".join(f"{layer}: {score:+.3g}" for layer, score in enumerate(report.group_scores["all"]))
    print(f"LGA scores per layer on {len(proxy)} proxy edits: {scores}")
    print(f"chosen layers: {report.layers} (the file said {hparams.layers})")

    # 2. The same choice made by BLUE itself before editing, on the proxy set named in its settings.
    proxy_file = workdir / "proxy.json"
    proxy_file.write_text(json.dumps(proxy), encoding="utf-8")
    selecting = hparams.replace(layer_selection="lga", layer_selection_config={
        "selection": "window", "num_layers": len(hparams.layers), "proxy_data": str(proxy_file),
        "output_dir": str(workdir / "lga")})
    prompts = [r["prompt"] for r in edits] + [r["rephrase_prompt"] for r in edits]
    before = answers(world.model, world.tok, prompts)
    model, _ = apply_blue_to_model(world.model, world.tok, edits, selecting)
    after = answers(model, world.tok, prompts)
    print(f"BLUE with layer_selection: lga edited {len(edits)} facts (choice saved under {workdir / 'lga'}):")
    targets = [r["target_new"] for r in edits] * 2
    for prompt, old, new, want in zip(prompts, before, after, targets):
        print(f"  {prompt!r}: {old!r} -> {new!r} (want {want!r})")


if __name__ == "__main__":
    main()
