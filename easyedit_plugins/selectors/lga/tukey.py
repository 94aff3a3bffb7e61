"""Tukey's fences: which layer scores are ordinary enough to rank.

The first and last layers have gradients orders of magnitude larger than the rest, so their
inner products dwarf every other layer's and would always be chosen. LGA ranks only the layers
whose score lies within ``[Q1 - k IQR, Q3 + k IQR]`` (quartiles by linear interpolation, as
``numpy.percentile`` computes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class TukeyFences:
    """The interval of ordinary scores; ``k = None`` means no filtering (infinite fences)."""

    low: float
    high: float
    q1: float
    q3: float
    k: float | None

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def kept(self, scores: Sequence[float]) -> list[int]:
        """Indices of the scores inside the fences, or all of them when none is.

        From three scores on, a score always lies between the quartiles; two scores can both
        fall outside fences narrower than their quartiles (``k < 0.5``), and then none of them
        is more of an outlier than the other.
        """
        inside = [index for index, value in enumerate(scores) if self.contains(value)]
        return inside or list(range(len(scores)))


def tukey_fences(scores: Sequence[float], k: float | None) -> TukeyFences:
    if not scores:
        raise ValueError("no scores to fence")
    broken = [index for index, value in enumerate(scores) if not math.isfinite(value)]
    if broken:
        raise ValueError(f"LGA scores of layers {broken} are not finite (float16 overflow? score in float32 or bfloat16)")
    q1, q3 = (float(q) for q in np.percentile(np.asarray(scores, dtype=np.float64), [25, 75]))
    if k is None:
        return TukeyFences(-math.inf, math.inf, q1, q3, None)
    spread = q3 - q1
    return TukeyFences(q1 - k * spread, q3 + k * spread, q1, q3, k)
