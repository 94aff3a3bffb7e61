"""``easyedit-plugins demo``: every method edits the trained miniature world, offline.

:func:`run_demo` builds (or loads) the world model, edits facts with BLUE (on MEMIT and on
AlphaEdit, and with LGA-chosen layers) and PAC, and a rule with DMLE, through EasyEdit's
``BaseEditor`` when EasyEdit is importable and through the package's own apply functions
otherwise; it returns the before/after rows and writes a Markdown report with plots.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.output_lock import holds_output_lock
from ..progress import progress_bar
from ..world import load_world_model
from .editing import apply_edit, describe_written, restored_afterwards, written_layers
from .metrics import Row, measure_after, measure_before
from .report import format_table, method_means, plot_means, write_markdown
from .scenario import DemoEdit, build_scenario

logger = logging.getLogger(__name__)

#: The demo's output: ``report.md``, ``plots/``, and what the methods needed on the way.
PLOTS_DIR = "plots"


@dataclass
class DemoResult:
    rows: list[Row]
    report: Path
    editor: str
    #: method label -> the layers its edit wrote ("layers [0, 2] (mlp.c_proj)").
    written: dict[str, str]


def _lga_plot(out: Path, scenario: list[DemoEdit], written: dict[str, str], model: Any) -> Path | None:
    """LGA's scores as the LGA edit used them (its saved selection), or None without one.

    ``model`` is the unedited model, whose fingerprint names the file the selection went to.
    """
    from ..selectors.lga.plot import plot_selection
    from ..selectors.lga.record import selection_path

    edit = next((e for e in scenario if e.hparams.layer_selection == "lga"), None)
    if edit is None:
        return None
    saved = selection_path(edit.hparams.layer_selection_config["output_dir"], model)
    if not saved.is_file():
        logger.warning("the LGA edit saved no selection at %s; the report has no LGA plot", saved)
        return None
    selection = json.loads(saved.read_text(encoding="utf-8"))
    title = (f"LGA on the {selection['details']['proxy_items']} request(s) it scored: chose layers "
             f"{selection['layers']}; {edit.label} wrote {written[edit.label]}")
    return plot_selection(selection, out / PLOTS_DIR / "lga_scores.png", title=title)


def _plots(out: Path, rows: list[Row], scenario: list[DemoEdit], written: dict[str, str], model: Any) -> dict[str, Path]:
    """The metric bars and LGA's layer scores; none without matplotlib (the report says so)."""
    plots: dict[str, Path] = {}
    try:
        plots["Scores per method"] = plot_means(method_means(rows), out / PLOTS_DIR / "metrics.png")
        lga = _lga_plot(out, scenario, written, model)
        if lga is not None:
            plots["LGA layer scores"] = lga
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
    written: dict[str, str] = {}
    editor = ""
    bar = progress_bar(scenario, desc="demo", unit="method", disable=not progress)
    for edit in bar:
        bar.set_postfix_str(edit.label)
        logger.info("demo: %s on %d request(s)", edit.label, len(edit.requests))
        before = measure_before(world.model, world.tok, edit.requests)
        with restored_afterwards(world.model) as snapshot:
            editor = apply_edit(edit, world.model, world.tok, use_easyedit)
            written[edit.label] = describe_written(written_layers(world.model, snapshot))
            rows.extend(measure_after(edit.label, world.model, world.tok, edit.requests, before))
        logger.info("demo: %s wrote %s", edit.label, written[edit.label])
    context = {
        "editor": editor, "preset": preset, "arch": arch, "layers": world.model.config.num_hidden_layers,
        "parameters": sum(p.numel() for p in world.model.parameters()),
        "trained_facts": world.report["accuracy"]["trained_facts"], "held_out": world.report["accuracy"]["held_out_pairs"],
    }
    notes = {edit.label: edit.note for edit in scenario}
    report = write_markdown(out, rows, context, _plots(out, rows, scenario, written, world.model), notes, written)
    return DemoResult(rows, report, editor, written)


__all__ = ["DemoResult", "format_table", "run_demo"]
