"""Seconds per edit, peak GPU memory and statistics throughput at Llama-3-8B and GPT-J-6B sizes.

    python benchmarks/bench_gpu.py [--models llama3-8b gptj-6b] [--methods BLUE reference PAC]
                                   [--edits 5] [--dtype bfloat16] [--stats-samples 128] [--json out.json]
    python benchmarks/bench_gpu.py --tiny      # CPU dry run of every code path on tiny models

Real sizes on a CUDA GPU, random weights (nothing is downloaded): the configs are those of
Llama-3-8B (8.03B parameters) and GPT-J-6B (6.05B), built directly on the GPU in ``--dtype``,
with a small byte-level tokenizer trained on the spot (its vocabulary is smaller than the
model's; the embedding and LM head keep the real size). The methods use the shipped
``hparams/{BLUE,PAC}/{llama3-8b,gpt-j-6B}.yaml`` unchanged except for paths, the statistics
corpus and fixed context templates (sampling them from a random model is meaningless):

* ``BLUE`` (boundary layers), ``reference`` (the same file with ``schedule: distributed``, i.e.
  MEMIT) and ``PAC``: one warm-up edit (it also computes the covariance statistics the
  locate-then-edit methods need, with the package's own code, from a small synthetic corpus),
  then ``--edits`` single-request edits, the weights restored after each. Reported: the median
  seconds per edit, the peak GPU memory, and that peak minus the memory allocated before the
  edit (the method's own working memory; the weights alone are shown too). Early stopping of
  the target optimisation (loss < 0.05) makes times depend on the random model somewhat. PAC
  runs in ``--dtype`` too; its authors use float32 (the package warns that lr 1e-5 steps are
  lost in bfloat16), so time it as published with ``--methods PAC --dtype float32``.
* statistics throughput: one pass collecting the second moments of every critical layer of the
  BLUE file against a bare ``model(...)`` forward over the same token batches (the floor a
  hook-based collector can reach). The statistics pass stops after the last critical layer, so
  a forward stopped at the same module is shown too; ratios near 1 mean the outer products cost
  little next to the model itself.

Device, library versions and the date go into the output; ``--json`` writes the same data.
``--tiny`` uses the package's width-64, 6-layer configs of both architectures on the CPU (one
thread), with the critical layers moved to 1-4; its numbers only show that everything runs.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import logging
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch
import transformers

from easyedit_plugins import BLUEHyperParams, PACHyperParams, apply_blue_to_model, apply_pac_to_model
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.core.hooks import forward_until
from easyedit_plugins.core.stats import collect_second_moments, padded_batches
from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.testing import train_tokenizer
from easyedit_plugins.testing.tiny import BUILDERS
from easyedit_plugins.testing.tokenizer import END_OF_TEXT
from bench_blue import requests as edit_requests  # prompts that end with their subject, as random attention needs
from bench_stats import synthetic_corpus
from timing import timed

HPARAMS = Path(__file__).resolve().parents[1] / "hparams"
#: model -> (architecture for the tiny dry run, BLUE file, PAC file)
MODELS = {"llama3-8b": ("llama", "BLUE/llama3-8b.yaml", "PAC/llama3-8b.yaml"),
          "gptj-6b": ("gptj", "BLUE/gpt-j-6B.yaml", "PAC/gpt-j-6B.yaml")}
METHODS = ("BLUE", "reference", "PAC")
TINY_WIDTH, TINY_LAYERS = 64, 6
GIB = 1 << 30
#: Five prefixes of about ten tokens, standing in for the templates MEMIT samples from the model.
TEMPLATES = ["The doctor works at the hospital in the city. {}", "Therefore the game was cancelled that day. {}",
             "Because the weather was cold, they stayed. {}", "I think that the answer is correct here. {}",
             "You can find the book in the library. {}"]


def model_config(name: str, tiny: bool, vocab: int, special: int) -> Any:
    ids = {"bos_token_id": special, "eos_token_id": special, "pad_token_id": special}
    if tiny:  # the package's tiny configs (initialisation scale 0.25: at width 64, 0.02 gives flat logits)
        return BUILDERS[MODELS[name][0]](vocab, TINY_WIDTH, TINY_LAYERS, **ids)
    if name == "llama3-8b":
        return transformers.LlamaConfig(
            vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
            num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5,
            tie_word_embeddings=False, **ids)
    return transformers.GPTJConfig(vocab_size=50400, n_positions=2048, n_embd=4096, n_layer=28, n_head=16, rotary_dim=64,
                                   tie_word_embeddings=False, **ids)


def build_model(config: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """Random weights created and initialised on ``device`` (normal_ in place: no CPU copy of 8B values)."""
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    torch.manual_seed(0)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, **{dtype_key: dtype})
    return model.eval()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> float | None:
    """Reset the peak counter; return the GiB allocated now (None off CUDA)."""
    if device.type != "cuda":
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device) / GIB


def peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else None


def fit_layers(layers: list[int], depth: int) -> list[int]:
    """The hparams' layers, or as many as fit below the last layer of a shallower (tiny) model."""
    return layers if max(layers) < depth - 1 else list(range(1, min(len(layers), depth - 2) + 1))


def method_hparams(name: str, depth: int, workdir: Path, corpus: Path, samples: int, device: Any) -> dict[str, Any]:
    _, blue_file, pac_file = MODELS[name]
    blue = BLUEHyperParams.from_hparams(HPARAMS / blue_file)
    blue = blue.replace(model_name=f"{name}-random", device=device, layers=fit_layers(blue.layers, depth),
                        v_loss_layer=min(depth - 1 if blue.v_loss_layer is None else blue.v_loss_layer, depth - 1),
                        stats_dir=str(workdir / "stats"), stats_corpus=str(corpus), mom2_n_samples=samples,
                        context_templates=TEMPLATES)
    pac = PACHyperParams.from_hparams(HPARAMS / pac_file).replace(model_name=f"{name}-random", device=device)
    return {"BLUE": blue, "reference": blue.replace(schedule="distributed"), "PAC": pac}


def bench_method(model: Any, tok: Any, apply: Callable[..., Any], hparams: Any, requests: list[dict[str, str]],
                 device: torch.device) -> dict[str, Any]:
    """Warm-up edit (requests[0]), then one timed edit per further request, restoring after each."""
    seconds: list[float] = []
    peaks: list[float] = []
    extras: list[float] = []
    changed = 0
    for index, request in enumerate(requests):
        before = reset_peak(device)
        start = time.perf_counter()
        _, originals = apply(model, tok, [dict(request)], hparams, return_orig_weights=True, keep_original_weight=True)
        synchronize(device)
        elapsed = time.perf_counter() - start
        top = peak(device)
        if index == 0:  # once: which weights the edit changed, and that restoring undoes it
            changed = sum(not torch.equal(model.get_parameter(n), v.to(device)) for n, v in originals.items())
        restore_weights(model, originals)
        if index == 0 and not all(torch.equal(model.get_parameter(n), v.to(device)) for n, v in originals.items()):
            raise RuntimeError(f"{hparams.alg_name}: restoring the original weights failed")
        del originals
        if index > 0:
            seconds.append(elapsed)
            if top is not None and before is not None:
                peaks.append(top)
                extras.append(top - before)
    if changed == 0:
        logging.warning("%s: the warm-up edit changed no weight", hparams.alg_name)
    return {"s_per_edit": statistics.median(seconds), "s_per_edit_all": seconds, "changed_tensors": changed,
            "peak_gib": max(peaks) if peaks else None, "extra_gib": max(extras) if extras else None}


def bench_statistics(model: Any, tok: Any, texts: list[str], hparams: BLUEHyperParams, batch_size: int, repeats: int,
                     device: torch.device) -> dict[str, Any]:
    spec = hparams.arch(model)
    names = [spec.mlp_out_name(layer) for layer in hparams.layers]
    dtype = getattr(torch, hparams.mom2_dtype)

    def collect() -> Any:
        return collect_second_moments(model, tok, texts, names, max_length=hparams.stats_max_length, batch_size=batch_size,
                                      dtype=dtype, progress=False)

    def forward(stop_at: str | None) -> int:
        tokens = 0
        with torch.no_grad():
            for input_ids, attention_mask, _ in padded_batches(tok, texts, hparams.stats_max_length, batch_size):
                tokens += int(attention_mask.sum())
                inputs = {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device), "use_cache": False}
                if stop_at is None:
                    model(**inputs)
                else:
                    forward_until(model, stop_at, inputs, before=True)  # where the statistics pass stops
        return tokens

    before = reset_peak(device)
    accumulators = collect()  # warm-up, and the memory the pass needs
    top = peak(device)
    tokens = accumulators[names[0]].count
    del accumulators
    forward(None)

    def synced(function: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: (function(), synchronize(device))[0]

    runs = {"stats": synced(collect), "forward": synced(lambda: forward(None)), "forward_to": synced(lambda: forward(names[-1]))}
    wall, _, results = timed(runs, repeats)
    if not results["forward"] == results["forward_to"] == tokens:
        raise RuntimeError(f"statistics saw {tokens} tokens, the forward passes {results['forward']}, {results['forward_to']}")
    rate = {key: tokens / wall[key] for key in runs}
    return {"layers": list(hparams.layers), "stop_module": names[-1], "tokens": tokens, "stats_tok_s": rate["stats"],
            "forward_tok_s": rate["forward"], "forward_to_tok_s": rate["forward_to"],
            "ratio": rate["stats"] / rate["forward"], "ratio_same_depth": rate["stats"] / rate["forward_to"],
            "stats_extra_gib": None if top is None or before is None else top - before}


def fmt(value: float | int | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def report(data: dict[str, Any]) -> str:
    setting = (f"device: {data['device']}; torch {data['torch']}, transformers {data['transformers']}, "
               f"weights in {data['dtype']}; {data['edits']} timed edit(s) of 1 request after 1 warm-up")
    lines = [f"## Editing at real model sizes, random weights ({data['date']})", "", setting, "",
             "| model | method | s/edit (median) | peak GiB | extra GiB over weights | weights GiB | tensors edited |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in data["edits_results"]:
        method = row["method"] + (" (out of memory)" if row.get("error") else "")
        lines.append(f"| {row['model']} | {method} | {fmt(row['s_per_edit'], '.3f')} | {fmt(row['peak_gib'])} "
                     f"| {fmt(row['extra_gib'])} | {fmt(row['weights_gib'])} | {fmt(row['changed_tensors'], 'd')} |")
    header = ("| model | critical layers | tokens | stats tok/s | forward tok/s | stats / forward "
              "| forward to last critical layer tok/s | stats / that | stats extra GiB |")
    lines += ["", header, "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["statistics"]:
        lines.append(f"| {row['model']} | {row['layers']} | {row['tokens']} | {fmt(row['stats_tok_s'], ',.0f')} "
                     f"| {fmt(row['forward_tok_s'], ',.0f')} | {fmt(row['ratio'])} | {fmt(row['forward_to_tok_s'], ',.0f')} "
                     f"| {fmt(row['ratio_same_depth'])} | {fmt(row['stats_extra_gib'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--edits", type=int, default=5, help="timed edits per method (after one warm-up)")
    parser.add_argument("--dtype", default=None, choices=("bfloat16", "float16", "float32"),
                        help="weights' dtype (default bfloat16; float32 with --tiny)")
    parser.add_argument("--stats-samples", type=int, default=None,
                        help="synthetic texts (256 tokens each) for the statistics (default 128; 32 with --tiny)")
    parser.add_argument("--batch-size", type=int, default=16, help="texts per forward pass of the statistics")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds of the throughput comparison (best kept)")
    parser.add_argument("--tiny", action="store_true", help=f"CPU dry run on width-{TINY_WIDTH}, {TINY_LAYERS}-layer models")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1 with --tiny)")
    parser.add_argument("--workdir", type=Path, default=None, help="where statistics files go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.edits < 1 or args.repeats < 1:
        parser.error("--edits and --repeats must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # e.g. PAC on half precision
    if args.threads or args.tiny:
        torch.set_num_threads(args.threads or 1)
    if not args.tiny and not torch.cuda.is_available():
        sys.exit("bench_gpu.py: no CUDA device; run it on a GPU machine, or pass --tiny for a CPU dry run")
    device = torch.device("cpu" if args.tiny else "cuda")
    dtype = getattr(torch, args.dtype or ("float32" if args.tiny else "bfloat16"))
    where = (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})" if device.type == "cuda"
             else f"CPU ({torch.get_num_threads()} thread(s)), tiny dry run")
    data: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "device": where,
        "torch": torch.__version__, "transformers": transformers.__version__, "dtype": str(dtype).removeprefix("torch."),
        "tiny": args.tiny, "edits": args.edits, "edits_results": [], "statistics": []}
    tok = train_tokenizer()
    texts = synthetic_corpus(args.stats_samples or (32 if args.tiny else 128), words_per_sample=300)
    requests = edit_requests(args.edits + 1)
    applies = {"BLUE": apply_blue_to_model, "reference": apply_blue_to_model, "PAC": apply_pac_to_model}
    with (nullcontext(str(args.workdir)) if args.workdir else tempfile.TemporaryDirectory(prefix="bench_gpu_")) as folder:
        for model_name in args.models:
            workdir = Path(folder) / model_name
            corpus = workdir / "corpus.txt"
            write_text_atomically(corpus, "\n".join(texts) + "\n")
            config = model_config(model_name, args.tiny, len(tok), tok.convert_tokens_to_ids(END_OF_TEXT))
            start = time.perf_counter()
            model = build_model(config, device, dtype)
            weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers())) / GIB
            print(f"{model_name}: {sum(p.numel() for p in model.parameters()) / 1e9:.3f}B parameters, {weights:.2f} GiB, "
                  f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            hparams = method_hparams(model_name, config.num_hidden_layers, workdir, corpus, len(texts),
                                     0 if device.type == "cuda" else "cpu")
            for method in args.methods:
                row: dict[str, Any] = {"model": model_name, "method": method, "weights_gib": weights}
                try:
                    row.update(bench_method(model, tok, applies[method], hparams[method], requests, device))
                except torch.cuda.OutOfMemoryError as error:
                    row.update(error=f"out of memory: {error}".splitlines()[0], s_per_edit=None, peak_gib=None,
                               extra_gib=None, changed_tensors=None)
                if "error" in row:  # outside the handler, whose traceback holds on to the memory
                    del model  # its weights may be half edited: start afresh
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    model = build_model(config, device, dtype)
                data["edits_results"].append(row)
                print(f"{model_name} {method}: {fmt(row['s_per_edit'], '.3f')} s/edit {row.get('error', '')}", file=sys.stderr)
            data["statistics"].append({"model": model_name, **bench_statistics(
                model, tok, texts, hparams["BLUE"], args.batch_size, args.repeats, device)})
            del model, hparams
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
    print(report(data))
    if args.json:
        write_text_atomically(args.json, json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
