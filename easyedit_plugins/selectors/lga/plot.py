"""A PNG of LGA's per-layer scores: the Tukey fences, the dropped layers and the chosen ones.

One panel per group (the flat list, or each DMLE stage). The first and last layers often
score orders of magnitude above the rest, which would flatten every other bar, so the y-axis
spans the fences and the kept scores; a bar cut by the axis carries its value as a label.

Matplotlib comes from the ``plots`` extra, imported only when a plot is asked for
(:mod:`easyedit_plugins.plotting`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from ...plotting import matplotlib_parts
from .choose import LayerChoice
from .search import LGAReport

CHOSEN, KEPT, DROPPED, FENCE, BEST = "#d95f02", "#1b9e77", "#bdbdbd", "#7570b3", "#e7298a"


def _y_range(scores: Sequence[float], choice: LayerChoice) -> tuple[float, float]:
    shown = [scores[layer] for layer in choice.kept] + [0.0]
    for fence in (choice.fences.low, choice.fences.high):
        if math.isfinite(fence):
            shown.append(fence)
    low, high = min(shown), max(shown)
    margin = 0.12 * (high - low or abs(high) or 1.0)
    return low - margin, high + margin


def _legend(mpl: Any, k: float | None) -> list[Any]:
    return [
        mpl.Patch(facecolor=CHOSEN, edgecolor="black", label="chosen"),
        mpl.Patch(facecolor=KEPT, edgecolor="black", label="inside the fences"),
        mpl.Patch(facecolor=DROPPED, edgecolor="black", hatch="///", label="outside the fences (dropped)"),
        mpl.Line2D([], [], color=FENCE, linestyle="--", label=f"Tukey fences (k = {k})"),
        mpl.Line2D([], [], color=BEST, marker="*", markersize=10, linestyle="none", label="best layer"),
    ]


def _panel(axes: Any, mpl: Any, name: str, scores: Sequence[float], choice: LayerChoice, rule: str) -> None:
    layers = range(len(scores))
    kept = set(choice.kept)
    colours = [CHOSEN if layer in choice.layers else KEPT if layer in kept else DROPPED for layer in layers]
    bars = axes.bar(layers, scores, color=colours, edgecolor="black", linewidth=0.4)
    for layer, bar in zip(layers, bars):
        if layer not in kept:
            bar.set_hatch("///")
    bottom, top = _y_range(scores, choice)
    axes.set_ylim(bottom, top)
    for layer, value in zip(layers, scores):
        if value > top or value < bottom:
            above = value > top
            axes.text(layer, top if above else bottom, f"{value:.3g} {'^' if above else 'v'}", ha="center",
                      va="top" if above else "bottom", fontsize=7,
                      bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    for fence in (choice.fences.low, choice.fences.high):
        if math.isfinite(fence):
            axes.axhline(fence, color=FENCE, linestyle="--", linewidth=1)
    axes.axhline(0.0, color="black", linewidth=0.5)
    axes.plot([choice.best], [min(max(scores[choice.best], bottom), top)], marker="*", markersize=14,
              color=BEST, linestyle="none")
    axes.set_xticks(list(layers))
    axes.set_xlabel("layer")
    axes.set_ylabel("sum <g_old, g_new>")
    axes.set_title(f"{name}: {rule} -> layers {choice.layers} (best {choice.best})", fontsize=10)
    axes.legend(handles=_legend(mpl, choice.fences.k), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_scores(report: LGAReport, path: str | Path, title: str | None = None) -> Path:
    """Draw ``report``'s scores into the PNG ``path`` and return it."""
    mpl = matplotlib_parts("plotting LGA scores")
    names = list(report.choices)
    width = max(6.0, 0.4 * report.scores.num_layers + 2.0) + 2.6  # bars + the legend on the right
    figure = mpl.Figure(figsize=(width, 3.4 * len(names) + (0.4 if title else 0.0)))
    mpl.Canvas(figure)
    rule = report.config.group_selection if report.staged else report.config.selection
    for index, name in enumerate(names):
        axes = figure.add_subplot(len(names), 1, index + 1)
        _panel(axes, mpl, name, report.group_scores[name], report.choices[name], rule)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
