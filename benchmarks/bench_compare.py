"""Sequential editing on the miniature world: MEMIT, AlphaEdit, BLUE, PAC and DMLE side by side.

    python benchmarks/bench_compare.py --preset full --edits 1000 --batch 10 --checkpoints 10 100 500 1000
    EASYEDIT_SRC=/path/to/EasyEdit python benchmarks/bench_compare.py ...   # EasyEdit's own MEMIT/AlphaEdit
    python benchmarks/bench_compare.py --preset test --edits 40 --checkpoints 10 40   # a quick look

What it does, on the trained world model of ``--preset`` (``easyedit_plugins.world``):

* **Fact methods** edit ``--edits`` counterfactual facts SEQUENTIALLY (EasyEdit's
  ``sequential_edit``): ``--batch`` facts per call, on the model the previous calls left, never
  restored. A subject may come back with another relation later in the sequence, never twice in
  one batch (``fact_requests(..., distinct_within=batch)``). Methods (``--methods``):

  - ``MEMIT``, ``AlphaEdit``: EasyEdit's own ``apply_memit_to_model`` / ``apply_AlphaEdit_to_model``
    when EasyEdit (the 2026 source tree, ``EASYEDIT_SRC``) is importable, else the package's
    reference modes (BLUE's engine with ``schedule: distributed``). ``MEMIT-ref`` and
    ``AlphaEdit-ref`` always name the reference modes (only run when asked for).
  - ``BLUE-MEMIT``, ``BLUE-AlphaEdit``: BLUE (``schedule: boundary``) on each base method.
  - ``PAC``: PAC in its own regime, joint (the paper trains all edits together): at each
    checkpoint the weights are restored and joint PAC runs on every fact of the stream so far
    (the cumulative set). The paper's settings (N=15 critical keys/values per layer, M=1,
    lambda=0.1, 12 epochs, mini-batches of 2), every layer, ``lr: auto`` with drift budget
    ``--pac-drift-budget`` (0.18, the paper's: lr = 0.18 / (12 x ceil(n / 2))) unless ``--pac-lr``
    gives a number. Running it only at checkpoints gives the same numbers as re-running it after
    every call (each run starts from the unedited model), at a fraction of the time; its time per
    edit is therefore the time of those runs over the number of facts.
  - ``PAC-chain``: labelled "PAC sequential chain (no replay)": consecutive joint PAC edits of
    ``--batch`` facts on top of each other, earlier facts never replayed -- not a regime of the
    paper (its first facts are forgotten); kept for comparison with the earlier reports.
  - ``FT``: plain FFN fine-tuning by PAC's engine (every neuron of every layer, no negative set,
    no contrastive step), in the same cumulative joint regime and with the same learning rate:
    the baseline the paper claims sparse paths plus the contrastive term beat.

  All locate-then-edit methods edit the same layers (the preset's ``EDIT_LAYERS`` or
  ``--layers``), read the same covariance file (written once in EasyEdit's cache layout from every
  line of ``world_statistics_corpus``) and use the same context templates (sampled once from the
  unedited model by the package and handed to EasyEdit's template cache, so that sampling noise
  is no difference between them). EasyEdit's AlphaEdit gets its null-space projector from its own
  ``get_project`` (written to a ``P_loc`` file: its built-in path only knows llama/qwen/gpt2-xl
  model names); that one-off computation counts as editing time, as the package's projector does.

  Settings: the demo's, measured on the world (``easyedit_plugins/demo/scenario.py``): MEMIT's
  lambda (``mom2_update_weight``) 100, up to 100 target steps (25 leave MEMIT's targets on the
  ``full`` world unconverged: efficacy 0.4 after 10 edits, 1.0 with 100), PAC (and FT) with the
  paper's settings and ``lr: auto`` (above); AlphaEdit with EasyEdit's absolute null-space
  threshold 2e-2 and ``L2`` 1 (EasyEdit's 10 leaves this model almost unedited).

* **DMLE** edits every rule the model knows, one rule (its formula, description and instance
  requests in one call) after the other, with the preset's ``RULE_STAGES``.

* **Metrics**, greedy whole-answer hits (``WorldModel.knows``), at every ``--checkpoints`` count
  and after the last edit, over ALL edits made so far: efficacy (the edit prompt gives
  ``target_new``), generalisation (the rephrase, another trained template of the fact, does) and
  locality (a fixed set of ``--locality`` facts that no request edits, each asked through a
  prompt the unedited model answers, keep their answers; many share a subject with an edited
  fact). DMLE: reliability per form, rephrase, Instance portability, Rule Understanding, the same
  fact locality, and rule locality (known prompts of the rules not edited yet).

* **Cost**: each method runs in its own process. Time per edit = wall (and CPU) seconds inside
  the edit calls only / number of edited requests. Peak memory = the highest resident set size
  during the edit calls (the kernel's peak counter is reset before every call, so evaluation is
  excluded) minus the resident size after loading the model (and EasyEdit). Both are also given
  as ratios to ``MEMIT`` of the same run: EasyEdit's own MEMIT, or the reference mode when
  EasyEdit is absent (the report says which).

Output in ``--out`` (default ``benchmarks/results``): ``compare-<date>.md`` (``compare-<preset>-
<date>.md`` for presets other than ``full``) with the tables, the exact command and the machine,
the same data as ``.json``, and ``-curves.png`` (efficacy, generalisation and locality against the
number of edits). Every finished method is kept in ``compare-parts/<settings key>/<method>.json``
and reused by a later run with the same settings unless ``--force``: an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import hashlib
import importlib
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Callable

if os.environ.get("EASYEDIT_SRC"):
    sys.path.insert(0, os.environ["EASYEDIT_SRC"])

import torch
from tqdm.auto import tqdm

from bench_blue import settings as easyedit_settings
from bench_world_editability import pac_settings
from compare_report import FACT_METRICS, PAC_LABELS, plot_curves, summary_rows, write_markdown
from memory import LIBC, Memory
from results_file import machine
from easyedit_plugins import (
    BLUEHyperParams, DMLEHyperParams, apply_blue_to_model, apply_dmle_to_model, apply_pac_to_model,
)
from easyedit_plugins.core.archspec import arch_spec
from easyedit_plugins.core.context import generate_templates
from easyedit_plugins.core.files import write_text_atomically
from easyedit_plugins.core.stats import collect_second_moments
from easyedit_plugins.core.stats_store import save_easyedit
from easyedit_plugins.methods.pac.projections import ffn_projections
from easyedit_plugins.easyedit_bridge import EasyEditHandle, load_easyedit
from easyedit_plugins.evaluation.token_accuracy import prediction_agreement, target_token_predictions, token_accuracy
from easyedit_plugins.world import WorldModel, load_world_model, world_model_path, world_statistics_corpus
from easyedit_plugins.world.presets import EDIT_LAYERS, RULE_STAGES
from easyedit_plugins.world.requests import fact_requests, rule_requests

SCRIPT = Path(__file__).resolve()
FACT_METHODS = ("MEMIT", "AlphaEdit", "BLUE-MEMIT", "BLUE-AlphaEdit", "PAC", "FT", "PAC-chain", "MEMIT-ref",
                "AlphaEdit-ref")
METHODS = (*FACT_METHODS, "DMLE")
DEFAULT_METHODS = ("MEMIT", "AlphaEdit", "BLUE-MEMIT", "BLUE-AlphaEdit", "PAC", "FT", "DMLE")
#: Methods run in PAC's joint regime on the cumulative set (from the unedited model, at checkpoints).
CUMULATIVE_METHODS = ("PAC", "FT")
#: Version of what a worker measures (greedy hits, token accuracy, split locality, changed layers):
#: parts of an older version are not reused.
METRICS_VERSION = 2
#: Name of the statistics corpus (EasyEdit's ``mom2_dataset``: the folder of the cache files).
CORPUS_NAME = "world"


# --- the plan every worker shares ---------------------------------------------------------------

def output_name(args: argparse.Namespace, today: str) -> str:
    return f"compare-{today}" if args.preset == "full" else f"compare-{args.preset}-{today}"


def easyedit_handle() -> EasyEditHandle | None:
    """EasyEdit if importable and of the 2026 generation (the 2023 release needs CUDA and old transformers)."""
    handle = load_easyedit()
    if handle is not None:
        logging.getLogger().setLevel(logging.WARNING)  # EasyEdit's import sets the root logger to INFO
    if handle is not None and handle.generation != "2026":
        print(f"EasyEdit {handle.generation} found: only the 2026 source tree is supported here; "
              "MEMIT and AlphaEdit run as the package's reference modes", file=sys.stderr)
        return None
    return handle


def easyedit_version(handle: EasyEditHandle | None) -> str:
    if handle is None:
        return "not importable"
    source = os.environ.get("EASYEDIT_SRC")
    if source:
        try:
            head = subprocess.run(["git", "-C", source, "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True, check=True).stdout.strip()
            return f"{handle.generation} source tree {source} (git {head})"
        except (OSError, subprocess.CalledProcessError):
            return f"{handle.generation} source tree {source} (no git metadata)"
    try:
        from importlib.metadata import version
        return f"{handle.generation} easyeditor {version('easyeditor')}"
    except Exception:  # noqa: BLE001 - only a label
        return handle.generation


def settings_key(args: argparse.Namespace, implementation: str) -> str:
    """What decides a method's numbers; finished methods are reused only under the same key."""
    fields = {name: getattr(args, name) for name in (
        "preset", "arch", "seed", "edits", "batch", "checkpoints", "layers", "locality", "threads",
        "v_num_grad_steps", "mom2_update_weight", "l2", "nullspace_threshold", "pac_lr", "pac_drift_budget",
        "pac_epochs", "pac_critical", "z_batch", "relations")}
    fields["metrics"] = METRICS_VERSION
    fields["easyedit"] = implementation
    fields["world_model"] = world_model_path(args.preset, args.arch, args.seed).name  # the world's cache key
    canonical = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def write_statistics(world: WorldModel, layers: list[int], stats_dir: Path) -> int:
    """C0 of ``layers`` from every corpus line, saved where EasyEdit 2026 looks (the package reads it too)."""
    corpus = world_statistics_corpus(world.world)
    spec = arch_spec(world.model)
    names = [spec.mlp_out_name(layer) for layer in layers]
    accumulators = collect_second_moments(world.model, world.tok, corpus, names, n_samples=len(corpus),
                                          dtype=torch.float32, progress=False)
    for name, accumulator in accumulators.items():
        path = stats_dir / world.path.name / f"{CORPUS_NAME}_stats" / f"{name}_float32_mom2_{len(corpus)}.npz"
        save_easyedit(path, accumulator, len(corpus))
    return len(corpus)


def locality_pairs(world: WorldModel, requests: list[dict[str, Any]], count: int, seed: int) -> list[list[str]]:
    """``count`` facts no request edits, each through one trained prompt the unedited model answers.

    Each pair is ``[prompt, answer, relation]``: locality is also reported separately for facts
    of the relations the stream edits and of the others.
    """
    import random
    trained = {p.prompt: p.fact for p in world.world.trained_fact_prompts}
    edited = {trained[r["prompt"]] for r in requests}
    prompts = [p for p in world.world.trained_fact_prompts if p.fact not in edited]
    known = [p for p, hit in zip(prompts, world.knows([(p.prompt, p.answer) for p in prompts])) if hit]
    by_fact: dict[Any, list[Any]] = {}
    for prompt in known:
        by_fact.setdefault(prompt.fact, []).append(prompt)
    rng = random.Random(f"compare-locality:{seed}")
    facts = sorted(by_fact, key=lambda f: (f.subject, f.relation))
    rng.shuffle(facts)
    return [[(chosen := rng.choice(by_fact[fact])).prompt, chosen.answer, fact.relation] for fact in facts[:count]]


def make_plan(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Everything the workers share: requests, locality set, templates, statistics, layers."""
    world = load_world_model(args.preset, args.arch, args.seed, threads=args.threads)
    layers = args.layers or EDIT_LAYERS.get(args.preset)
    if layers is None:
        raise SystemExit(f"no default critical layers for the {args.preset} preset: pass --layers")
    with_rules = "DMLE" in args.methods
    if with_rules and args.preset not in RULE_STAGES:
        raise SystemExit(f"no DMLE rule stages for the {args.preset} preset: leave DMLE out of --methods")
    stages = RULE_STAGES[args.preset] if with_rules else []
    n_layers = world.model.config.num_hidden_layers
    stats_layers = sorted({*layers, *(layer for stage in stages for layer in stage["layers"])})
    samples = write_statistics(world, stats_layers, work / "stats")
    facts = fact_requests(world.world, args.edits, seed=args.seed, knows=world.knows, distinct_within=args.batch,
                          relations=args.relations)
    rules = rule_requests(world.world, seed=args.seed, knows=world.knows) if with_rules else []
    templates = generate_templates(world.model, world.tok, seed=args.seed)
    plan = {
        "preset": args.preset, "arch": args.arch, "seed": args.seed, "model_path": str(world.path),
        "num_layers": n_layers, "parameters": world.report.get("parameters"), "accuracy": world.report["accuracy"],
        "layers": layers, "rule_stages": stages, "stats_dir": str(work / "stats"), "stats_samples": samples,
        "templates": templates, "facts": facts, "rules": rules,
        "locality": locality_pairs(world, facts, args.locality, args.seed),
    }
    plan["edited_relations"] = sorted(_relations_of(world, facts))
    # EasyEdit's locality in token accuracy compares the edited model's teacher-forced predictions
    # with the unedited model's: those are taken here, once.
    plan["locality_predictions"] = [list(t.predicted) for t in target_token_predictions(
        world.model, world.tok, [p for p, _, _ in plan["locality"]], [a for _, a, _ in plan["locality"]])]
    trained = {p.prompt: p.fact for p in world.world.trained_fact_prompts}
    edited_subjects = {r["subject"] for r in facts}
    plan["locality_same_subject"] = sum(trained[p].subject in edited_subjects for p, _, _ in plan["locality"])
    write_text_atomically(work / "plan.json", json.dumps(plan))
    return plan


def _relations_of(world: WorldModel, requests: list[dict[str, Any]]) -> set[str]:
    relation_of = {p.prompt: p.fact.relation for p in world.world.trained_fact_prompts}
    return {relation_of[r["prompt"]] for r in requests}


# --- methods ------------------------------------------------------------------------------------

Editor = Callable[[list[dict[str, Any]]], None]


def _common(plan: dict[str, Any], args: argparse.Namespace, spec: Any, layers: list[int]) -> dict[str, Any]:
    """EasyEdit's MEMIT/AlphaEdit key names and values, shared by EasyEdit's and the package's runs."""
    common = easyedit_settings(spec, layers, plan["num_layers"] - 1, args.v_num_grad_steps)
    common.update(mom2_dataset=CORPUS_NAME, mom2_n_samples=plan["stats_samples"], mom2_dtype="float32",
                  mom2_update_weight=args.mom2_update_weight)
    return common


def _alphaedit_keys(args: argparse.Namespace) -> dict[str, Any]:
    return {"L2": args.l2, "nullspace_threshold": args.nullspace_threshold}


def pac_engine_settings(method: str, world: WorldModel, args: argparse.Namespace) -> Any:
    """PAC's settings for ``PAC``/``PAC-chain``, or the fine-tuning baseline's for ``FT``."""
    hparams = pac_settings(world, args.pac_lr).replace(
        num_epochs=args.pac_epochs, n_critical=args.pac_critical, drift_budget=args.pac_drift_budget)
    if method == "FT":
        width = ffn_projections(world.model, [0], {})[0].num_neurons
        hparams = hparams.replace(n_critical=width, n_negative=0, contrastive_weight=0.0,
                                  trace_interval=args.pac_epochs)  # every neuron: one trace is enough
    return hparams


def package_editor(method: str, world: WorldModel, plan: dict[str, Any], args: argparse.Namespace) -> tuple[Editor, str, dict]:
    spec = arch_spec(world.model)
    common = _common(plan, args, spec, plan["layers"])
    shared = dict(model_name=plan["model_path"], device="cpu", stats_dir=plan["stats_dir"],
                  context_templates=plan["templates"][1], z_requests_per_batch=args.z_batch, **common)
    if method in PAC_LABELS:
        hparams = pac_engine_settings(method, world, args)
        apply = apply_pac_to_model
        label = PAC_LABELS[method]
    elif method == "DMLE":
        hparams = DMLEHyperParams(stages=plan["rule_stages"], **{k: v for k, v in shared.items() if k != "layers"})
        apply = apply_dmle_to_model
        label = "DMLE (rules)"
    else:
        base = "AlphaEdit" if "AlphaEdit" in method else "MEMIT"
        schedule = "boundary" if method.startswith("BLUE") else "distributed"
        extra = {**_alphaedit_keys(args), "nullspace_relative_threshold": None} if base == "AlphaEdit" else {}
        hparams = BLUEHyperParams(base_method=base, schedule=schedule, **shared, **extra)
        apply = apply_blue_to_model
        label = f"BLUE on {base}" if schedule == "boundary" else f"{base} (package reference mode)"

    def edit(requests: list[dict[str, Any]]) -> None:
        apply(world.model, world.tok, [dict(r) for r in requests], hparams)

    return edit, label, _describe(hparams)


def easyedit_editor(method: str, world: WorldModel, plan: dict[str, Any], args: argparse.Namespace,
                    log: Any) -> tuple[Editor, str, dict, Callable[[], None]]:
    """EasyEdit 2026's own apply function for MEMIT or AlphaEdit; returns also its one-off setup."""
    spec = arch_spec(world.model)
    common = _common(plan, args, spec, plan["layers"])
    base = dict(model_name=plan["model_path"], device="cpu", stats_dir=plan["stats_dir"], layer_selection="all",
                max_length=40, batch_size=args.batch, model_parallel=False, **common)
    if method == "MEMIT":
        main = importlib.import_module("easyeditor.models.memit.memit_main")
        hparams = importlib.import_module("easyeditor.models.memit.memit_hparams").MEMITHyperParams(alg_name="MEMIT", **base)
        apply = main.apply_memit_to_model
        setup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        main = importlib.import_module("easyeditor.models.alphaedit.AlphaEdit_main")
        p_loc = str(Path(plan["stats_dir"]).parent / f"P-{os.getpid()}.pt")
        hparams = importlib.import_module("easyeditor.models.alphaedit.AlphaEdit_hparams").AlphaEditHyperParams(
            alg_name="AlphaEdit", P_loc=p_loc, **_alphaedit_keys(args), **base)
        apply = main.apply_AlphaEdit_to_model

        def setup() -> None:
            # EasyEdit's own projector, saved where P_loc points (its built-in branch only knows
            # llama/qwen/gpt-j-6b/gpt2-xl names), and an empty running K K^T of the right size.
            with redirect_stdout(log):
                projectors = torch.stack([main.get_project(world.model, world.tok, layer, hparams)
                                          for layer in hparams.layers])
            torch.save(projectors, p_loc)
            main.cache_c = torch.zeros_like(projectors)
            main.cache_c_new = True
    main.CONTEXT_TEMPLATES_CACHE = plan["templates"]

    def edit(requests: list[dict[str, Any]]) -> None:
        with redirect_stdout(log):
            apply(world.model, world.tok, [dict(r) for r in requests], hparams)

    return edit, f"{method} (EasyEdit 2026)", _describe(hparams), setup


def _describe(hparams: Any) -> dict[str, Any]:
    values = dict(vars(hparams))
    values.pop("model_name", None)
    values.pop("context_templates", None)
    return json.loads(json.dumps(values, default=str))


# --- evaluation ---------------------------------------------------------------------------------

def _rate(world: WorldModel, pairs: list[tuple[str, str]]) -> float | None:
    if not pairs:
        return None
    hits = world.knows(pairs)
    return sum(hits) / len(hits)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _token_rate(world: WorldModel, pairs: list[tuple[str, str]]) -> float | None:
    """Mean teacher-forced token accuracy (EasyEdit's ``rewrite_acc``/``rephrase_acc``)."""
    if not pairs:
        return None
    return _mean(token_accuracy(world.model, world.tok, [p for p, _ in pairs], [a for _, a in pairs]))


def fact_metrics(world: WorldModel, edited: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, float | None]:
    """Greedy whole-answer hits and, beside them (``*_token``), teacher-forced token accuracy.

    Locality is also split into facts of the edited relations (``locality_same_relation``) and
    of the others (``locality_other_relation``; None when the stream edits every relation). Its
    token accuracy is EasyEdit's: agreement with the unedited model's predicted tokens.
    """
    locality = plan["locality"]
    same = [i for i, (_, _, relation) in enumerate(locality) if relation in plan["edited_relations"]]
    other = [i for i, (_, _, relation) in enumerate(locality) if relation not in plan["edited_relations"]]
    hits = world.knows([(p, a) for p, a, _ in locality])
    after = target_token_predictions(world.model, world.tok, [p for p, _, _ in locality], [a for _, a, _ in locality])
    agreement = [prediction_agreement(before, t.predicted) for before, t in zip(plan["locality_predictions"], after)]
    efficacy_pairs = [(r["prompt"], r["target_new"]) for r in edited]
    rephrase_pairs = [(r["rephrase_prompt"], r["target_new"]) for r in edited]
    return {
        "efficacy": _rate(world, efficacy_pairs),
        "generalisation": _rate(world, rephrase_pairs),
        "locality": _mean([float(h) for h in hits]),
        "locality_same_relation": _mean([float(hits[i]) for i in same]),
        "locality_other_relation": _mean([float(hits[i]) for i in other]),
        "efficacy_token": _token_rate(world, efficacy_pairs),
        "generalisation_token": _token_rate(world, rephrase_pairs),
        "locality_token": _mean(agreement),
        "locality_same_relation_token": _mean([agreement[i] for i in same]),
        "locality_other_relation_token": _mean([agreement[i] for i in other]),
    }


def rule_metrics(world: WorldModel, edited: list[dict[str, Any]], locality: list[list[str]],
                 unedited_rule_prompts: list[tuple[str, str]]) -> dict[str, float | None]:
    """Greedy whole-answer hits of the rule requests and, beside each (``*_token``), teacher-forced token accuracy.

    Token accuracy is the number the authors' EasyEdit path reports; on rules it is high before
    any edit because old and new formulas share most tokens, so the worker also records every
    metric on the unedited model (``pre_edit``).
    """
    pairs: dict[str, list[tuple[str, str]]] = {
        form: [(r["prompt"], r["target_new"]) for r in edited if r["form"] == form]
        for form in ("formula", "description", "instance")}
    pairs["efficacy"] = [(r["prompt"], r["target_new"]) for r in edited]
    pairs["generalisation"] = [(r["rephrase_prompt"], r["target_new"]) for r in edited]
    for metric, block in (("instance_portability", "Instance"), ("rule_understanding", "Rule_Understanding")):
        pairs[metric] = [(p, a) for r in edited for p, a in zip(r["portability"][block]["prompt"],
                                                               r["portability"][block]["ground_truth"])]
    scores: dict[str, float | None] = {}
    for metric, metric_pairs in pairs.items():
        scores[metric] = _rate(world, metric_pairs)
        scores[f"{metric}_token"] = _token_rate(world, metric_pairs)
    scores["locality"] = _rate(world, [(prompt, answer) for prompt, answer, _ in locality])
    scores["rule_locality"] = _rate(world, unedited_rule_prompts)
    return scores


# --- one method in its own process --------------------------------------------------------------

def warm_up(world: WorldModel) -> None:
    """Load the kernels every method uses (autograd, LAPACK) before the memory baseline.

    Their code pages and first-use buffers are tens of MiB: on a model of a few MiB they would
    otherwise dominate every method's "extra" memory.
    """
    batch = world.tok(["The home town of"], return_tensors="pt")
    world.model(**batch).logits.float().logsumexp(-1).sum().backward()
    world.model.zero_grad(set_to_none=True)
    matrix = torch.eye(8, dtype=torch.float64) * 2
    torch.linalg.solve(matrix, torch.ones(8, 2, dtype=torch.float64))
    torch.linalg.solve(matrix.float(), torch.ones(8, 2))
    torch.linalg.eigh(matrix)
    torch.linalg.svd(matrix.float())
    world.knows([("The home town of", "x")])


def ffn_output_weights(world: WorldModel) -> dict[int, torch.Tensor]:
    """A copy of every layer's FFN output matrix: which layers an edit wrote is checked on them."""
    spec = arch_spec(world.model)
    modules = dict(world.model.named_modules())
    return {layer: modules[spec.mlp_out_name(layer)].weight.detach().clone()
            for layer in range(world.model.config.num_hidden_layers)}


def run_worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    method = args.worker
    work = Path(args.work)
    plan = json.loads((work / "plan.json").read_text(encoding="utf-8"))
    handle = easyedit_handle()  # imported before the baseline so that it counts as loading, not editing
    world = load_world_model(plan["preset"], plan["arch"], plan["seed"], train_if_missing=False, progress=False)
    warm_up(world)
    # The cumulative regime restarts from the unedited model at every checkpoint; the copy is part
    # of the loaded baseline, not of any edit's memory.
    pristine = copy.deepcopy(world.model.state_dict()) if method in CUMULATIVE_METHODS else None
    outputs_before = ffn_output_weights(world)
    gc.collect()
    if LIBC is not None:
        LIBC.malloc_trim(0)
    memory = Memory()
    log = open(work / f"{method}.log", "w", encoding="utf-8")  # noqa: SIM115 - EasyEdit's prints
    setup: Callable[[], None] = lambda: None  # noqa: E731
    if method in ("MEMIT", "AlphaEdit") and handle is not None:
        edit, label, hparams, setup = easyedit_editor(method, world, plan, args, log)
        implementation = "EasyEdit 2026"
    else:
        name = method.removesuffix("-ref")
        edit, label, hparams = package_editor(name, world, plan, args)
        implementation = "package reference mode" if name in ("MEMIT", "AlphaEdit") else "package"

    pre_edit = None
    if method == "DMLE":
        pre_edit = rule_metrics(world, plan["rules"], plan["locality"], [])
        by_rule: dict[int, list[dict[str, Any]]] = {}
        for request in plan["rules"]:
            by_rule.setdefault(request["rule_id"], []).append(request)
        calls = list(by_rule.values())
        checkpoints = set(range(1, len(calls) + 1))
        all_rule_prompts = {rule_id: [(p, a) for r in cases for p, a in zip(
            [r["prompt"], r["rephrase_prompt"]], [r["ground_truth"]] * 2)] for rule_id, cases in by_rule.items()}
    else:
        requests = plan["facts"]
        calls = [requests[i:i + args.batch] for i in range(0, len(requests), args.batch)]
        checkpoints = {c // args.batch if c % args.batch == 0 else -1 for c in args.checkpoints if c <= len(requests)}
        checkpoints.add(len(calls))

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    memory.before_edit()
    setup()
    memory.after_edit()
    setup_wall, setup_cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    wall, cpu = setup_wall, setup_cpu
    edited: list[dict[str, Any]] = []
    curve = []
    call_seconds: list[float] = []
    eval_seconds = 0.0
    for index, call in enumerate(tqdm(calls, desc=f"{method:>14}", unit="call", dynamic_ncols=True), start=1):
        if pristine is not None:  # joint on the cumulative set, from the unedited model, where it is measured
            edited.extend(call)
            if index not in checkpoints:
                continue
            world.model.load_state_dict(pristine)
            call = list(edited)
        memory.before_edit()
        began_wall, began_cpu = time.perf_counter(), time.process_time()
        edit(call)
        call_seconds.append(time.perf_counter() - began_wall)
        wall += call_seconds[-1]
        cpu += time.process_time() - began_cpu
        memory.after_edit()
        if pristine is None:
            edited.extend(call)
        if index in checkpoints:
            began = time.perf_counter()
            if method == "DMLE":
                done = {r["rule_id"] for r in edited}
                unedited = [pair for rule_id, pairs in all_rule_prompts.items() if rule_id not in done for pair in pairs]
                scores = rule_metrics(world, edited, plan["locality"], unedited)
                point = {"edits": len(edited), "rules": len(done), **scores}
            else:
                point = {"edits": len(edited), **fact_metrics(world, edited, plan)}
            curve.append(point)
            eval_seconds += time.perf_counter() - began
            tqdm.write(f"{method:>14} after {point['edits']:>5} edits: " + ", ".join(
                f"{k} {v:.3f}" for k, v in point.items() if k in FACT_METRICS and v is not None), file=sys.stderr)
    log.close()
    outputs_after = ffn_output_weights(world)
    changed_layers = [layer for layer, weight in outputs_before.items() if not torch.equal(weight, outputs_after[layer])]
    result = {
        "method": method, "label": label, "implementation": implementation,
        "regime": ("joint on the cumulative set, re-run from the unedited model at each checkpoint"
                   if pristine is not None else "sequential calls on top of each other"),
        "kind": "rules" if method == "DMLE" else "facts",
        "edits": len(edited), "calls": len(calls), "pre_edit": pre_edit, "curve": curve, "final": curve[-1],
        "changed_layers": changed_layers,
        "seconds": {"edit_wall": wall, "edit_cpu": cpu, "setup_wall": setup_wall, "setup_cpu": setup_cpu,
                    "per_edit_wall": wall / len(edited), "per_edit_cpu": cpu / len(edited),
                    "evaluation_wall": eval_seconds, "calls_wall": call_seconds},
        "memory": memory.report(), "hparams": hparams,
        "finished": datetime.datetime.now().isoformat(timespec="seconds"), "load_average": os.getloadavg(),
        "torch_threads": torch.get_num_threads(),
    }
    write_text_atomically(args.part, json.dumps(result, indent=2))


# --- the orchestrating process ------------------------------------------------------------------

def worker_command(args: argparse.Namespace, method: str, work: Path, part: Path) -> list[str]:
    return [sys.executable, str(SCRIPT), *sys.argv[1:], "--worker", method, "--work", str(work), "--part", str(part)]


def command_line() -> str:
    prefix = f"EASYEDIT_SRC={shlex.quote(os.environ['EASYEDIT_SRC'])} " if os.environ.get("EASYEDIT_SRC") else ""
    script = os.path.relpath(SCRIPT, Path.cwd()) if SCRIPT.is_relative_to(Path.cwd()) else str(SCRIPT)
    return prefix + shlex.join([sys.executable, script, *sys.argv[1:]])


def orchestrate(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    today = datetime.date.today().isoformat()
    handle = easyedit_handle()
    implementation = "easyedit-2026" if handle is not None else "reference"
    methods = list(dict.fromkeys(args.methods))
    if handle is None:
        for name in ("MEMIT", "AlphaEdit"):
            if name in methods and f"{name}-ref" in methods:
                methods.remove(f"{name}-ref")  # the same run twice
    key = settings_key(args, implementation)
    parts_dir = args.out / "compare-parts" / key
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        work = Path(scratch)
        print(f"preparing the {args.preset} world: statistics, {args.edits} fact requests, rules, templates ...",
              file=sys.stderr)
        plan = make_plan(args, work)
        print(f"{len(plan['facts'])} facts ({len({r['subject'] for r in plan['facts']})} subjects), "
              f"{len({r['rule_id'] for r in plan['rules']})} rules, {len(plan['locality'])} locality facts, "
              f"layers {plan['layers']}; EasyEdit: {easyedit_version(handle)}", file=sys.stderr)
        parts: dict[str, dict[str, Any]] = {}
        for method in methods:
            part = parts_dir / f"{method}.json"
            if part.exists() and not args.force:
                parts[method] = json.loads(part.read_text(encoding="utf-8"))
                parts[method]["reused"] = True
                print(f"{method}: reusing {part} (finished {parts[method]['finished']}; --force reruns it)",
                      file=sys.stderr)
                continue
            outcome = subprocess.run(worker_command(args, method, work, part))
            if outcome.returncode != 0 or not part.exists():
                log = work / f"{method}.log"
                tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:] if log.exists() else []
                print(f"{method} FAILED (exit {outcome.returncode}); last lines of its log:\n  " + "\n  ".join(tail),
                      file=sys.stderr)
                continue
            parts[method] = json.loads(part.read_text(encoding="utf-8"))
    if not parts:
        raise SystemExit("no method finished")
    report = {
        "date": today, "command": command_line(), "settings": {**vars(args), "out": str(args.out)},
        "settings_key": key, "easyedit": easyedit_version(handle),
        "baseline": "MEMIT" if "MEMIT" in parts else None,
        "machine": {**machine(), "torch_threads": args.threads, "load_average_before": load_before,
                    "load_average_after": os.getloadavg()},
        "world": {k: plan[k] for k in ("preset", "arch", "seed", "model_path", "num_layers", "parameters", "accuracy",
                                        "layers", "rule_stages", "stats_samples", "locality_same_subject",
                                        "edited_relations")},
        "requests": {"facts": len(plan["facts"]), "subjects": len({r["subject"] for r in plan["facts"]}),
                     "rules": len({r["rule_id"] for r in plan["rules"]}), "rule_requests": len(plan["rules"]),
                     "locality": len(plan["locality"])},
        "methods": parts, "wall_seconds": time.perf_counter() - started,
    }
    name = output_name(args, today)
    rows = summary_rows(report)
    report["summary"] = rows
    plot = plot_curves(report, args.out / f"{name}-curves.png")
    write_text_atomically(args.out / f"{name}.json", json.dumps(report, indent=2, default=str))
    markdown = write_markdown(report, args.out / f"{name}.md", plot)
    print(markdown.read_text(encoding="utf-8"))


def pac_learning_rate(text: str) -> float | str:
    """``--pac-lr``: a positive number or ``auto``."""
    if text == "auto":
        return text
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive or 'auto', got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="full", help="world preset (test: quick runs)")
    parser.add_argument("--arch", default="gpt2")
    parser.add_argument("--seed", type=int, default=0, help="world seed, also the requests' seed")
    parser.add_argument("--edits", type=int, default=1000, help="facts edited in the sequence")
    parser.add_argument("--batch", type=int, default=10, help="facts per edit call")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10, 100, 500, 1000],
                        help="numbers of edits after which every method is evaluated (multiples of --batch)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(DEFAULT_METHODS))
    parser.add_argument("--layers", type=int, nargs="+", help="critical layers (default: the preset's EDIT_LAYERS)")
    parser.add_argument("--locality", type=int, default=300, help="unedited facts whose answers must not change")
    parser.add_argument("--relations", nargs="+", help="edit facts of these relations only (default: every relation); "
                        "locality is split into facts of these relations and of the others")
    parser.add_argument("--v-num-grad-steps", type=int, default=100,
                        help="target optimisation steps (at most; it stops once the loss is small)")
    parser.add_argument("--mom2-update-weight", type=float, default=100.0, help="MEMIT's lambda")
    parser.add_argument("--l2", type=float, default=1.0,
                        help="AlphaEdit's L2 (EasyEdit's default 10 leaves the world model almost unedited)")
    parser.add_argument("--nullspace-threshold", type=float, default=2e-2,
                        help="AlphaEdit's absolute eigenvalue threshold (EasyEdit's default)")
    parser.add_argument("--z-batch", type=int, default=None,
                        help="the package's z_requests_per_batch: requests whose targets are optimised together "
                             "(EasyEdit: one at a time; default: as many as fit in z_memory_budget_mib)")
    parser.add_argument("--pac-lr", type=pac_learning_rate, default="auto",
                        help="PAC's (and FT's) learning rate, or 'auto': --pac-drift-budget / (epochs x mini-batches)")
    parser.add_argument("--pac-drift-budget", type=float, default=0.18,
                        help="per-entry drift budget of --pac-lr auto (0.18: the paper's 12 x 1500 x 1e-5)")
    parser.add_argument("--pac-epochs", type=int, default=12)
    parser.add_argument("--pac-critical", type=int, default=15, help="PAC's critical keys/values per layer (N; "
                        "the paper's 15)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads per method (1 on a shared machine)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--force", action="store_true", help="rerun methods whose results are already in --out")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.edits < 1 or args.batch < 1:
        parser.error("--edits and --batch must be positive")
    args.checkpoints = sorted(set(args.checkpoints))
    wrong = [c for c in args.checkpoints if c % args.batch and c != args.edits]
    if wrong:
        parser.error(f"checkpoints {wrong} are not multiples of --batch {args.batch}")
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.worker:
        run_worker(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
