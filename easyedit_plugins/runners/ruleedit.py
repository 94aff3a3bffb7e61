"""RuleEdit-200 end to end, for any registered editing method.

Every rule is edited on the unedited model and evaluated before and after, as in the DMLE
authors' ``run_new.py``, with three differences that make long runs practical:

* the model is loaded once; after each rule the weights the edit changed are written back from
  the edit's own pre-edit copies and the whole model is checked against a checksum of the
  unedited one (:mod:`.restore`); a model that cannot be brought back is reloaded from disk;
* each rule's results go to their own file, written atomically, so an interrupted run resumes
  where it stopped; a manifest (:mod:`.manifest`) makes sure it resumes with the same settings;
* a rule whose edit fails is reported and the run goes on with the next one.

The method is whatever the hyperparameters' ``alg_name`` names (:mod:`.methods`); DMLE routes
a rule's three cases to its stages by form, other batchable methods edit them as one batch, the
rest one after another.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import fmean
from typing import Any, Callable, Iterable

import torch

from ..core.fingerprint import model_fingerprint
from ..core.output_lock import holds_output_lock
from ..data import Rule, RuleEditBenchmark, load_ruleedit
from ..progress import progress_bar
from .manifest import build_manifest, check_manifest, model_label
from .methods import EditMethod, load_method_hparams, resolve_method
from .model_loading import load_model
from .restore import RestoreError, changed_parameters, parameter_checksums
from .results import ResultsStore
from .rule_processing import EvaluationSettings, RuleProcessor, RuleResult
from .summary import build_summary, summary_markdown

logger = logging.getLogger(__name__)

SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"

RuleCallback = Callable[[RuleResult], None]


class RuleSelectionError(ValueError):
    """``--rules`` names a rule the data does not have (or that could not be loaded)."""


@dataclass
class RunReport:
    """What a run did: rules edited now, reused from an earlier run, failed (id -> error), the
    time each edited rule took per phase, and the summary written to the output folder."""

    out_dir: Path
    summary: dict[str, Any]
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)


def select_rules(benchmark: RuleEditBenchmark, rule_ids: Iterable[str] | None, limit: int | None) -> list[Rule]:
    """The rules to run, in the benchmark's order: those named (all by default), then the first
    ``limit`` of them."""
    rules = list(benchmark.rules)
    if rule_ids is not None:
        wanted = [str(rule_id) for rule_id in rule_ids]
        known = {rule.rule_id for rule in rules}
        skipped = {issue.rule_id: str(issue) for issue in benchmark.report.skipped}
        for rule_id in wanted:
            if rule_id in skipped:
                raise RuleSelectionError(f"rule {rule_id} could not be loaded from {benchmark.source}: {skipped[rule_id]}")
            if rule_id not in known:
                raise RuleSelectionError(f"{benchmark.source} has no rule {rule_id!r}")
        rules = [rule for rule in rules if rule.rule_id in set(wanted)]
    if limit is not None:
        if limit < 0:
            raise RuleSelectionError(f"--limit must be 0 or more, got {limit}")
        rules = rules[:limit]
    return rules


def _resolve(hparams: Any, method_kwargs: dict[str, Any] | None) -> tuple[EditMethod, Any]:
    if isinstance(hparams, (str, Path)):
        return load_method_hparams(hparams, method_kwargs)
    if method_kwargs:
        hparams = replace(hparams, **method_kwargs)
    return resolve_method(hparams.alg_name), hparams


def _failure(error: BaseException) -> str:
    """The error as one line; a failed restore also names the error that interrupted the edit."""
    message = f"{type(error).__name__}: {error}"
    cause = error.__context__
    if isinstance(error, RestoreError) and cause is not None:
        message += f" (the rule had failed with {type(cause).__name__}: {cause})"
    return message


def _stored_manifest(store: ResultsStore) -> dict[str, Any] | None:
    try:
        stored = store.read_manifest()
    except ValueError as error:
        raise ValueError(f"{store.manifest_path} is not readable JSON ({error}); delete the folder or use another --out") from None
    if stored is None and store.rule_files():
        raise ValueError(
            f"{store.directory} holds {len(store.rule_files())} metrics_rule_*.json file(s) but no {store.manifest_path.name}, "
            "so their settings are unknown; use another --out folder"
        )
    return stored


class _EditingSession:
    """The loaded model, the checksum of its unedited weights, and the rule processor."""

    def __init__(self, method: EditMethod, hparams: Any, settings: EvaluationSettings) -> None:
        self.hparams = hparams
        self.model, self.tok = load_model(hparams)
        self.reference = parameter_checksums(self.model)
        self.processor = RuleProcessor(method, hparams, settings)

    def process(self, rule: Rule) -> RuleResult:
        return self.processor.process(self.model, self.tok, rule, self.reference)

    def reload(self) -> None:
        """Load the model again after a restore failed; fatal when it cannot be."""
        if not isinstance(self.hparams.model_name, str):
            raise RestoreError("the model could not be restored and was passed as an object, so it cannot be reloaded")
        logger.warning("reloading %s from disk after a failed restore", self.hparams.model_name)
        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.model, self.tok = load_model(self.hparams)
        if changed_parameters(self.model, self.reference):
            raise RestoreError(f"the reloaded {self.hparams.model_name} differs from the model the run started with")


def _mean_seconds(seconds: dict[str, dict[str, float]]) -> dict[str, float]:
    phases = sorted({phase for timing in seconds.values() for phase in timing})
    means = {phase: round(fmean(t.get(phase, 0.0) for t in seconds.values()), 4) for phase in phases}
    if seconds:
        means["total"] = round(fmean(sum(t.values()) for t in seconds.values()), 4)
    return means


def _edit_rules(
    session: _EditingSession, rules: list[Rule], store: ResultsStore, report: RunReport,
    finished: dict[str, list[dict[str, Any]]], progress: Any, on_rule_done: RuleCallback | None,
) -> None:
    """Edit and evaluate each rule, write its file; a failed rule is reported and skipped."""
    for rule in rules:
        progress.set_postfix_str(f"rule {rule.rule_id}")
        try:
            result = session.process(rule)
        except Exception as error:  # one rule's failure must not end a 200-rule run
            report.failed[rule.rule_id] = _failure(error)
            logger.error("rule %s failed: %s", rule.rule_id, report.failed[rule.rule_id])
            if isinstance(error, RestoreError):
                session.reload()
            progress.update(1)
            continue
        store.write_rule(rule.rule_id, result.records)
        finished[rule.rule_id] = result.records
        report.computed.append(rule.rule_id)
        report.seconds[rule.rule_id] = result.seconds
        progress.update(1)
        if on_rule_done is not None:
            on_rule_done(result)


def _run_info(
    method: EditMethod, hparams: Any, benchmark: RuleEditBenchmark, selected: list[Rule], finished: dict[str, Any],
    report: RunReport,
) -> dict[str, Any]:
    return {
        "method": method.name,
        "model": model_label(hparams),
        "data": benchmark.source,
        "rules": {
            "selected": len(selected),
            "finished": len(finished),
            "computed": len(report.computed),
            "reused": len(report.reused),
            "failed": sorted(report.failed),
            "skipped_at_load": list(benchmark.report.skipped_rules),
            "skipped_at_load_reasons": {issue.rule_id: str(issue) for issue in benchmark.report.skipped},
        },
        "failures": report.failed,
        "mean_seconds_per_rule": _mean_seconds(report.seconds),
    }


@holds_output_lock("out_dir")
def run_ruleedit(
    hparams: str | Path | Any,
    data: str | Path,
    out_dir: str | Path,
    *,
    method_kwargs: dict[str, Any] | None = None,
    rule_ids: Iterable[str] | None = None,
    limit: int | None = None,
    settings: EvaluationSettings = EvaluationSettings(),
    show_progress: bool = True,
    on_rule_done: RuleCallback | None = None,
    restart: bool = False,
) -> RunReport:
    """Run RuleEdit on the rules selected from ``data`` (a zip or folder) and write the results
    to ``out_dir``: ``metrics_rule_<id>.json`` per rule, ``manifest.json``, ``summary.json``
    and ``summary.md``. Rules already finished there are not run again.

    ``hparams`` is a hyperparameter file (its ``alg_name`` picks the method) or an hparams
    object; ``method_kwargs`` override some of its values. ``on_rule_done`` is called after
    each rule's file is written.

    The run holds a lock on ``out_dir`` (:mod:`~easyedit_plugins.core.output_lock`): a second run
    on the same folder raises :class:`~easyedit_plugins.core.output_lock.OutputLocked`. Results
    of other settings there are refused (:class:`.ManifestMismatch`) unless ``restart`` is true,
    which deletes the earlier run's files first (``--restart``).
    """
    method, hparams = _resolve(hparams, method_kwargs)
    settings.check()
    benchmark = load_ruleedit(data, strict=False)  # logs every rule it has to skip
    selected = select_rules(benchmark, rule_ids, limit)
    store = ResultsStore(out_dir)
    if restart:
        store.discard((SUMMARY_JSON, SUMMARY_MARKDOWN))
    manifest = build_manifest(method, hparams, benchmark, settings)
    stored = _stored_manifest(store)
    if stored is not None:
        check_manifest(stored, manifest, str(store.directory))
    store.prepare()

    finished: dict[str, list[dict[str, Any]]] = {}
    for rule in selected:
        records = store.finished_records(rule)
        if records is not None:
            finished[rule.rule_id] = records
    report = RunReport(out_dir=store.directory, summary={}, reused=list(finished))
    pending = [rule for rule in selected if rule.rule_id not in finished]
    if report.reused:
        logger.info("%d of %d selected rules are already finished in %s", len(report.reused), len(selected), store.directory)

    if pending:
        session = _EditingSession(method, hparams, settings)
        manifest["model"]["fingerprint"] = model_fingerprint(session.model)
        if stored is None:
            store.write_json(store.manifest_path.name, manifest)
        else:
            check_manifest(stored, manifest, str(store.directory))
        with progress_bar(total=len(selected), initial=len(finished), desc=f"RuleEdit {method.name}", unit="rule",
                  disable=not show_progress) as progress:
            _edit_rules(session, pending, store, report, finished, progress, on_rule_done)

    ordered = {rule.rule_id: finished[rule.rule_id] for rule in selected if rule.rule_id in finished}
    report.summary = build_summary(ordered, _run_info(method, hparams, benchmark, selected, finished, report))
    store.write_json(SUMMARY_JSON, report.summary)
    store.write_text(SUMMARY_MARKDOWN, summary_markdown(report.summary))
    return report
