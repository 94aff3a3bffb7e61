"""From scores to layers: rank the layers inside the Tukey fences, then apply a selection rule.

The paper edits one golden layer: the best-ranked layer (``top1``). For editors that write
several layers its rule is unknown, so two natural ones are offered: the ``topk`` best-ranked
layers (not necessarily adjacent), or a ``window`` of consecutive layers containing the best
one. Of the windows that contain it and fit in the model, the one with the fewest layers
outside the fences wins (the fences drop the extreme first and last layers, which a window
should not reach into just to stay centred), then the one most centred on the best layer (an
even-sized window has its extra layer above it). A window is contiguous by design, so it may
still contain a dropped layer when no other window avoids it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .hparams import RankBy, SelectionRule
from .tukey import TukeyFences, tukey_fences


def ranking_value(score: float, rank_by: RankBy) -> float:
    if rank_by == "negated":
        return -score
    if rank_by == "absolute":
        return abs(score)
    return score


@dataclass(frozen=True)
class LayerChoice:
    """The chosen layers (increasing) and how they were found."""

    layers: list[int]
    best: int
    kept: list[int]
    fences: TukeyFences


def ranked_layers(scores: Sequence[float], kept: Sequence[int], rank_by: RankBy) -> list[int]:
    """``kept`` from best to worst (ties: the lower layer first)."""
    return sorted(kept, key=lambda layer: (-ranking_value(scores[layer], rank_by), layer))


def window_around(best: int, size: int, num_layers: int, kept: Sequence[int] | None = None) -> list[int]:
    """``size`` consecutive layers containing ``best``, inside ``[0, num_layers)``: the fewest
    layers outside ``kept`` (every layer counts as kept without it), then the most centred."""
    size = min(size, num_layers)
    allowed = set(range(num_layers) if kept is None else kept)
    centred = best - (size - 1) // 2
    starts = range(max(0, best - size + 1), min(best, num_layers - size) + 1)

    def cost(start: int) -> tuple[int, int, int]:
        dropped = sum(layer not in allowed for layer in range(start, start + size))
        return dropped, abs(start - centred), start

    start = min(starts, key=cost)
    return list(range(start, start + size))


def layers_to_choose(rule: SelectionRule, current: Sequence[int], requested: int | None = None) -> int:
    """How many layers ``rule`` picks: 1 for ``top1``, else ``requested``, else as many as the
    method lists now (the span of its list for ``window``, the list's length for ``topk``)."""
    if rule == "top1":
        return 1
    if requested is not None:
        return requested
    if not current:
        return 1
    return max(current) - min(current) + 1 if rule == "window" else len(current)


def choose_layers(
    scores: Sequence[float],
    rule: SelectionRule,
    count: int = 1,
    *,
    tukey_k: float | None,
    rank_by: RankBy,
) -> LayerChoice:
    """Apply the fences and ``rule`` (``count`` layers for ``window``; for ``topk`` at most
    ``count``, as only layers inside the fences are ranked). ``tukey_k`` and ``rank_by`` have no
    defaults here: :class:`LGAHyperParams` owns them, so a caller cannot drift from the shipped
    reading by omission."""
    if count < 1:
        raise ValueError(f"the number of layers to choose must be at least 1, got {count}")
    fences = tukey_fences(scores, tukey_k)
    kept = fences.kept(scores)
    ranking = ranked_layers(scores, kept, rank_by)
    best = ranking[0]
    if rule == "top1":
        layers = [best]
    elif rule == "topk":
        layers = sorted(ranking[:count])
    else:
        layers = window_around(best, count, len(scores), kept)
    return LayerChoice(layers=layers, best=best, kept=kept, fences=fences)
