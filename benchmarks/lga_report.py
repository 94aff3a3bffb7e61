"""The LGA section of the fidelity report, from the measurements ``bench_lga_bruteforce.py`` took.

Kept apart from the measuring so the section's shape (the contract's keys, the claims, the
tables) can be built, and tested, from hand-made measurements in milliseconds. The verdicts
themselves come from :mod:`lga_variants`.

Tolerances of the claim rows (the paper gives no number for "almost"): a fixed layer edits
"almost as well" as the per-request oracle when the oracle's mean test score is at most
``ORACLE_GAP`` above it; LGA finds brute force's layer when its mean regret is at most
``REGRET_TOLERANCE``. Scores are the mean of efficacy, generalisation and locality, each a
greedy whole-answer hit rate, so with 32 test requests one request's hit is 0.01.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from lga_variants import VARIANTS, Variant, average_ranks, best_variant, default_variant
from results_file import command_line, machine

logger = logging.getLogger(__name__)

TITLE = "LGA: the golden layer against brute force and causal tracing"
METRIC = ("greedy exact match of the whole answer after one single-layer edit: the mean of efficacy, "
          "generalisation and locality on held-out test requests")
ORACLE_GAP = 0.05
REGRET_TOLERANCE = 0.02
#: The paper's reported speed-up over brute force (7-12x): the low end is the claim checked.
PAPER_SPEEDUP = 7.0


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _world_name(analysis: Mapping[str, Any]) -> str:
    return f"{analysis['arch']} seed {analysis['seed']}"


def speedups(analyses: Sequence[Mapping[str, Any]], variant: Variant) -> list[float]:
    """Brute force's search time over the variant's, per world."""
    return [a["brute_force"]["seconds"] / a["variants"][variant.key]["seconds"] for a in analyses]


def claims(analyses: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The paper's claims beside what the default variant measured here."""
    default = default_variant()
    row = summary["variants"][default.key]
    worlds = summary["worlds"]
    brute, oracle = summary["brute_force"]["mean_test_score"], summary["oracle"]["mean_test_score"]
    ours = [a["variants"][default.key]["test"] for a in analyses]
    traced = [a["causal_tracing"]["test"] for a in analyses]
    rewrite = sum(o["efficacy"] - t["efficacy"] for o, t in zip(ours, traced)) / worlds
    rephrase = sum(o["generalisation"] - t["generalisation"] for o, t in zip(ours, traced)) / worlds
    flat = summary["causal_tracing"]["flat_worlds"]
    faster = speedups(analyses, default)
    # a pick of layer 0 everywhere is what a rule with no search gives: say so beside the verdict
    only_first = ("; it picked layer 0 in every world model, as the search-free rule 'always layer 0' does "
                  f"(regret {summary['first_layer']['mean_regret']:.3f}): these worlds cannot tell the two apart"
                  if always_first_layer(analyses, default) else "")
    return [
        {"claim": "a fixed layer edits almost as well as the per-request best layer",
         "paper": "the golden layer edits almost as well as the sample-wise optimal layer",
         "measured": f"brute force's layer {brute:.3f} vs per-request oracle {oracle:.3f} "
                     f"(mean over {worlds} world models; tolerance {ORACLE_GAP})",
         "metric": METRIC, "holds": oracle - brute <= ORACLE_GAP},
        {"claim": "LGA finds that golden layer from a proxy set",
         "paper": "the golden layer is found by LGA on a small proxy set",
         "measured": f"LGA ({default.name}) picks brute force's layer in {row['picks_brute_force_layer']}/{worlds} "
                     f"world models; test score {row['mean_test_score']:.3f} vs brute force's {brute:.3f} "
                     f"(mean regret {row['mean_regret']:.3f}, tolerance {REGRET_TOLERANCE}){only_first}",
         "metric": METRIC, "holds": row["mean_regret"] <= REGRET_TOLERANCE},
        {"claim": "LGA's layer edits better than the causal-tracing layer",
         "paper": "up to +8.56% rewrite and +9.16% rephrase accuracy over the causal-tracing layer",
         "measured": f"efficacy {rewrite:+.3f}, generalisation {rephrase:+.3f} (LGA minus causal tracing, mean over "
                     f"{worlds} world models; tracing flat in {flat} of them){only_first}",
         "metric": "greedy exact match of the whole answer after one single-layer edit (efficacy = rewrite, "
                   "generalisation = rephrase)",
         "holds": None if flat == worlds else (rewrite >= 0 and rephrase >= 0)},
        {"claim": "LGA searches much faster than brute force",
         "paper": "7-12x faster than brute force",
         "measured": f"{min(faster):.0f}-{max(faster):.0f}x faster (wall time, {default.weights} gradients, "
                     f"brute force over every layer of the same proxy set)",
         "metric": "search wall time, key statistics excluded", "holds": min(faster) >= PAPER_SPEEDUP},
    ]


def _world_table(analyses: Sequence[Mapping[str, Any]], default: Variant, favoured: Variant) -> list[str]:
    lines = ["| world model | layers | brute force's layer | test-set best layer | per-request oracle | "
             "causal tracing's layer | LGA default's layer | favoured variant's layer |",
             "|---|---|---|---|---|---|---|---|"]
    for a in analyses:
        tracing = a["causal_tracing"]
        ours, fav = a["variants"][default.key], a["variants"][favoured.key]
        lines.append(
            f"| {_world_name(a)} | {a['layers']} | {a['brute_force']['layer']} ({a['brute_force']['test']['score']:.3f}) "
            f"| {a['test_best_layer']} ({a['test']['score'][a['test_best_layer']]:.3f}) | {a['oracle']:.3f} "
            f"| {tracing['layer']} ({tracing['test']['score']:.3f}){' flat' if tracing['flat'] else ''} "
            f"| {ours['layer']} ({ours['test']['score']:.3f}) | {fav['layer']} ({fav['test']['score']:.3f}) |")
    return lines


def _variant_table(analyses: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], default: Variant,
                   favoured: Variant) -> list[str]:
    worlds = summary["worlds"]
    header = "| variant (rank_by / fences / weights) | mean Spearman (worlds defined) | picks brute force's layer | " \
             "mean regret | mean test score | " + " | ".join(f"{_world_name(a)}: layer, rho" for a in analyses) + \
             " | search cost vs brute force |"
    lines = [header, "|" + "---|" * (6 + len(analyses))]
    for variant in VARIANTS:
        row = summary["variants"][variant.key]
        marks = (" **(default)**" if variant == default else "") + (" *(favoured)*" if variant == favoured else "")
        cells = [f"{a['variants'][variant.key]['layer']}, {_number(a['variants'][variant.key]['spearman'], 2)}"
                 for a in analyses]
        lines.append(
            f"| {variant.name}{marks} | {_number(row['mean_spearman'], 2)} ({row['spearman_defined']}) "
            f"| {row['picks_brute_force_layer']}/{worlds} | {row['mean_regret']:+.3f} | {row['mean_test_score']:.3f} | "
            + " | ".join(cells) + f" | {row['mean_cost_vs_brute_force']:.4f} |")
    first = summary["first_layer"]
    lines.append(
        f"| always layer 0 (no search; not LGA) | n/a | {first['picks_brute_force_layer']}/{worlds} "
        f"| {first['mean_regret']:+.3f} | {first['mean_test_score']:.3f} | " + " | ".join("0, n/a" for _ in analyses)
        + " | 0 |")
    tracing = summary["causal_tracing"]
    lines.append(
        f"| causal tracing (not LGA) | n/a | {tracing['picks_brute_force_layer']}/{worlds} | {tracing['mean_regret']:+.3f} "
        f"| {tracing['mean_test_score']:.3f} | " + " | ".join(f"{a['causal_tracing']['layer']}, n/a" for a in analyses)
        + f" | {tracing['mean_cost_vs_brute_force']:.4f} |")
    return lines


def _layer_table(analysis: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    test, proxy = analysis["test"], analysis["proxy"]
    lines = [f"{_world_name(analysis)} ({analysis['proxy_requests']} proxy, {analysis['test_requests']} test requests):",
             "",
             "| layer | test efficacy | test generalisation | test locality | test score | proxy score | "
             "S_l (mlp_out) | S_l (mlp_all) | causal effect |",
             "|---|---|---|---|---|---|---|---|---|"]
    for layer in range(analysis["layers"]):
        lines.append(
            f"| {layer} | {test['efficacy'][layer]:.3f} | {test['generalisation'][layer]:.3f} | "
            f"{test['locality'][layer]:.3f} | {test['score'][layer]:.3f} | {proxy['score'][layer]:.3f} | "
            f"{run['lga_scores']['mlp_out'][layer]:.4g} | {run['lga_scores']['mlp_all'][layer]:.4g} | "
            f"{analysis['causal_tracing']['effects'][layer]:.4f} |")
    return lines


def _time_table(analyses: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["| world model | brute force (s) | LGA mlp_out (s) | LGA mlp_all (s) | causal tracing (s) | "
             "brute force / LGA mlp_out | brute force / LGA mlp_all | brute force / causal tracing |",
             "|---|---|---|---|---|---|---|---|"]
    for a, run in zip(analyses, runs):
        wall = run["wall_seconds"]
        lines.append(
            f"| {_world_name(a)} | {wall['brute_force']:.1f} | {wall['lga_mlp_out']:.2f} | {wall['lga_mlp_all']:.2f} | "
            f"{wall['causal_tracing']:.2f} | {wall['brute_force'] / wall['lga_mlp_out']:.0f}x | "
            f"{wall['brute_force'] / wall['lga_mlp_all']:.0f}x | {wall['brute_force'] / wall['causal_tracing']:.0f}x |")
    return lines


def verdict(analyses: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> str:
    """One paragraph: the default against the variant the measurements favour, and whether that
    variant did anything a search-free rule would not have."""
    default, favoured = default_variant(), variant_named(best_variant(summary))
    ours, best = summary["variants"][default.key], summary["variants"][favoured.key]
    worlds = summary["worlds"]
    text = (f"Over {worlds} world model(s) the default ({default.name}) has mean regret {ours['mean_regret']:+.3f}, "
            f"picks brute force's layer {ours['picks_brute_force_layer']}/{worlds} times, mean Spearman "
            f"{_number(ours['mean_spearman'], 2)}. ")
    if favoured == default:
        text += "No other variant does better on these measurements."
    else:
        text += (f"The variant these measurements favour (lowest mean regret, then most picks of brute force's "
                 f"layer, then Spearman) is {favoured.name}: regret {best['mean_regret']:+.3f}, "
                 f"{best['picks_brute_force_layer']}/{worlds} picks, Spearman {_number(best['mean_spearman'], 2)}.")
    roles = [("The default", default)] + ([("The favoured variant", favoured)] if favoured != default else [])
    for role, variant in roles:
        if always_first_layer(analyses, variant):
            text += (f" {role} picked layer 0 in every world model: the same layers as the search-free rule "
                     "'always layer 0', so these measurements cannot tell it from that rule.")
    return text


def always_first_layer(analyses: Sequence[Mapping[str, Any]], variant: Variant) -> bool:
    """Whether ``variant`` picked layer 0 in every world model, as a rule with no search would."""
    return all(a["variants"][variant.key]["layer"] == 0 for a in analyses)


def variant_named(key: str) -> Variant:
    return next(variant for variant in VARIANTS if variant.key == key)


def markdown(raw: Mapping[str, Any], plots: Sequence[str]) -> str:
    analyses, summary, runs, settings = raw["analyses"], raw["aggregate"], raw["runs"], raw["settings"]
    default, favoured = default_variant(), variant_named(best_variant(summary))
    first = analyses[0]
    parts = [
        f"### {TITLE}",
        "",
        f"`{settings['preset']}` world, architectures {', '.join(settings['arches'])}, seeds "
        f"{', '.join(map(str, settings['seeds']))}; per world model {first['proxy_requests']} proxy and "
        f"{first['test_requests']} held-out test fact edits, each edited alone at every single layer (BLUE with "
        f"`layers: [l]`, single-layer MEMIT, lambda {settings['mom2_update_weight']}) and undone. Scores: {METRIC}. "
        "Brute force's layer is the best on the proxy set; the per-request oracle takes each test request's own best "
        "layer. A variant's ordering ranks the layers inside Tukey's fences by its reading of S_l and the fenced-out "
        "layers below them (tied); rho is Spearman's correlation (average ranks for ties) of that ordering with the "
        "per-layer test scores, n/a where either side is constant. Regret: brute force layer's test score minus the "
        "picked layer's (negative: the variant's layer did better on the test set). Causal tracing reads the proxy "
        "prompts whose subject does not end the prompt (where it does, the subject's last token is the final token). "
        "'flat': causal tracing gave every layer the same effect, so its layer is the lowest by the tie rule, not a "
        "reading.",
        "",
        *_world_table(analyses, default, favoured),
        "",
        *_variant_table(analyses, summary, default, favoured),
        "",
        verdict(analyses, summary),
        "",
        "Search wall times (one run each after an untimed warm-up of the sub-second searches; the six readings "
        "of one kind of weights share its gradients, so they cost the same; key statistics excluded):",
        "",
        *_time_table(analyses, runs),
        "",
        "Per layer:",
    ]
    for analysis, run in zip(analyses, runs):
        parts += ["", *_layer_table(analysis, run)]
    parts += ["", f"Caveats: {first['layers']}-layer models and {summary['worlds']} world model(s); with "
              f"{first['test_requests']} test requests one request changes a layer's score by "
              f"{1 / first['test_requests'] / 3:.3f} to {1 / first['test_requests']:.3f}, and ties between layers are "
              "common, so picks and correlations are coarse."]
    for analysis in analyses:
        efficacy = max(analysis["test"]["efficacy"])
        if efficacy < 0.5:
            parts += ["", f"Note: in {_world_name(analysis)} no single-layer edit writes most test facts (best mean "
                      f"efficacy {efficacy:.3f}): its layers differ mostly in generalisation and locality, and a "
                      "layer choice there says little about editing."]
    for plot in plots:
        parts += ["", f"![per-layer brute-force test score and the rank of each LGA reading]({plot})"]
    return "\n".join(parts) + "\n"


def build_section(raw: Mapping[str, Any], plot: Path | None, folder: Path) -> dict[str, Any]:
    """The contract's JSON object; ``plot`` is stored relative to ``folder`` (the JSON's folder)."""
    plots = [Path(os.path.relpath(plot, folder)).as_posix()] if plot is not None else []
    return {
        "section": "LGA",
        "title": TITLE,
        "command": command_line(),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "claims": claims(raw["analyses"], raw["aggregate"]),
        "markdown": markdown(raw, plots),
        "plots": plots,
        "raw": dict(raw),
    }


def results_summary(section: Mapping[str, Any]) -> str:
    """The standalone results file's text: the claims as a list, then the section's body."""
    rows = [f"* {row['claim']} (paper: {row['paper']}): {row['measured']}; holds: {row['holds']}"
            for row in section["claims"]]
    return "\n".join(rows) + "\n\n" + section["markdown"]


def plot_layers(analyses: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    """One panel per world model: brute force's per-layer test score and the layers' rank under
    each ``rank_by`` reading of S_l (mlp_out; 0 = ranked last, 1 = first; ranks, because the first
    layer's score dwarfs the others'). Hollow markers: layers Tukey's fences (k = 1) drop;
    triangles: the pick with the fences, squares: without. None without matplotlib."""
    from easyedit_plugins.plotting import matplotlib_parts

    try:
        mpl = matplotlib_parts("plotting LGA against brute force")
    except ImportError as error:
        logger.warning("%s; no plot", error)
        return None
    columns = min(2, len(analyses))
    rows = math.ceil(len(analyses) / columns)
    figure = mpl.Figure(figsize=(max(7.0, 5.2 * columns), 3.6 * rows))
    mpl.Canvas(figure)
    styles = {"signed": ("#d95f02", "--", 0.0), "negated": ("#1b9e77", "-.", 0.03), "absolute": ("#7570b3", ":", -0.03)}
    for index, analysis in enumerate(analyses):
        axes = figure.add_subplot(rows, columns, index + 1)
        layers = list(range(analysis["layers"]))
        axes.plot(layers, analysis["test"]["score"], color="black", linewidth=2, marker="o",
                  label="brute force: test score")
        brute = analysis["brute_force"]["layer"]
        axes.plot([brute], [analysis["test"]["score"][brute]], marker="*", markersize=15, color="gold",
                  markeredgecolor="black", linestyle="none", label="brute force's layer")
        for rank_by, (colour, line, shift) in styles.items():
            fenced = analysis["variants"][Variant(rank_by, 1.0, "mlp_out").key]
            open_ = analysis["variants"][Variant(rank_by, None, "mlp_out").key]
            ranks = average_ranks(open_["ordering"])
            scaled = [(rank - 1) / max(1, len(layers) - 1) + shift for rank in ranks]
            axes.plot(layers, scaled, color=colour, linestyle=line, linewidth=1, label=f"LGA {rank_by}: rank")
            for layer in layers:
                dropped = fenced["ordering"][layer] is None
                axes.plot([layer], [scaled[layer]], marker="o", markersize=5, color=colour,
                          markerfacecolor="white" if dropped else colour, linestyle="none")
            axes.plot([fenced["layer"]], [scaled[fenced["layer"]]], marker="v", markersize=10, color=colour,
                      linestyle="none")
            axes.plot([open_["layer"]], [scaled[open_["layer"]]], marker="s", markersize=9, markerfacecolor="none",
                      color=colour, linestyle="none")
        axes.set_xticks(layers)
        axes.set_ylim(-0.08, 1.12)
        axes.set_xlabel("layer")
        axes.set_ylabel("test score / normalised rank")
        axes.set_title(f"{_world_name(analysis)}", fontsize=10)
        if index == 0:
            axes.legend(fontsize=6, loc="best")
    figure.suptitle("brute force vs LGA readings of S_l (mlp_out). Hollow: fenced out (k=1); "
                    "triangle: pick with fences; square: without", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
