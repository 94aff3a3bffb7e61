"""Seconds per edit, peak GPU memory and statistics throughput at Llama-3-8B and GPT-J-6B sizes.

    python benchmarks/bench_gpu.py [--models llama3-8b gptj-6b] [--methods ...] [--edits 3]
                                   [--dtype float32] [--stats-samples 64] [--json out.json]
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/bench_gpu.py ...   # with EasyEdit 2026's own MEMIT/AlphaEdit
    python benchmarks/bench_gpu.py --tiny      # CPU dry run of every code path on tiny models

Real sizes on a CUDA GPU, random weights (nothing is downloaded): the configs are those of
Llama-3-8B (8.03B parameters) and GPT-J-6B (6.05B), built directly on the GPU in ``--dtype``
(default float32, EasyEdit's default when ``fp16`` is off and what PAC's authors use), with a
small byte-level tokenizer trained on the spot (its vocabulary is smaller than the model's; the
embedding and LM head keep the real size). Methods, all on the same model, requests, context
templates and statistics file:

* ``BLUE`` and ``BLUE-AlphaEdit``: the shipped ``hparams/BLUE/<model>[-alphaedit].yaml``;
* ``reference``: the same MEMIT file with ``schedule: distributed`` (MEMIT on this package's engine);
* ``EasyEdit-MEMIT`` and ``EasyEdit-AlphaEdit``: EasyEdit's own ``apply_memit_to_model`` and
  ``apply_AlphaEdit_to_model`` (needs ``EASYEDIT_SRC``, the 2026 tree), with the settings of the
  same two files. EasyEdit builds AlphaEdit's null-space projector ``P`` on the CPU on its first
  call (an SVD per layer, minutes at width 14336); here ``P`` is built beforehand from EasyEdit's
  own ``get_cov`` with EasyEdit's rule (eigenvectors of ``C0`` with eigenvalue below
  ``nullspace_threshold``), on the GPU, and handed over through ``P_loc``, as EasyEdit's
  instructions allow. Not timed, like the statistics;
* ``PAC``: ``hparams/PAC/<model>.yaml`` (Llama-3-8B only by default: the issue's one-GPU check).

The covariance statistics are computed once per model with this package's one-pass collector
from a synthetic corpus and written in EasyEdit's own ``.npz`` layout, which both EasyEdit and
this package read. Each method: one warm-up edit, then ``--edits`` single-request edits, the
weights restored after each. Reported: the median seconds per edit, the peak GPU memory, that
peak minus the memory allocated before the edit (the method's working memory), and every
number as a ratio to EasyEdit's MEMIT when it ran. Early stopping of the target optimisation
makes times depend on the random model somewhat.

Statistics throughput: one pass collecting the second moments of every critical layer of the
BLUE file against a bare ``model(...)`` forward over the same token batches (the floor a
hook-based collector can reach), and against a forward stopped at the last critical layer.

Device, library versions and the date go into the output; ``--json`` writes the same data.
``--tiny`` uses the package's width-64, 6-layer configs of both architectures on the CPU (one
thread), with the critical layers moved to 1-4; its numbers only show that everything runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import importlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch
import transformers

if os.environ.get("EASYEDIT_SRC"):
    sys.path.insert(0, os.environ["EASYEDIT_SRC"])

from easyedit_plugins import BLUEHyperParams, PACHyperParams, apply_blue_to_model, apply_pac_to_model
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.core.hooks import forward_until
from easyedit_plugins.core.model_store import forget_model
from easyedit_plugins.core.stats import collect_second_moments, padded_batches
from easyedit_plugins.core.stats_store import save_easyedit
from easyedit_plugins.core.weights import restore_weights
from easyedit_plugins.testing.tiny import BUILDERS
from easyedit_plugins.world.tokenizer import END_OF_TEXT, train_tokenizer
from bench_blue import requests as edit_requests  # prompts that end with their subject, as random attention needs
from bench_stats import synthetic_corpus
from timing import timed

HPARAMS = Path(__file__).resolve().parents[1] / "hparams"
#: model -> (architecture for the tiny dry run, BLUE file stem, PAC file, the name EasyEdit sees)
#: EasyEdit's AlphaEdit picks P's shape by substrings of the model name ("llama", "gpt-j-6b").
MODELS = {"llama3-8b": ("llama", "BLUE/llama3-8b", "PAC/llama3-8b.yaml", "llama3-8b-random"),
          "gptj-6b": ("gptj", "BLUE/gpt-j-6B", "PAC/gpt-j-6B.yaml", "gpt-j-6B-random")}
EASYEDIT_METHODS = ("EasyEdit-MEMIT", "EasyEdit-AlphaEdit")
METHODS = ("BLUE", "BLUE-AlphaEdit", "reference", *EASYEDIT_METHODS, "PAC")
BASELINE = "EasyEdit-MEMIT"
STATS_CORPUS_NAME = "wikipedia"  # the corpus name in EasyEdit's statistics path; the texts are synthetic
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


def build_model(config: Any, device: torch.device, dtype: torch.dtype, label: str) -> Any:
    """Random weights created and initialised on ``device`` (normal_ in place: no CPU copy of 8B values).

    ``label`` becomes the model's ``_name_or_path``: the folder name under which EasyEdit (and this
    package, reading EasyEdit's files) find the statistics.
    """
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    torch.manual_seed(0)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, **{dtype_key: dtype})
    model.config._name_or_path = label
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


def method_hparams(name: str, depth: int, stats_dir: Path, samples: int, device: Any) -> dict[str, Any]:
    """This package's hparams for every method, from the shipped files (paths and layers fitted)."""
    _, blue_stem, pac_file, label = MODELS[name]
    chosen: dict[str, Any] = {}
    for method, suffix in (("BLUE", ""), ("BLUE-AlphaEdit", "-alphaedit")):
        blue = BLUEHyperParams.from_hparams(HPARAMS / f"{blue_stem}{suffix}.yaml")
        chosen[method] = blue.replace(
            model_name=label, device=device, layers=fit_layers(blue.layers, depth),
            v_loss_layer=min(depth - 1 if blue.v_loss_layer is None else blue.v_loss_layer, depth - 1),
            stats_dir=str(stats_dir), mom2_dataset=STATS_CORPUS_NAME, mom2_n_samples=samples, mom2_dtype="float32",
            context_templates=TEMPLATES)
    chosen["reference"] = chosen["BLUE"].replace(schedule="distributed")
    chosen["PAC"] = PACHyperParams.from_hparams(HPARAMS / pac_file).replace(model_name=label, device=device)
    return chosen


def write_statistics(model: Any, tok: Any, texts: list[str], hparams: BLUEHyperParams, stats_dir: Path,
                     label: str, batch_size: int) -> None:
    """C0 of the critical layers, once, in EasyEdit's own layout (the 2026 tree's folder naming)."""
    spec = hparams.arch(model)
    names = [spec.mlp_out_name(layer) for layer in hparams.layers]
    accumulators = collect_second_moments(model, tok, texts, names, max_length=hparams.stats_max_length,
                                          batch_size=batch_size, dtype=torch.float32, progress=False)
    for module, accumulator in accumulators.items():
        path = stats_dir / label / f"{STATS_CORPUS_NAME}_stats" / f"{module}_float32_mom2_{hparams.mom2_n_samples}.npz"
        save_easyedit(path, accumulator, hparams.mom2_n_samples)


def easyedit_methods(ours: dict[str, Any], stats_dir: Path, workdir: Path, model: Any, tok: Any,
                     device: Any, wanted: list[str]) -> dict[str, tuple[Callable[..., Any], Any]]:
    """EasyEdit's own MEMIT (and AlphaEdit, when ``wanted``) with the settings of our MEMIT and AlphaEdit files."""
    memit_main = importlib.import_module("easyeditor.models.memit.memit_main")
    alpha_main = importlib.import_module("easyeditor.models.alphaedit.AlphaEdit_main")
    memit_class = importlib.import_module("easyeditor.models.memit.memit_hparams").MEMITHyperParams
    alpha_class = importlib.import_module("easyeditor.models.alphaedit.AlphaEdit_hparams").AlphaEditHyperParams
    contexts = [["{}"], list(TEMPLATES)]  # EasyEdit's cache holds the bare prompt and the prefixes
    memit_main.CONTEXT_TEMPLATES_CACHE = contexts
    alpha_main.CONTEXT_TEMPLATES_CACHE = contexts

    def theirs(cls: Any, source: Any, **extra: Any) -> Any:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {key: getattr(source, key) for key in fields if hasattr(source, key)}
        values.update(layer_selection="all", stats_dir=str(stats_dir), device=device, **extra)
        return cls(**{key: value for key, value in values.items() if key in fields})

    chosen = {"EasyEdit-MEMIT": (memit_main.apply_memit_to_model, theirs(memit_class, ours["reference"], alg_name="MEMIT"))}
    if "EasyEdit-AlphaEdit" in wanted:  # its projector costs an eigendecomposition per layer: only when asked
        projector_file = workdir / "null_space_project.pt"
        alpha = theirs(alpha_class, ours["BLUE-AlphaEdit"], alg_name="AlphaEdit", P_loc=str(projector_file))
        write_easyedit_projector(alpha_main, model, tok, alpha, projector_file)
        chosen["EasyEdit-AlphaEdit"] = (alpha_main.apply_AlphaEdit_to_model, alpha)
    return chosen


def write_easyedit_projector(alpha_main: Any, model: Any, tok: Any, hparams: Any, path: Path) -> None:
    """EasyEdit AlphaEdit's ``P`` (one per layer), by its own rule from its own ``get_cov``, on our device."""
    projectors = []
    for layer in hparams.layers:
        cov = alpha_main.get_cov(model, tok, hparams.rewrite_module_tmp.format(layer), hparams.mom2_dataset,
                                 hparams.mom2_n_samples, hparams.mom2_dtype, hparams=hparams)
        eigenvalues, vectors = torch.linalg.eigh(cov.to(next(model.parameters()).device, torch.float32))
        null = vectors[:, eigenvalues < hparams.nullspace_threshold]
        projectors.append((null @ null.T).cpu())
    torch.save(torch.stack(projectors), path)
    alpha_main.P_loaded = False  # read the file we wrote, not a projector of an earlier model
    # EasyEdit sizes its running K K^T only for model names containing llama, qwen or gpt2-xl; for
    # GPT-J it would keep the previous model's (or fail). Start it at zeros of the right width, as
    # EasyEdit does for the models it recognises.
    width = projectors[0].shape[0]
    alpha_main.cache_c = torch.zeros((len(hparams.layers), width, width), device="cpu")
    alpha_main.cache_c_new = True


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
    copy = copy_seconds(list(accumulators.values()), device)
    del accumulators
    forward(None)

    def synced(function: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: (function(), synchronize(device))[0]

    runs = {"stats": synced(collect), "forward": synced(lambda: forward(None)), "forward_to": synced(lambda: forward(names[-1]))}
    wall, _, results = timed(runs, repeats)
    if not results["forward"] == results["forward_to"] == tokens:
        raise RuntimeError(f"statistics saw {tokens} tokens, the forward passes {results['forward']}, {results['forward_to']}")
    rate = {key: tokens / wall[key] for key in runs}
    pass_only = tokens / max(wall["stats"] - copy, 1e-9)
    return {"layers": list(hparams.layers), "stop_module": names[-1], "tokens": tokens, "stats_tok_s": rate["stats"],
            "forward_tok_s": rate["forward"], "forward_to_tok_s": rate["forward_to"],
            "ratio": rate["stats"] / rate["forward"], "ratio_same_depth": rate["stats"] / rate["forward_to"],
            "copy_s": copy, "stats_s": wall["stats"], "pass_only_tok_s": pass_only,
            "ratio_same_depth_pass_only": pass_only / rate["forward_to"],
            "stats_extra_gib": None if top is None or before is None else top - before}


def copy_seconds(accumulators: list[Any], device: torch.device) -> float:
    """Seconds of the collector's last step, moving every accumulator from ``device`` to the CPU.

    The collector's timed pass includes this one-off copy (gigabytes at 7-8B widths); timing it
    on its own separates the cost of the pass over the tokens from the cost of handing over the
    result, which does not grow with the corpus.
    """
    for accumulator in accumulators:
        accumulator.to(device)
    synchronize(device)
    start = time.perf_counter()
    for accumulator in accumulators:
        accumulator.to("cpu")
    synchronize(device)
    return time.perf_counter() - start


def fmt(value: float | int | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def report(data: dict[str, Any]) -> str:
    setting = (f"device: {data['device']}; torch {data['torch']}, transformers {data['transformers']}, "
               f"EasyEdit: {data['easyedit']}; weights in {data['dtype']}; {data['edits']} timed edit(s) of 1 request "
               "after 1 warm-up. Solves: this package's MEMIT and BLUE in float64, its AlphaEdit projector in float64; "
               "EasyEdit's MEMIT solve in float64, its AlphaEdit solve in float32.")
    lines = [f"## Editing at real model sizes, random weights ({data['date']})", "", setting, "",
             f"| model | method | s/edit (median) | vs {BASELINE} | peak GiB | extra GiB over weights | extra vs {BASELINE} "
             "| weights GiB | tensors edited |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["edits_results"]:
        method = row["method"] + (f" ({'. '.join(row['error'].split('. ')[:2])})" if row.get("error") else "")
        lines.append(f"| {row['model']} | {method} | {fmt(row['s_per_edit'], '.3f')} | {ratio(row.get('time_ratio'))} "
                     f"| {fmt(row['peak_gib'])} | {fmt(row['extra_gib'])} | {ratio(row.get('extra_ratio'))} "
                     f"| {fmt(row['weights_gib'])} | {fmt(row['changed_tensors'], 'd')} |")
    header = ("| model | critical layers | tokens | stats tok/s | forward tok/s | stats / forward "
              "| forward to last critical layer tok/s | stats / that | final copy to CPU s | stats without it / "
              "forward to last critical layer | stats extra GiB |")
    lines += ["", header, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["statistics"]:  # runs before the copy was timed on its own have no copy columns
        lines.append(f"| {row['model']} | {row['layers']} | {row['tokens']} | {fmt(row['stats_tok_s'], ',.0f')} "
                     f"| {fmt(row['forward_tok_s'], ',.0f')} | {fmt(row['ratio'])} | {fmt(row['forward_to_tok_s'], ',.0f')} "
                     f"| {fmt(row['ratio_same_depth'])} | {fmt(row.get('copy_s'))} "
                     f"| {fmt(row.get('ratio_same_depth_pass_only'))} | {fmt(row['stats_extra_gib'])} |")
    return "\n".join(lines)


def render(paths: list[Path], markdown: Path | None) -> None:
    """One report per saved run, each with the command that measured it."""
    sections = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        sections.append(f"{report(data)}\n\nCommand: `{data['command']}`; raw data: `{path.name}`")
    text = "\n\n".join(sections)
    print(text)
    if markdown:
        write_text_atomically(markdown, text + "\n")


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Time and working-memory ratios of every row to EasyEdit's MEMIT on the same model, where both ran."""
    for row in rows:
        base = next((r for r in rows if r["model"] == row["model"] and r["method"] == BASELINE and not r.get("error")), None)
        if base is None or row.get("error"):
            continue
        row["time_ratio"] = row["s_per_edit"] / base["s_per_edit"]
        if row.get("extra_gib") is not None and base.get("extra_gib"):
            row["extra_ratio"] = row["extra_gib"] / base["extra_gib"]
            row["peak_ratio"] = row["peak_gib"] / base["peak_gib"]


def easyedit_version() -> str:
    source = os.environ.get("EASYEDIT_SRC")
    if not source:
        return "not used (EASYEDIT_SRC unset)"
    try:
        importlib.import_module("easyeditor")
    except Exception as error:  # noqa: BLE001 - reported, and its rows are skipped
        return f"EASYEDIT_SRC={source} does not import: {type(error).__name__}: {error}"
    return f"2026 source tree at {source}"


def save(data: dict[str, Any], path: Path | None) -> None:
    """Write the results so far (after every measurement: a run cut short keeps what it measured)."""
    if path:
        write_text_atomically(path, json.dumps(data, indent=2) + "\n")


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--pac-models", nargs="*", default=["llama3-8b"], choices=list(MODELS),
                        help="models PAC runs on (default: Llama-3-8B only)")
    parser.add_argument("--edits", type=int, default=3, help="timed edits per method (after one warm-up)")
    parser.add_argument("--dtype", default="float32", choices=("bfloat16", "float16", "float32"), help="weights' dtype")
    parser.add_argument("--stats-samples", type=int, default=None,
                        help="synthetic texts (300 words each, cut at the hparams' stats_max_length tokens) for the "
                             "statistics (default 64; 32 with --tiny)")
    parser.add_argument("--batch-size", type=int, default=16, help="texts per forward pass of the statistics")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds of the throughput comparison (best kept)")
    parser.add_argument("--tiny", action="store_true", help=f"CPU dry run on width-{TINY_WIDTH}, {TINY_LAYERS}-layer models")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1 with --tiny)")
    parser.add_argument("--workdir", type=Path, default=None, help="where statistics files go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file (after every model)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report (with the command) to this file")
    parser.add_argument("--render", type=Path, nargs="+", default=None, metavar="JSON",
                        help="measure nothing: print (and with --markdown write) the report of earlier --json files")
    args = parser.parse_args()
    if args.render:
        render(args.render, args.markdown)
        return
    if args.edits < 1 or args.repeats < 1:
        parser.error("--edits and --repeats must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # e.g. PAC on half precision
    if args.threads or args.tiny:
        torch.set_num_threads(args.threads or 1)
    if not args.tiny and not torch.cuda.is_available():
        sys.exit("bench_gpu.py: no CUDA device; run it on a GPU machine, or pass --tiny for a CPU dry run")
    torch.backends.cuda.matmul.allow_tf32 = False  # EasyEdit's default too: float32 means float32
    device = torch.device("cpu" if args.tiny else "cuda")
    dtype = getattr(torch, args.dtype)
    where = (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})" if device.type == "cuda"
             else f"CPU ({torch.get_num_threads()} thread(s)), tiny dry run")
    easyedit = easyedit_version()
    methods = [m for m in args.methods if m not in EASYEDIT_METHODS or easyedit.startswith("2026")]
    data: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "device": where,
        "torch": torch.__version__, "transformers": transformers.__version__, "easyedit": easyedit,
        "dtype": str(dtype).removeprefix("torch."), "tiny": args.tiny, "edits": args.edits,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "edits_results": [], "statistics": []}
    tok = train_tokenizer()
    texts = synthetic_corpus(args.stats_samples or (32 if args.tiny else 64), words_per_sample=300)
    requests = edit_requests(args.edits + 1)
    applies: dict[str, Callable[..., Any]] = {"BLUE": apply_blue_to_model, "BLUE-AlphaEdit": apply_blue_to_model,
                                              "reference": apply_blue_to_model, "PAC": apply_pac_to_model}
    target = 0 if device.type == "cuda" else "cpu"
    with (nullcontext(str(args.workdir)) if args.workdir else tempfile.TemporaryDirectory(prefix="bench_gpu_")) as folder:
        for model_name in args.models:
            workdir = Path(folder) / model_name
            stats_dir = workdir / "stats"
            label = MODELS[model_name][3]
            config = model_config(model_name, args.tiny, len(tok), tok.convert_tokens_to_ids(END_OF_TEXT))
            start = time.perf_counter()
            model = build_model(config, device, dtype, label)
            weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers())) / GIB
            print(f"{model_name}: {sum(p.numel() for p in model.parameters()) / 1e9:.3f}B parameters, {weights:.2f} GiB, "
                  f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            hparams = method_hparams(model_name, config.num_hidden_layers, stats_dir, len(texts), target)
            write_statistics(model, tok, texts, hparams["BLUE"], stats_dir, label, args.batch_size)
            # Throughput first, on the fresh model: it needs no edit, and a run cut short keeps it.
            data["statistics"].append({"model": model_name, **bench_statistics(
                model, tok, texts, hparams["BLUE"], args.batch_size, args.repeats, device)})
            save(data, args.json)
            runs = {name: (applies[name], hparams[name]) for name in methods if name in applies}
            if any(name in EASYEDIT_METHODS for name in methods):
                runs.update(easyedit_methods(hparams, stats_dir, workdir, model, tok, target, methods))
            for method in methods:
                if method == "PAC" and model_name not in args.pac_models:
                    continue
                row: dict[str, Any] = {"model": model_name, "method": method, "weights_gib": weights}
                apply, method_hparams_ = runs[method]
                try:
                    row.update(bench_method(model, tok, apply, method_hparams_, requests, device))
                except torch.cuda.OutOfMemoryError as error:
                    row.update(error=f"out of memory: {error}".splitlines()[0], s_per_edit=None, peak_gib=None,
                               extra_gib=None, changed_tensors=None)
                if "error" in row:  # outside the handler, whose traceback holds on to the memory
                    del model  # its weights may be half edited: start afresh
                    release(device)
                    model = build_model(config, device, dtype, label)
                data["edits_results"].append(row)
                print(f"{model_name} {method}: {fmt(row['s_per_edit'], '.3f')} s/edit, peak {fmt(row['peak_gib'])} GiB "
                      f"{row.get('error', '')}", file=sys.stderr)
                # What this method remembered about the model (AlphaEdit's projectors and running key
                # moments, cached statistics) must not count against the next method's memory.
                forget_model(model)
                release(device)
                add_ratios(data["edits_results"])
                save(data, args.json)
            del model, hparams, runs
            release(device)
    text = report(data)
    print(text)
    if args.markdown:
        write_text_atomically(args.markdown, f"{text}\n\nCommand: `{data['command']}`\n")


if __name__ == "__main__":
    main()
