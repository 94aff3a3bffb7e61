"""The demo's output: a before/after table for the terminal, and a Markdown report with plots."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path
from statistics import fmean
from typing import Any, Sequence

from ..core.files import write_text_atomically
from ..plotting import matplotlib_parts
from .metrics import Row

#: Row attribute -> the metric's name wherever the demo prints or writes it (one name, one meaning).
METRICS = {
    "efficacy_exact": "efficacy (exact match)",
    "generalisation_exact": "generalisation (exact match)",
    "efficacy_tokens": "efficacy (token acc.)",
    "generalisation_tokens": "generalisation (token acc.)",
    "locality": "locality (token agreement)",
}
#: The console table shows exact match; report.md shows both readings.
TABLE_METRICS = ("efficacy_exact", "generalisation_exact", "locality")
COLUMNS = ("method", "prompt", "old answer", "new answer")

#: What each metric column means, printed under the table and written into report.md.
LEGEND = (
    "efficacy (exact match): 1 if greedy decoding after the edit prompt gives the whole new answer, else 0",
    "generalisation (exact match): the same after a rephrased prompt",
    "efficacy / generalisation (token acc.): the share of the new answer's tokens predicted right, "
    "teacher-forced (EasyEdit's rewrite_acc / rephrase_acc: a partly right answer scores above 0; in report.md)",
    "locality (token agreement): the share of neighbouring facts' answer tokens predicted as before the edit "
    "(EasyEdit's locality)",
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(row: Row, metrics: Sequence[str]) -> list[str]:
    return [row.method, row.prompt, row.old_answer, f"{row.new_answer} (want: {row.target})"] + [
        _cell(getattr(row, metric)) for metric in metrics]


def format_table(rows: Sequence[Row], prompt_width: int = 44) -> str:
    """The before/after table as aligned plain text (exact match), with what each column means."""
    header = list(COLUMNS) + [METRICS[metric] for metric in TABLE_METRICS]
    cells = [header] + [_cells(row, TABLE_METRICS) for row in rows]
    cells = [[_clip(c, prompt_width) if i == 1 else c if i >= len(COLUMNS) else _clip(c, 32) for i, c in enumerate(line)]
             for line in cells]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = [textwrap.fill(line, width=110, subsequent_indent="    ") for line in LEGEND]
    return "\n".join(lines + [""] + legend)


def method_means(rows: Sequence[Row]) -> dict[str, dict[str, float | None]]:
    """Mean of each metric per method (in order of appearance)."""
    means: dict[str, dict[str, float | None]] = {}
    for method in dict.fromkeys(row.method for row in rows):
        mine = [row for row in rows if row.method == method]
        means[method] = {}
        for metric in METRICS:
            values = [getattr(row, metric) for row in mine if getattr(row, metric) is not None]
            means[method][metric] = fmean(values) if values else None
    return means


def plot_means(means: dict[str, dict[str, float | None]], path: Path) -> Path:
    """Grouped bars: one group per method, one bar per metric shown in the console table."""
    mpl = matplotlib_parts("the demo's plots")
    figure = mpl.Figure(figsize=(1.6 * len(means) + 2.5, 3.6))
    mpl.Canvas(figure)
    axes = figure.add_subplot(1, 1, 1)
    width = 0.8 / len(TABLE_METRICS)
    for index, metric in enumerate(TABLE_METRICS):
        xs = [m + (index - 1) * width for m in range(len(means))]
        values = [means[method][metric] or 0.0 for method in means]
        axes.bar(xs, values, width, label=METRICS[metric])
    axes.set_xticks(range(len(means)), list(means), rotation=15, fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("mean over the edited requests")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.set_title("Each method edited the facts one after another, keeping its earlier edits\n"
                   "(every method starts from the unedited model; the rule: one DMLE edit)", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def write_markdown(out: Path, rows: Sequence[Row], context: dict[str, Any], plots: dict[str, Path],
                   notes: dict[str, str], written: dict[str, str]) -> Path:
    """``report.md`` in ``out``: setup, the layers each method wrote, the table, means per method, the plots."""
    means = method_means(rows)
    metric_names = [METRICS[metric] for metric in METRICS]
    lines = [
        "# easyedit-plugins demo",
        "",
        f"Run on {datetime.date.today().isoformat()} with {context['editor']}.",
        "",
        f"Model: the miniature world's `{context['preset']}` {context['arch']} model ({context['parameters']:,} parameters, "
        f"{context['layers']} layers), trained by `easyedit-plugins world`; it answers "
        f"{context['trained_facts']:.0%} of its trained facts and {context['held_out']:.0%} of held-out "
        "subject-template pairs. Every method starts from the unedited model and edits its facts one after "
        "another, keeping its earlier edits (the rule: one DMLE edit).",
        "",
        "## Methods and the layers they wrote",
        "",
    ]
    lines += [f"- **{method}**: {note}; wrote {written.get(method, 'no layer')}" for method, note in notes.items()]
    header = list(COLUMNS) + metric_names
    lines += ["", "## Before and after", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(row, list(METRICS))) + " |" for row in rows]
    lines += ["", "## Means per method", "", "| method | " + " | ".join(metric_names) + " |",
              "|---|" + "---|" * len(METRICS)]
    lines += [f"| {m} | " + " | ".join(_cell(v) for v in values.values()) + " |" for m, values in means.items()]
    lines += [""] + [f"- {line}" for line in LEGEND]
    for title, path in plots.items():
        lines += ["", f"## {title}", "", f"![{title}]({path.relative_to(out).as_posix()})"]
    return write_text_atomically(out / "report.md", "\n".join(lines) + "\n")
