"""Peak memory of a PAC edit: tracing from the gradient's factors against whole float32 gradients.

    python benchmarks/bench_pac_memory.py [--layers 32] [--width 1024] [--ffn 3584] [--out DIR]

PAC ranks every FFN neuron by z-scores of its edit-loss gradient. Until 2026-11-26 the tracing
summed a whole float32 ``[d_ff, d]`` gradient per traced matrix and kept all of them at once: a
float32 copy of every FFN matrix (15 GiB at Llama-3-8B's size), which is why PAC ran out of
memory on an 80 GB H100 (``results/gpu-2026-11-26.md``). It now keeps only the gradient's
factors (token rows) and forms the gradient a block of hidden dimensions at a time.

This script edits one random Llama-shaped model (``--layers`` layers of width ``--width`` and FFN
``--ffn``, float32, Llama-3's proportions scaled down) with PAC's shipped Llama-3-8B settings,
once per tracing mode, each in a fresh subprocess that reports its own peak resident memory
(``ru_maxrss``), next to the bytes of its weights, so the extra memory of the two modes can be
compared in one run. The baseline mode restores the former tracing inside the subprocess (whole
gradients of every projection, then the importance), with the same selection as the current one.
Results go to ``benchmarks/results/pac-memory-<date>.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from easyedit_plugins.core.files import write_text_atomically

HERE = Path(__file__).resolve().parent
MODES = ("factors", "whole-gradients")


def child(mode: str, layers: int, width: int, ffn: int) -> None:
    """Build, edit once, print the weights' bytes and the seconds as JSON (run in a subprocess)."""
    import time

    import torch
    import transformers

    from easyedit_plugins import PACHyperParams, apply_pac_to_model
    from easyedit_plugins.methods.pac import tracing
    from easyedit_plugins.testing import train_tokenizer
    from easyedit_plugins.world.tokenizer import END_OF_TEXT

    torch.set_num_threads(1)
    if mode == "whole-gradients":  # the former tracing: every projection's whole gradient at once

        def whole_gradient_paths(model: Any, projections: Any, batches: Any, n_critical: int, n_negative: int) -> Any:
            factors = tracing.edit_loss_gradient_factors(model, projections, batches)
            gradients = {name: f.neuron_rows.T @ f.hidden_rows for name, f in factors.items()}
            importance = {name: tracing.neuron_importance(gradient) for name, gradient in gradients.items()}
            return tracing.select_paths(importance, n_critical, n_negative)

        import easyedit_plugins.methods.pac.train as train

        train.trace_paths = whole_gradient_paths
    tok = train_tokenizer()
    special = tok.convert_tokens_to_ids(END_OF_TEXT)
    config = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=width, intermediate_size=ffn,
                                      num_hidden_layers=layers, num_attention_heads=width // 128,
                                      num_key_value_heads=max(1, width // 512), bos_token_id=special,
                                      eos_token_id=special, pad_token_id=special)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config).float().eval()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    hparams = PACHyperParams.from_hparams(HERE.parent / "hparams" / "PAC" / "llama3-8b.yaml").replace(
        model_name="random", device="cpu", num_epochs=4)
    request = {"prompt": "The mother tongue of Danielle Darrieux is", "subject": "Danielle Darrieux",
               "target_new": "English"}
    start = time.perf_counter()
    apply_pac_to_model(model, tok, [request], hparams)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"weights_bytes": weights, "seconds": seconds, "peak_rss_bytes": peak}))


def measure(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One mode in its own process, whose peak resident memory it reports itself."""
    command = [sys.executable, __file__, "--child", mode, "--layers", str(args.layers), "--width", str(args.width),
               "--ffn", str(args.ffn)]
    env = dict(os.environ, EASYEDIT_PLUGINS_PROGRESS="0")
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return {"mode": mode, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--ffn", type=int, default=3584)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.layers, args.width, args.ffn)
        return
    rows = [measure(mode, args) for mode in MODES]
    gib = 1 << 30
    traced = 2 * args.layers * args.width * args.ffn * 4
    date = datetime.date.today().isoformat()
    data = {"date": date, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "command": " ".join(["python", "benchmarks/bench_pac_memory.py", *sys.argv[1:]]),
            "shape": {"layers": args.layers, "width": args.width, "ffn": args.ffn},
            "float32_bytes_of_traced_matrices": traced, "rows": rows}
    lines = [f"# PAC's peak memory by tracing mode ({date})", "",
             f"Machine: {data['machine']}; one torch thread. Model: random Llama shape, {args.layers} layers, width "
             f"{args.width}, FFN {args.ffn}, float32; PAC's Llama-3-8B settings, 4 epochs, one request. The traced "
             f"FFN matrices hold {traced / gib:.2f} GiB in float32.", "",
             "| tracing | peak resident memory GiB | weights GiB | peak minus weights GiB | seconds (shared machine: not a speed comparison) |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['mode']} | {row['peak_rss_bytes'] / gib:.2f} | {row['weights_bytes'] / gib:.2f} "
                     f"| {(row['peak_rss_bytes'] - row['weights_bytes']) / gib:.2f} | {row['seconds']:.1f} |")
    lines += ["", f"Command: `{data['command']}`; raw data: `pac-memory-{date}.json`."]
    write_text_atomically(args.out / f"pac-memory-{date}.json", json.dumps(data, indent=2) + "\n")
    write_text_atomically(args.out / f"pac-memory-{date}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
