"""The Markdown table and the curves of ``bench_compare.py`` (a report dict in, files out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from easyedit_plugins.core.files import write_atomically, write_text_atomically
from easyedit_plugins.plotting import matplotlib_parts
from results_file import markdown_table, produced_by, score

FACT_METRICS = ("efficacy", "generalisation", "locality")
#: Teacher-forced token accuracy beside each greedy metric (EasyEdit's ``*_acc``), and locality split by relation.
TOKEN_METRICS = tuple(f"{metric}_token" for metric in FACT_METRICS)
SPLIT_LOCALITY = ("locality_same_relation", "locality_other_relation")
RULE_METRICS = ("formula", "description", "instance", "generalisation", "instance_portability",
                "rule_understanding", "locality", "rule_locality")
RULE_HEADERS = ("formula", "description", "instance", "rephrase", "Instance portability", "Rule Understanding",
                "fact locality", "rule locality")


def _ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "–"
    return f"{value / baseline:.2f}"


#: Report labels of the rows run by PAC's engine: each names its regime, wherever it is shown.
PAC_LABELS = {
    "PAC": "PAC joint (cumulative re-run)",
    "FT": "FFN fine-tuning (joint, cumulative re-run)",
    "PAC-chain": "PAC sequential chain (no replay)",
}


def display_name(method: str) -> str:
    """A method's name in tables and legends; PAC-engine rows carry their regime."""
    return f"{method}: {PAC_LABELS[method]}" if method in PAC_LABELS else method


def pac_settings_text(settings: dict[str, Any]) -> str:
    """How PAC (and FT) were run, with the regime of each PAC-engine row named."""
    lr = settings["pac_lr"]
    rate = (f"lr auto (drift budget {settings.get('pac_drift_budget', 0.18):g} / (epochs x mini-batches))"
            if lr == "auto" else f"learning rate {float(lr):g}")
    return (f"PAC {rate}, {settings['pac_critical']} critical keys/values in every layer, {settings['pac_epochs']} "
            "epochs per run. `PAC` and `FT` run jointly on the cumulative set (from the unedited model, at each "
            "checkpoint: PAC's own regime); `PAC-chain` is the sequential chain with no replay (not the paper's).")


def summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per method: the metrics after the last edit, cost, and cost relative to MEMIT."""
    methods = report["methods"]
    baseline = methods.get(report["baseline"]) if report["baseline"] else None
    base_time = baseline["seconds"]["per_edit_wall"] if baseline else None
    base_cpu = baseline["seconds"]["per_edit_cpu"] if baseline else None
    base_memory = baseline["memory"]["extra_peak_mib"] if baseline else None
    rows = []
    for name, part in methods.items():
        rows.append({
            "method": name, "label": part["label"], "implementation": part["implementation"], "kind": part["kind"],
            "edits": part["edits"],
            **{m: part["final"].get(m) for m in (*FACT_METRICS, *TOKEN_METRICS, *SPLIT_LOCALITY)},
            **{f"{m}_token": part["final"].get(f"{m}_token") for m in SPLIT_LOCALITY},
            "changed_layers": part.get("changed_layers"),
            "s_per_edit": part["seconds"]["per_edit_wall"], "cpu_s_per_edit": part["seconds"]["per_edit_cpu"],
            "time_ratio": part["seconds"]["per_edit_wall"] / base_time if base_time else None,
            "cpu_ratio": part["seconds"]["per_edit_cpu"] / base_cpu if base_cpu else None,
            "extra_peak_mib": part["memory"]["extra_peak_mib"], "peak_rss_mib": part["memory"]["peak_rss_mib"],
            "memory_ratio": part["memory"]["extra_peak_mib"] / base_memory if base_memory else None,
            "reused": bool(part.get("reused")), "finished": part["finished"],
        })
    return rows


def plot_curves(report: dict[str, Any], path: Path) -> Path | None:
    """Efficacy, generalisation and locality against the number of edits, one line per method."""
    try:
        mpl = matplotlib_parts("the comparison curves")
    except ImportError as error:
        print(f"no plot: {error}")
        return None
    figure = mpl.Figure(figsize=(13.5, 4.0))
    mpl.Canvas(figure)
    counts = [point["edits"] for part in report["methods"].values() for point in part["curve"]]
    logarithmic = max(counts) / max(1, min(counts)) >= 10
    ticks = sorted({p["edits"] for part in report["methods"].values() if part["kind"] == "facts" for p in part["curve"]}
                   | {max(counts)})
    for index, metric in enumerate(FACT_METRICS):
        axes = figure.add_subplot(1, 3, index + 1)
        for name, part in report["methods"].items():
            points = [p for p in part["curve"] if p.get(metric) is not None]
            label = f"{name} (rules)" if part["kind"] == "rules" else display_name(name)
            style = "--" if part["kind"] == "rules" else "-"
            axes.plot([p["edits"] for p in points], [p[metric] for p in points], style, marker="o", markersize=3,
                      label=label)
        if logarithmic:
            axes.set_xscale("log")
            axes.set_xticks(ticks, [str(t) for t in ticks])
            axes.minorticks_off()
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("requests edited (sequentially)")
        axes.set_title(metric, fontsize=10)
        axes.grid(alpha=0.3)
        if index == 0:
            axes.set_ylabel("greedy whole-answer accuracy")
    handles, labels = figure.axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=8, loc="center left", bbox_to_anchor=(0.86, 0.5))
    world = report["world"]
    figure.suptitle(f"Sequential editing, {world['preset']} world ({world['arch']}), batches of "
                    f"{report['settings']['batch']} facts; DMLE: one rule (3 requests) per call", fontsize=10)
    figure.tight_layout(rect=(0, 0, 0.86, 0.95))
    return write_atomically(path, lambda stream: figure.savefig(stream, format="png", dpi=120), binary=True)


def write_markdown(report: dict[str, Any], path: Path, plot: Path | None) -> Path:
    world, machine, settings = report["world"], report["machine"], report["settings"]
    requests = report["requests"]
    baseline = report["baseline"]
    base_label = report["methods"][baseline]["label"] if baseline else None
    lines = [
        f"# Sequential editing on the miniature world: {world['preset']} preset, {report['date']}",
        "",
        *produced_by(report["command"]),
        f"* Machine: {machine['cpu']}, {machine['cores']} cores, {machine['torch_threads']} PyTorch thread(s) per "
        f"method, load average {machine['load_average_before'][0]:.2f} before and "
        f"{machine['load_average_after'][0]:.2f} after (shared machine: timings carry that noise); "
        f"Python {machine['python']}, torch {machine['torch']}, transformers {machine['transformers']}, "
        f"EasyEdit: {report['easyedit']}.",
        f"* Model: the `{world['preset']}` world's {world['arch']} ({world['parameters']:,} parameters, "
        f"{world['num_layers']} layers), accuracy " + ", ".join(f"{k} {v:.3f}" for k, v in world["accuracy"].items())
        + ".",
        f"* Facts: {requests['facts']} counterfactual edits of {requests['subjects']} subjects, "
        f"{settings['batch']} per call (distinct subjects within a call), applied one call after the other and "
        f"never restored; layers {world['layers']} for every locate-then-edit method; C0 from "
        f"{world['stats_samples']} corpus lines, one file read by all. Locality: {requests['locality']} facts no "
        f"request edits ({world['locality_same_subject']} of them about an edited subject).",
        (f"* Rules (DMLE): {requests['rules']} rules, {requests['rule_requests']} requests, one rule per call, stages "
         + "; ".join(f"{'+'.join(s['forms'])} on {s['layers']}" for s in world["rule_stages"]) + "."
         if world["rule_stages"] else "* Rules: none (DMLE not run)."),
        f"* Settings: MEMIT lambda {settings['mom2_update_weight']:g}, up to {settings['v_num_grad_steps']} target "
        f"steps, AlphaEdit L2 {settings['l2']:g} and null-space threshold {settings['nullspace_threshold']:g} "
        f"(absolute, EasyEdit's rule); {pac_settings_text(settings)}",
        f"* The package's locate-then-edit methods optimise the targets of up to {settings['z_batch']} requests "
        "together (`z_requests_per_batch`), EasyEdit's one at a time: faster, and more memory."
        if settings.get("z_batch") is not None else
        "* The package's locate-then-edit methods optimise together the targets of as many requests as fit in "
        "`z_memory_budget_mib` (EasyEdit: one at a time).",
        f"* Ratios (×) are to **{baseline}** = {base_label}, measured in the same run."
        if baseline else "* No MEMIT run: no ratios.",
        "",
        "## After the last edit",
        "",
    ]
    rows = []
    for row in report["summary"]:
        rows.append([
            display_name(row["method"]) + (" (rules)" if row["kind"] == "rules" else ""), row["implementation"], str(row["edits"]),
            *(score(row[m]) for m in FACT_METRICS),
            f"{row['s_per_edit']:.3f}", f"{row['cpu_s_per_edit']:.3f}", _ratio(row["s_per_edit"], _base(report, "s")),
            f"{row['extra_peak_mib']:.1f}", _ratio(row["extra_peak_mib"], _base(report, "m")),
        ])
    lines += markdown_table(["method", "implementation", "edits", "efficacy (exact match)", "generalisation (exact match)",
                     "locality (exact match)", "s/edit",
                     "CPU s/edit", "time ×", "extra peak MiB", "memory ×"], rows)
    fact_rows = [row for row in report["summary"] if row["kind"] == "facts" and row.get("efficacy_token") is not None]
    if fact_rows:
        lines += ["", "Beside the greedy hits: teacher-forced token accuracy (EasyEdit's `rewrite_acc`, `rephrase_acc`; "
                  "locality: agreement with the unedited model's predicted tokens), locality split into facts of the "
                  f"edited relations {world.get('edited_relations', '?')} and of the others, and the layers whose FFN "
                  "output matrix the edits changed.", ""]
        lines += markdown_table(["method", "efficacy (token acc.)", "generalisation (token acc.)", "locality (token agreement)",
                         "locality same relation (exact / token)", "locality other relations (exact / token)",
                         "layers changed"],
                        [[display_name(row["method"]), *(score(row[m]) for m in TOKEN_METRICS),
                          *(f"{score(row[m])} / {score(row[m + '_token'])}" for m in SPLIT_LOCALITY),
                          str(row["changed_layers"]) if row.get("changed_layers") is not None else "–"]
                         for row in fact_rows])
    lines += [
        "",
        "s/edit: wall seconds inside the edit calls (evaluation excluded) per edited request; extra peak MiB: "
        "the highest resident set size during the edit calls minus the resident size after loading the model "
        f"({_memory_how(report)}). DMLE's row counts rule requests and its generalisation is the rephrase.",
    ]
    fact_parts = {name: part for name, part in report["methods"].items() if part["kind"] == "facts"}
    if fact_parts:
        counts = sorted({p["edits"] for part in fact_parts.values() for p in part["curve"]})
        lines += ["", "## Over the sequence (facts)", ""]
        for metric in FACT_METRICS:
            lines += [f"**{metric} (exact match)** after N edits", ""]
            table = []
            for name, part in fact_parts.items():
                by_count = {p["edits"]: p[metric] for p in part["curve"]}
                table.append([display_name(name), *(score(by_count.get(n)) for n in counts)])
            lines += markdown_table(["method", *map(str, counts)], table) + [""]
    if "DMLE" in report["methods"]:
        lines += dmle_sequence_lines(report["methods"]["DMLE"])
    reused = [row for row in report["summary"] if row["reused"]]
    if reused:
        lines += ["Reused from an earlier run with the same settings: " + ", ".join(
            f"{row['method']} (finished {row['finished']})" for row in reused) + ".", ""]
    lines += ["Metrics: greedy whole-answer hits (`WorldModel.knows`): efficacy, the edit prompt gives the new "
              "target; generalisation, another trained template of the fact does; locality, the unedited facts "
              "keep their answers. Every method starts from a freshly loaded model in its own process.", ""]
    if plot is not None:
        lines += [f"![efficacy, generalisation and locality over the sequence]({plot.name})", ""]
    return write_text_atomically(path, "\n".join(lines))


def dmle_sequence_lines(part: dict[str, Any]) -> list[str]:
    """DMLE's curve twice, greedy exact match and teacher-forced token accuracy, each below its pre-edit row."""
    lines = ["## DMLE over the sequence (rules)", ""]
    before = part.get("pre_edit")  # absent in parts written before pre-edit values were recorded
    for title, suffix, metrics, headers in (
            ("greedy exact match of the whole answer (headline)", "", RULE_METRICS, RULE_HEADERS),
            ("teacher-forced token accuracy (the authors' EasyEdit number)", "_token",
             RULE_METRICS[:-2], RULE_HEADERS[:-2])):
        table = [["before any edit", "0", *(score(before.get(m + suffix)) for m in metrics)]] if before else []
        table += [[str(p["rules"]), str(p["edits"]), *(score(p.get(m + suffix)) for m in metrics)]
                  for p in part["curve"]]
        lines += [f"**{title}**", ""] + markdown_table(["rules", "requests", *headers], table) + [""]
    lines += ["Reliability per form and rephrase over every rule edited so far; \"before any edit\" scores the "
              "unedited model on the new targets of every rule request, so it shows how much of each number "
              "was there without an edit. Rule locality: both prompts of each rule not edited yet keep the old "
              "answer (– once every rule is edited).", ""]
    return lines


def _base(report: dict[str, Any], what: str) -> float | None:
    baseline = report["methods"].get(report["baseline"]) if report["baseline"] else None
    if baseline is None:
        return None
    return baseline["seconds"]["per_edit_wall"] if what == "s" else baseline["memory"]["extra_peak_mib"]


def _memory_how(report: dict[str, Any]) -> str:
    hows = {part["memory"]["how"] for part in report["methods"].values()}
    return "; ".join(sorted(hows))
