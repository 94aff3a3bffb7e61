"""Time the one-pass statistics against one pass per layer, measured in the same run.

    python benchmarks/bench_stats.py [--samples 64] [--max-length 128] [--repeats 2] [--device cpu]

On a random-weight GPT-2 (width 256, 6 layers, d_ff 1024) and a synthetic corpus, it collects
the second moments of the MLP keys of layers 1-5:

* ``one pass``: :func:`collect_second_moments` with all five modules (stops after layer 5);
* ``5 passes, stop early``: five single-module calls, each stopping after its own layer, as
  EasyEdit's ``Trace(stop=True)`` does (EasyEdit's way, minus its uncapped sequence length);
* ``5 full passes``: five single-module passes that run the whole model, as a hook-per-run
  collector without early stopping would;
* ``bare forward``: the whole model over the same batches, no statistics (a floor).

It prints wall-clock and process CPU time (best of interleaved rounds; CPU time is the fairer
measure on a shared machine), tokens per second, and the ratios (target: one pass <= 0.3x of
five passes), after checking that all variants computed the same statistics.
"""

from __future__ import annotations

import argparse
import random
from typing import Callable

import torch

from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.hooks import observe_inputs
from easyedit_plugins.core.stats import SecondMomentAccumulator, collect_second_moments, padded_batches
from easyedit_plugins.testing import tiny_model
from results_file import write_result
from timing import timed

WORDS = (
    "the capital of france is paris rome tokyo berlin river flows through city company was founded by "
    "mother tongue poet plays piano violin football team basketball player member club square sum equals "
    "product area rectangle width height perimeter twice sides weather cold children stayed inside game "
    "doctor works hospital teacher school chef kitchen language spoken currency japan born in salzburg"
).split()


def synthetic_corpus(samples: int, words_per_sample: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words_per_sample)) for _ in range(samples)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--words", type=int, default=120, help="words per synthetic sample")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    model, tok = tiny_model("gpt2", width=args.width, layers=args.layers)
    model.to(args.device)
    spec = arch_spec(model)
    names = [spec.mlp_out_name(layer) for layer in range(1, min(6, args.layers))]
    texts = synthetic_corpus(args.samples, args.words)
    dtype = getattr(torch, args.dtype)
    device = model.get_input_embeddings().weight.device

    def synchronised(function: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            result = function()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return result
        return run

    def collect(modules: list[str]) -> dict[str, SecondMomentAccumulator]:
        return collect_second_moments(model, tok, texts, modules, max_length=args.max_length,
                                      batch_size=args.batch_size, dtype=dtype, progress=False)

    def batches():
        for input_ids, attention_mask, _ in padded_batches(tok, texts, args.max_length, args.batch_size):
            yield input_ids.to(device), attention_mask.to(device)

    def full_pass(name: str) -> SecondMomentAccumulator:
        accumulator = SecondMomentAccumulator(int(model.get_submodule(name).weight.shape[0]), dtype, device)
        mask: list[torch.Tensor] = []
        with torch.inference_mode(), observe_inputs(model, [name], lambda _name, keys: accumulator.add(keys[mask[-1]])):
            for input_ids, attention_mask in batches():
                mask.append(attention_mask.bool())
                model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        return accumulator

    def bare_forward() -> None:
        with torch.inference_mode():
            for input_ids, attention_mask in batches():
                model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)

    functions = {
        "bare": bare_forward,
        "one": lambda: collect(names),
        "stop": lambda: {key: value for name in names for key, value in collect([name]).items()},
        "full": lambda: {name: full_pass(name) for name in names},
    }
    collect(names)  # warm-up: first-call costs (allocator, kernels) out of the timings
    wall, cpu, results = timed({key: synchronised(function) for key, function in functions.items()}, args.repeats)
    together = results["one"]
    for other in ("stop", "full"):
        for name in names:
            torch.testing.assert_close(together[name].mean(), results[other][name].mean().cpu(), rtol=1e-4, atol=1e-6)
    tokens = together[names[0]].count
    n = len(names)

    print(f"model: gpt2 width {args.width}, {args.layers} layers, d_in {together[names[0]].dim}; "
          f"device {device}; dtype {args.dtype}; torch threads {torch.get_num_threads()}")
    print(f"corpus: {args.samples} samples, {tokens} tokens (max length {args.max_length}), batch {args.batch_size}; "
          f"best of {args.repeats} interleaved rounds")
    print(f"{'':28s} {'wall s':>8s} {'cpu s':>8s} {'tokens/s (wall)':>16s}")
    rows = (("bare forward (no stats)", "bare"), (f"one pass, {n} layers", "one"),
            (f"{n} passes, stop early", "stop"), (f"{n} full passes", "full"))
    for label, key in rows:
        print(f"{label:28s} {wall[key]:8.2f} {cpu[key]:8.2f} {tokens / wall[key]:16,.0f}")
    for label, key in rows[2:]:
        print(f"ratio one pass / {label}: wall {wall['one'] / wall[key]:.2f}, cpu {cpu['one'] / cpu[key]:.2f} "
              "(target <= 0.30)")
    print(f"ratio one pass / bare forward: wall {wall['one'] / wall['bare']:.2f}, cpu {cpu['one'] / cpu['bare']:.2f}")
    summary = (f"One pass over {n} layers took {wall['one'] / wall['full']:.2f}x the wall time of {n} full passes and "
               f"{wall['one'] / wall['stop']:.2f}x of {n} passes that stop at their layer (CPU time "
               f"{cpu['one'] / cpu['full']:.2f}x and {cpu['one'] / cpu['stop']:.2f}x); target <= 0.30x of {n} passes.")
    path = write_result("stats", {
        "model": {"arch": "gpt2", "width": args.width, "layers": args.layers}, "device": str(device),
        "dtype": args.dtype, "torch_threads": torch.get_num_threads(), "samples": args.samples, "tokens": tokens,
        "max_length": args.max_length, "batch_size": args.batch_size, "repeats": args.repeats,
        "wall_seconds": wall, "cpu_seconds": cpu,
        "ratios": {f"one/{key}": {"wall": wall["one"] / wall[key], "cpu": cpu["one"] / cpu[key]}
                   for key in ("stop", "full", "bare")},
    }, summary)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
