"""Train (or load the cached) miniature world model and print its accuracy report.

The world model is a small GPT-2- or Llama-style model trained from scratch on invented facts
and rules, so that edits can be measured without real checkpoints. Training happens once per
preset, architecture and seed; later runs read the cache.
"""

from __future__ import annotations

import argparse
import json

from ..world import PRESETS, load_world_model, world_model_path
from ..world.train import WORLD_ARCHES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    presets = "; ".join(f"{name}: {preset.description}" for name, preset in PRESETS.items()).replace("%", "%%")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="test",
                        help=f"world and model size (default: test). {presets}")
    parser.add_argument("--arch", choices=WORLD_ARCHES, default="gpt2", help="model architecture (default: gpt2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world, the weights and the data order")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch CPU threads while training (default: the cores the last minute's "
                             "load left idle; on a busy machine extra threads make training many times slower)")
    parser.add_argument("--no-train", action="store_true", help="fail instead of training when not cached")
    parser.add_argument("--path", action="store_true", help="only print the cache directory, train nothing")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    if args.path:
        print(world_model_path(args.preset, args.arch, args.seed))
        return 0
    try:
        world = load_world_model(args.preset, args.arch, args.seed, train_if_missing=not args.no_train,
                                 threads=args.threads)
    except FileNotFoundError as error:
        print(f"error: {error}")
        return 1
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
