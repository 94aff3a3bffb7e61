"""``easyedit-plugins demo``: every method edits the trained miniature world, offline.

:func:`run_demo` builds (or loads) the world model, edits facts with BLUE (on MEMIT and on
AlphaEdit, and with LGA-chosen layers) and PAC, and a rule with DMLE, through EasyEdit's
``BaseEditor`` when EasyEdit is importable and through the package's own apply functions
otherwise; it returns the before/after rows and writes a Markdown report with plots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..core.output_lock import holds_output_lock
from ..selectors.lga import LGAHyperParams, run_lga
from ..selectors.lga.plot import plot_scores
from ..selectors.lga.search import EditTarget
from ..world import load_world_model
from .editing import apply_edit, restored_afterwards
from .metrics import Row, measure_after, measure_before
from .report import format_table, method_means, plot_means, write_markdown
from .scenario import build_scenario

logger = logging.getLogger(__name__)


@dataclass
class DemoResult:
    rows: list[Row]
    report: Path
    editor: str


def _plots(out: Path, rows: list[Row], world, scenario) -> dict[str, Path]:
    """The metric bars and LGA's layer scores; none without matplotlib (the report says so)."""
    plots: dict[str, Path] = {}
    try:
        plots["Scores per method"] = plot_means(method_means(rows), out / "plots" / "metrics.png")
        lga_edit = next((e for e in scenario if e.hparams.layer_selection == "lga"), None)
        if lga_edit is not None:
            config = LGAHyperParams.from_selection_config(lga_edit.hparams.layer_selection_config)
            report = run_lga(world.model, world.tok, lga_edit.requests, config, EditTarget.of(lga_edit.hparams))
            plots["LGA layer scores"] = plot_scores(report, out / "plots" / "lga_scores.png",
                                                   title="LGA on the edited facts: per-layer scores")
    except ImportError as error:
        logger.warning("%s; the report has no plots", error)
    return plots


@holds_output_lock("out")
def run_demo(out: Path, preset: str = "test", arch: str = "gpt2", facts: int = 3, use_easyedit: bool = True,
             progress: bool = True) -> DemoResult:
    """Run every demo edit on the world model and write ``out/report.md`` (holding a lock on ``out``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world = load_world_model(preset, arch, progress=progress)
    scenario = build_scenario(world, out, facts=facts)
    rows: list[Row] = []
    editor = ""
    for edit in scenario:
        logger.info("demo: %s on %d request(s)", edit.label, len(edit.requests))
        before = measure_before(world.model, world.tok, edit.requests)
        with restored_afterwards(world.model):
            editor = apply_edit(edit, world.model, world.tok, use_easyedit)
            rows.extend(measure_after(edit.label, world.model, world.tok, edit.requests, before))
    context = {
        "editor": editor, "preset": preset, "arch": arch, "layers": world.model.config.num_hidden_layers,
        "parameters": sum(p.numel() for p in world.model.parameters()),
        "trained_facts": world.report["accuracy"]["trained_facts"], "held_out": world.report["accuracy"]["held_out_pairs"],
    }
    notes = {edit.label: edit.note for edit in scenario}
    report = write_markdown(out, rows, context, _plots(out, rows, world, scenario), notes)
    return DemoResult(rows, report, editor)


__all__ = ["DemoResult", "format_table", "run_demo"]
