"""BLUE in an ordinary EasyEdit script.

    python examples/blue_in_easyedit.py [--hparams hparams/BLUE/world-test-gpt2.yaml] [--base AlphaEdit]

Importing ``easyedit_plugins`` and loading its hyperparameters is all EasyEdit needs: the
method is then in EasyEdit's method table and ``BaseEditor.from_hparams`` finds it. Without
EasyEdit the same edit goes through ``apply_blue_to_model``. The model is the miniature world
model, so the answers before and after the edit, at the edit prompt, at a paraphrase and at
neighbouring facts, show efficacy, generalisation and locality.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import nullcontext
from pathlib import Path

import torch

from easyedit_plugins import BLUEHyperParams, apply_blue_to_model
from easyedit_plugins.easyedit_bridge import load_easyedit
from easyedit_plugins.testing.legacy_cpu import LegacyCudaToCpu

from _world import answers, world_and_corpus

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hparams", type=Path, default=HERE.parent / "hparams" / "BLUE" / "world-test-gpt2.yaml")
    parser.add_argument("--base", choices=["MEMIT", "AlphaEdit"], default=None, help="override base_method")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="blue-example-"))
    world, corpus = world_and_corpus(workdir)
    request = world.fact_requests(1, seed=4)[0]
    neighbours = request["locality"]["neighborhood"]["prompt"]
    prompts = [request["prompt"], request["rephrase_prompt"], *neighbours]

    hparams = BLUEHyperParams.from_hparams(args.hparams).replace(
        model_name=str(world.path), stats_dir=str(workdir / "stats"), stats_corpus=str(corpus))
    if args.base:
        hparams = hparams.replace(base_method=args.base)
    easyedit = load_easyedit()
    if easyedit is None:
        print("EasyEdit is not importable: editing with apply_blue_to_model")
        model, tok = world.model, world.tok
        before = answers(model, tok, prompts)
        model, _ = apply_blue_to_model(model, tok, [request], hparams)
    else:
        # The 2023 release hard-codes cuda:{device}; without a GPU, redirect it to the CPU.
        on_cpu = easyedit.generation == "2023" and not torch.cuda.is_available()
        hparams = hparams.replace(device=0 if easyedit.generation == "2023" else "cpu")
        with LegacyCudaToCpu() if on_cpu else nullcontext():
            editor = easyedit.base_editor.from_hparams(hparams)
            before = answers(editor.model, editor.tok, prompts)
            keep = {"sequential_edit": True} if easyedit.generation == "2026" else {"keep_original_weight": False}
            metrics, model, _ = editor.edit(prompts=[request["prompt"]], target_new=[request["target_new"]],
                                            ground_truth=[request["ground_truth"]], subject=[request["subject"]],
                                            **keep)
            print(f"EasyEdit {easyedit.generation} BaseEditor: post rewrite_acc {metrics[0]['post']['rewrite_acc']}")
        tok = editor.tok
    after = answers(model, tok, prompts)
    print(f"edit: {request['prompt']!r} -> {request['target_new']!r} (was {request['ground_truth']!r}), "
          f"{hparams.base_method}, layers {hparams.layers}")
    for kind, prompt, old, new in zip(["edit", "paraphrase"] + ["neighbour"] * len(neighbours), prompts, before, after):
        print(f"  {kind:<10} {prompt!r}: {old!r} -> {new!r}")


if __name__ == "__main__":
    main()
