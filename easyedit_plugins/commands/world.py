"""Train (or load the cached) miniature world model and print its accuracy report.

The world model is a small GPT-2- or Llama-style model trained from scratch on invented facts
and rules, so that edits can be measured without real checkpoints. Training happens once per
preset, architecture and seed; later runs read the cache.
"""

from __future__ import annotations

import argparse
import json

#: The world presets and architectures with a line each for ``--help``, written out so that
#: ``--help`` needs no torch (tests/cli/test_cli_constants.py checks them against ``PRESETS``
#: and ``WORLD_ARCHES``).
PRESET_HELP = {
    "test": "GPT-2 with 4 layers, width 128, 120 subjects and 6 rules; trains in about a minute on 2 cores",
    "full": "GPT-2 with 6 layers, width 256, 500 subjects and 16 rules; trains in about 10 minutes on 2 idle cores",
    "natural": "8 layers, width 192, 200 subjects and 16 rules, subjects at the start and in the middle, "
               "worked rule instances, no attention masking; 28 minutes on 1 thread of 2 busy cores",
}
ARCHES = ("gpt2", "llama")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    presets = "; ".join(f"{name}: {text}" for name, text in PRESET_HELP.items())
    parser.add_argument("--preset", choices=sorted(PRESET_HELP), default="test",
                        help=f"world and model size (default: test). {presets}")
    parser.add_argument("--arch", choices=ARCHES, default="gpt2", help="model architecture (default: gpt2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world, the weights and the data order")
    parser.add_argument("--no-train", action="store_true", help="fail instead of training when not cached")
    parser.add_argument("--path", action="store_true", help="only print the cache directory, train nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from ..world import load_world_model, world_model_path

    if args.path:
        print(world_model_path(args.preset, args.arch, args.seed))
        return 0
    world = load_world_model(args.preset, args.arch, args.seed, train_if_missing=not args.no_train,
                             threads=args.threads)
    report = world.report
    if args.json:
        print(json.dumps({**report, "path": str(world.path)}, indent=2))
        return 0
    print(f"world model: preset {report['preset']}, arch {report['arch']}, seed {report['seed']}")
    print(f"  {report['parameters']:,} parameters; {report['subjects']} subjects, {report['facts']} facts, "
          f"{report['rules']} rules; {report['training_lines']} training lines")
    print(f"  trained {report['steps']} steps in {report['train_seconds']} s "
          f"({report['train_cpu_seconds']} CPU s, {report['torch_threads']} threads), "
          f"final loss {report['final_loss']:.4f}")
    print("  greedy accuracy on whole objects:")
    for name, value in report["accuracy"].items():
        print(f"    {name:<20} {value:7.1%}")
    size = sum(f.stat().st_size for f in world.path.rglob("*") if f.is_file())
    print(f"  cache: {world.path} ({size / 2**20:.1f} MiB)")
    return 0
