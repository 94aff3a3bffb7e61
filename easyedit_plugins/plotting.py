"""Matplotlib, imported only when a plot is asked for.

Matplotlib comes from the ``plots`` extra. Figures are drawn on an Agg canvas of their own, so
pyplot's global backend (a user's notebook) is never touched.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def matplotlib_parts(purpose: str) -> Any:
    """``Figure``, ``Canvas`` (Agg), ``Line2D`` and ``Patch``, or an ImportError saying how to install them."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError:
        raise ImportError(f"{purpose} needs matplotlib: pip install 'easyedit-plugins[plots]'") from None
    return SimpleNamespace(Figure=Figure, Canvas=FigureCanvasAgg, Line2D=Line2D, Patch=Patch)
