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
from typing import Any, Mapping, Sequence

from ...plotting import matplotlib_parts
from .choose import LayerChoice
from .search import FLAT, LGAReport
from .tukey import TukeyFences

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
    chosen = mpl.Patch(facecolor=CHOSEN, edgecolor="black", label="chosen")
    best = mpl.Line2D([], [], color=BEST, marker="*", markersize=10, linestyle="none", label="best layer")
    if k is None:  # no fences: every layer is ranked, nothing is dropped
        return [chosen, mpl.Patch(facecolor=KEPT, edgecolor="black", label="ranked (no Tukey fences)"), best]
    return [
        chosen,
        mpl.Patch(facecolor=KEPT, edgecolor="black", label="inside the fences"),
        mpl.Patch(facecolor=DROPPED, edgecolor="black", hatch="///", label="outside the fences (dropped)"),
        mpl.Line2D([], [], color=FENCE, linestyle="--", label=f"Tukey fences (k = {k:g})"),
        best,
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
    rule = report.config.group_selection if report.staged else report.config.selection
    panels = {name: (report.group_scores[name], report.choices[name]) for name in report.choices}
    return _draw(panels, rule, report.scores.num_layers, path, title)


def plot_selection(selection: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Draw a saved selection (the JSON that ``output_dir`` receives, as a mapping) into ``path``.

    This is the choice an edit actually used, read back, rather than a new search that may
    score other requests.
    """
    groups = selection["details"]["groups"]
    settings = selection["details"]["settings"]
    rule = settings["selection"] if set(groups) == {FLAT} else settings["group_selection"]
    panels = {}
    for name, group in groups.items():
        fences = TukeyFences(**{key: group["fences"][key] for key in ("low", "high", "q1", "q3", "k")})
        choice = LayerChoice(list(group["layers"]), group["best"], list(group["kept"]), fences)
        panels[name] = (list(selection["scores"][name]), choice)
    num_layers = max(len(scores) for scores, _ in panels.values())
    return _draw(panels, rule, num_layers, path, title)


def _draw(panels: Mapping[str, tuple[Sequence[float], LayerChoice]], rule: str, num_layers: int,
          path: str | Path, title: str | None) -> Path:
    mpl = matplotlib_parts("plotting LGA scores")
    width = max(6.0, 0.4 * num_layers + 2.0) + 2.6  # bars + the legend on the right
    figure = mpl.Figure(figsize=(width, 3.4 * len(panels) + (0.4 if title else 0.0)))
    mpl.Canvas(figure)
    for index, (name, (scores, choice)) in enumerate(panels.items()):
        axes = figure.add_subplot(len(panels), 1, index + 1)
        _panel(axes, mpl, name, scores, choice, rule)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
