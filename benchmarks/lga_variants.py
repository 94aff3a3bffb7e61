"""Judging LGA's scoring variants against brute force, from measurements already taken.

``bench_lga_bruteforce.py`` measures, per world model (architecture x seed): the edit quality of
every single-layer edit of every proxy and test request (brute force), LGA's per-layer score
``S_l`` with each choice of scored weights, causal tracing's indirect effects and the search
times. This module turns one such measurement into a verdict on each of the 12 scoring
variants (``rank_by`` x Tukey's ``k`` x ``weights``) and averages the verdicts over the worlds.
It imports no torch and runs no model, so the tests can feed it hand-made measurements.

A variant's *ordering score* of a layer is the value ``choose_layers`` ranks it by (the signed,
negated or absolute ``S_l``) for the layers inside Tukey's fences; a layer outside the fences is
never chosen, so it ranks below every kept layer (all dropped layers tie). Its Spearman
correlation with brute force's per-layer test scores says how well the whole ordering, not only
the top layer, agrees with editing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from easyedit_plugins.selectors.lga import LGAHyperParams, choose_layers
from easyedit_plugins.selectors.lga.choose import ranking_value

#: The three edit-quality metrics of a fact edit, each a greedy whole-answer hit rate.
METRICS = ("efficacy", "generalisation", "locality")

RANK_BY = ("signed", "negated", "absolute")
TUKEY_K = (1.0, None)
WEIGHTS = ("mlp_out", "mlp_all")


@dataclass(frozen=True)
class Variant:
    """One way of turning LGA's gradients into a layer: what is scored and how it is ranked."""

    rank_by: str
    tukey_k: float | None
    weights: str

    @property
    def name(self) -> str:
        fences = "Tukey k=1" if self.tukey_k is not None else "no fences"
        return f"{self.rank_by} / {fences} / {self.weights}"

    @property
    def key(self) -> str:
        """A short identifier for JSON: ``signed-k1-mlp_out``."""
        return f"{self.rank_by}-{'k1' if self.tukey_k is not None else 'nok'}-{self.weights}"


VARIANTS: tuple[Variant, ...] = tuple(
    Variant(rank_by, tukey_k, weights) for weights in WEIGHTS for tukey_k in TUKEY_K for rank_by in RANK_BY
)


def default_variant() -> Variant:
    """The variant ``LGAHyperParams()`` uses, so the report follows the shipped default."""
    defaults = LGAHyperParams()
    return Variant(defaults.rank_by, defaults.tukey_k, defaults.weights)


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, smallest value first; tied values share the mean of their positions."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation with ties (Pearson's r of the average ranks).

    None when it is undefined: fewer than two values, or one side constant (every layer edits
    alike, or the variant ranks every layer the same), where no ordering exists to agree with.
    """
    if len(x) != len(y):
        raise ValueError(f"Spearman needs equally long sequences, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def first_argmax(values: Sequence[float]) -> int:
    """The index of the largest value; the lowest such index on ties (as ``choose_layers`` does)."""
    return max(range(len(values)), key=lambda index: (values[index], -index))


def ordering_scores(scores: Sequence[float], variant: Variant) -> list[float]:
    """The value each layer is ranked by; ``-inf`` for layers outside the variant's fences."""
    kept = set(choose_layers(scores, "top1", tukey_k=variant.tukey_k, rank_by=variant.rank_by).kept)
    return [ranking_value(value, variant.rank_by) if layer in kept else -math.inf for layer, value in enumerate(scores)]


def layer_means(table: Sequence[Sequence[Sequence[float]]]) -> dict[str, list[float]]:
    """Per-layer means over the requests of a ``requests x layers x metrics`` table, per metric
    and as ``score`` (the mean of the three metrics)."""
    requests, layers = len(table), len(table[0])
    means = {
        metric: [sum(table[r][layer][m] for r in range(requests)) / requests for layer in range(layers)]
        for m, metric in enumerate(METRICS)
    }
    means["score"] = [sum(means[metric][layer] for metric in METRICS) / len(METRICS) for layer in range(layers)]
    return means


def per_request_oracle(table: Sequence[Sequence[Sequence[float]]]) -> float:
    """The mean over requests of each request's best single-layer score (the paper's
    "sample-wise optimal layer")."""
    best = [max(sum(metrics) / len(metrics) for metrics in request) for request in table]
    return sum(best) / len(best)


def at_layer(means: Mapping[str, Sequence[float]], layer: int) -> dict[str, float]:
    return {name: float(values[layer]) for name, values in means.items()}


def analyse_world(run: Mapping[str, Any]) -> dict[str, Any]:
    """Every verdict on one world's measurement (see :mod:`bench_lga_bruteforce` for its keys)."""
    proxy, test = layer_means(run["proxy_table"]), layer_means(run["test_table"])
    brute_layer = first_argmax(proxy["score"])
    brute = at_layer(test, brute_layer)
    effects = run["causal_effects"]
    tracing_layer = first_argmax(effects)
    wall = run["wall_seconds"]
    variants: dict[str, Any] = {}
    for variant in VARIANTS:
        scores = run["lga_scores"][variant.weights]
        ordering = ordering_scores(scores, variant)
        layer = first_argmax(ordering)
        picked = at_layer(test, layer)
        seconds = wall[f"lga_{variant.weights}"]
        variants[variant.key] = {
            "name": variant.name, "rank_by": variant.rank_by, "tukey_k": variant.tukey_k, "weights": variant.weights,
            "ordering": [None if math.isinf(value) else value for value in ordering],
            "spearman": spearman(ordering, test["score"]),
            "layer": layer, "test": picked, "picks_brute_force_layer": layer == brute_layer,
            "regret": brute["score"] - picked["score"],
            "seconds": seconds, "cost_vs_brute_force": seconds / wall["brute_force"],
        }
    return {
        "arch": run["arch"], "seed": run["seed"], "layers": len(proxy["score"]),
        "proxy_requests": len(run["proxy_table"]), "test_requests": len(run["test_table"]),
        "proxy": proxy, "test": test,
        "brute_force": {"layer": brute_layer, "test": brute, "seconds": wall["brute_force"]},
        "test_best_layer": first_argmax(test["score"]),
        "oracle": per_request_oracle(run["test_table"]),
        # A rule with no search at all, to tell a reading that finds layer 0 from one that always picks it.
        "first_layer": {"layer": 0, "test": at_layer(test, 0), "regret": brute["score"] - test["score"][0]},
        "causal_tracing": {
            "layer": tracing_layer, "test": at_layer(test, tracing_layer), "effects": list(effects),
            # Equal effects at every layer: the argmax is the lowest layer by the tie rule, not a reading.
            "flat": max(effects) - min(effects) <= 1e-6 * max(1.0, abs(max(effects))),
            "seconds": wall["causal_tracing"], "cost_vs_brute_force": wall["causal_tracing"] / wall["brute_force"],
        },
        "variants": variants,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(analyses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each variant over the worlds: mean Spearman (over the worlds where it is defined), how
    often it picks brute force's layer, mean regret (brute force's layer's test score minus the
    picked layer's), mean test score and mean search cost; causal tracing alongside."""
    variants: dict[str, Any] = {}
    for variant in VARIANTS:
        rows = [analysis["variants"][variant.key] for analysis in analyses]
        correlations = [row["spearman"] for row in rows if row["spearman"] is not None]
        variants[variant.key] = {
            "name": variant.name,
            "mean_spearman": _mean(correlations), "spearman_defined": len(correlations),
            "picks_brute_force_layer": sum(row["picks_brute_force_layer"] for row in rows),
            "mean_regret": _mean([row["regret"] for row in rows]),
            "mean_test_score": _mean([row["test"]["score"] for row in rows]),
            "mean_cost_vs_brute_force": _mean([row["cost_vs_brute_force"] for row in rows]),
        }
    tracing = [analysis["causal_tracing"] for analysis in analyses]
    brute = [analysis["brute_force"] for analysis in analyses]
    return {
        "worlds": len(analyses),
        "variants": variants,
        "brute_force": {"mean_test_score": _mean([row["test"]["score"] for row in brute])},
        "oracle": {"mean_test_score": _mean([analysis["oracle"] for analysis in analyses])},
        "first_layer": {
            "picks_brute_force_layer": sum(b["layer"] == 0 for b in brute),
            "mean_regret": _mean([analysis["first_layer"]["regret"] for analysis in analyses]),
            "mean_test_score": _mean([analysis["first_layer"]["test"]["score"] for analysis in analyses]),
        },
        "causal_tracing": {
            "picks_brute_force_layer": sum(t["layer"] == b["layer"] for t, b in zip(tracing, brute)),
            "mean_regret": _mean([b["test"]["score"] - t["test"]["score"] for t, b in zip(tracing, brute)]),
            "mean_test_score": _mean([t["test"]["score"] for t in tracing]),
            "flat_worlds": sum(t["flat"] for t in tracing),
            "mean_cost_vs_brute_force": _mean([t["cost_vs_brute_force"] for t in tracing]),
        },
    }


def best_variant(summary: Mapping[str, Any]) -> str:
    """The variant key the measurements favour: lowest mean regret, then most picks of brute
    force's layer, then highest mean Spearman (undefined counts as lowest), then the table order."""
    def merit(item: tuple[int, Variant]) -> tuple[float, float, float, int]:
        index, variant = item
        row = summary["variants"][variant.key]
        correlation = row["mean_spearman"] if row["mean_spearman"] is not None else -math.inf
        return (row["mean_regret"], -row["picks_brute_force_layer"], -correlation, index)

    return min(enumerate(VARIANTS), key=merit)[1].key
