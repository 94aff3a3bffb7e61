"""The run manifest: what produced the results in an output folder.

A resumed run appends rules to the results of an earlier one, which only makes sense if both
used the same method, hyperparameters, data, evaluation settings and model. The manifest
records all five when the first rule is about to be edited; a later run in the same folder
compares its own and refuses to continue on any difference, naming it.

What is compared: the method; every hyperparameter except where the model is and runs
(``model_name``, ``device``, ``model_parallel``: moving a checkpoint or changing GPUs does not
change the results), the model itself through its fingerprint (configuration plus a sample of
every weight, :func:`~easyedit_plugins.core.fingerprint.model_fingerprint`), the data through a
hash of every loaded rule's requests (so the zip and its extracted folder are the same data),
and the evaluation settings. ``--limit`` and ``--rules`` are not part of it: growing the
selection is what resuming is for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from .._version import __version__
from ..data import RuleEditBenchmark
from .methods import EditMethod
from .rule_processing import EvaluationSettings

MANIFEST_FORMAT = 1
#: Hyperparameters that say where the model is and runs, not what the edit computes.
PLACEMENT_KEYS = frozenset({"model_name", "device", "model_parallel"})


class ManifestMismatch(ValueError):
    """The output folder holds results of other settings."""


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def hparams_record(hparams: Any) -> dict[str, Any]:
    """The hyperparameters as plain data, without :data:`PLACEMENT_KEYS`."""
    if hasattr(hparams, "to_dict"):
        data = hparams.to_dict()
    elif dataclasses.is_dataclass(hparams):
        data = {f.name: getattr(hparams, f.name) for f in dataclasses.fields(hparams)}
    else:
        data = dict(vars(hparams))
    return _plain({key: value for key, value in data.items() if key not in PLACEMENT_KEYS})


def model_label(hparams: Any) -> str:
    name = hparams.model_name
    if isinstance(name, str):
        return name
    config = getattr(name[0], "config", None)
    return getattr(config, "_name_or_path", "") or type(name[0]).__name__


def data_fingerprint(benchmark: RuleEditBenchmark) -> str:
    """sha256 of every loaded rule's requests (independent of zip vs folder)."""
    requests = [rule.requests() for rule in benchmark.rules]
    return hashlib.sha256(json.dumps(requests, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_manifest(
    method: EditMethod, hparams: Any, benchmark: RuleEditBenchmark, settings: EvaluationSettings,
    model_fingerprint: str | None = None,
) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "package_version": __version__,
        "method": {"name": method.name, "provider": method.provider},
        "hparams": hparams_record(hparams),
        "model": {"name": model_label(hparams), "fingerprint": model_fingerprint},
        "data": {
            "source": benchmark.source,
            "fingerprint": data_fingerprint(benchmark),
            "rules_loaded": len(benchmark.rules),
            "rules_skipped": list(benchmark.report.skipped_rules),
        },
        "evaluation": dataclasses.asdict(settings),
    }


def _differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    found = []
    if stored.get("format") != current["format"]:
        found.append(f"manifest format {stored.get('format')} (this version writes {current['format']})")
    if stored.get("method", {}).get("name") != current["method"]["name"]:
        found.append(f"method: {stored.get('method', {}).get('name')!r} before, {current['method']['name']!r} now")
    old_hparams, new_hparams = stored.get("hparams", {}), current["hparams"]
    for key in sorted(old_hparams.keys() | new_hparams.keys()):
        if old_hparams.get(key, "<absent>") != new_hparams.get(key, "<absent>"):
            found.append(f"hyperparameter {key}: {old_hparams.get(key, '<absent>')!r} before, {new_hparams.get(key, '<absent>')!r} now")
    if stored.get("data", {}).get("fingerprint") != current["data"]["fingerprint"]:
        found.append(f"data: {stored.get('data', {}).get('source')} before, {current['data']['source']} now, with different content")
    old_eval, new_eval = stored.get("evaluation", {}), current["evaluation"]
    for key in sorted(old_eval.keys() | new_eval.keys()):
        if old_eval.get(key) != new_eval.get(key):
            found.append(f"evaluation {key}: {old_eval.get(key)!r} before, {new_eval.get(key)!r} now")
    old_model = stored.get("model", {}).get("fingerprint")
    new_model = current["model"]["fingerprint"]
    if old_model is not None and new_model is not None and old_model != new_model:
        found.append(f"model weights: {stored['model'].get('name')} before, {current['model']['name']} now, with different weights")
    return found


def check_manifest(stored: dict[str, Any], current: dict[str, Any], directory: str) -> None:
    """Raise :class:`ManifestMismatch` naming every difference between the two manifests (a
    model fingerprint missing on either side is not compared)."""
    found = _differences(stored, current)
    if found:
        listing = "\n  ".join(found)
        raise ManifestMismatch(
            f"{directory} holds results of a run with other settings, so this run cannot resume it:\n  {listing}\n"
            "Use another --out folder for these settings, or start over with --restart (restart=True), which "
            "deletes the old results."
        )
