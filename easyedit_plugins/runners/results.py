"""The output folder of a RuleEdit run: one DMLE-layout file per rule, written atomically.

``metrics_rule_<id>.json`` is what the DMLE authors' ``run_new.py`` writes and their
``cal_avg.py`` reads: a list with one record per edit case, in the order formula, description,
instance, each ``{"case_id": <position>, "requested_rewrite": <request>, "pre": {...},
"post": {...}}`` where ``post`` holds ``rewrite_acc``, ``rephrase_acc``,
``locality.{neighborhood,distracting}_acc`` and ``portability.{Instance,Rule}_acc`` (one 0/1
score per prompt) next to the generations. Two keys are added per record: ``form`` and
``dataset_case_id`` (the case's own ``case_id``, which repeats across a rule's two files).

A rule counts as finished only if its file parses and holds one complete record per case of
the rule, in form order. Files are written to a temporary file in the same folder and moved
into place with ``os.replace``, so a run killed while writing leaves either the old state or
the new file, never half a file under the final name.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

from ..core.files import write_text_atomically
from ..data import Rule
from ..evaluation import PromptResult, rule_records

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
RULE_FILE_PREFIX = "metrics_rule_"
_TEMPORARY_SUFFIX = ".tmp"  # what core.files leaves behind if killed mid-write


def rule_file_records(
    requests: Sequence[dict[str, Any]], post: list[PromptResult], pre: list[PromptResult] | None
) -> list[dict[str, Any]]:
    """The records of one rule's file, one per request in the order the requests were edited."""
    by_rule = rule_records(post, pre)
    grouped = {(record["case_id"], record["form"]): record for records in by_rule.values() for record in records}
    records = []
    for position, request in enumerate(requests):
        evaluated = grouped[(request["case_id"], request["form"])]
        record: dict[str, Any] = {
            "case_id": position,
            "form": request["form"],
            "dataset_case_id": request["case_id"],
            "requested_rewrite": request,
        }
        if "pre" in evaluated:
            record["pre"] = evaluated["pre"]
        record["post"] = evaluated["post"]
        records.append(record)
    return records


def _complete(records: Any, rule: Rule) -> bool:
    if not isinstance(records, list) or len(records) != len(rule.cases):
        return False
    for record, case in zip(records, rule.cases):
        if not isinstance(record, dict) or record.get("form") != case.form:
            return False
        post = record.get("post")
        if not isinstance(post, dict) or "rewrite_acc" not in post:
            return False
    return True


class ResultsStore:
    """The files of one run's output folder."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_NAME

    def rule_path(self, rule_id: str) -> Path:
        return self.directory / f"{RULE_FILE_PREFIX}{rule_id}.json"

    def rule_files(self) -> list[Path]:
        return sorted(self.directory.glob(f"{RULE_FILE_PREFIX}*.json")) if self.directory.is_dir() else []

    def prepare(self) -> None:
        """Create the folder and delete temporary files a killed run left behind (one run
        per output folder at a time)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob(f".*{_TEMPORARY_SUFFIX}"):
            logger.info("removing %s, left by an interrupted run", stale.name)
            stale.unlink(missing_ok=True)

    def discard(self, other_names: Sequence[str] = ()) -> list[Path]:
        """Delete what a run wrote here (rule files, manifest, ``other_names``, temporary files),
        nothing else: the folder may hold the user's own files. Returns what was deleted."""
        if not self.directory.is_dir():
            return []
        doomed = [*self.rule_files(), self.manifest_path, *(self.directory / name for name in other_names),
                  *self.directory.glob(f".*{_TEMPORARY_SUFFIX}")]
        removed = []
        for path in doomed:
            if path.is_file():
                path.unlink()
                removed.append(path)
        logger.info("discarded %d file(s) of an earlier run in %s", len(removed), self.directory)
        return removed

    def finished_records(self, rule: Rule) -> list[dict[str, Any]] | None:
        """The rule's records if its file is complete, else None (a broken file is logged and
        will be overwritten)."""
        path = self.rule_path(rule.rule_id)
        if not path.is_file():
            return None
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            logger.warning("%s is unreadable (%s); rule %s will be run again", path.name, error, rule.rule_id)
            return None
        if not _complete(records, rule):
            logger.warning("%s is incomplete; rule %s will be run again", path.name, rule.rule_id)
            return None
        return records

    def write_rule(self, rule_id: str, records: list[dict[str, Any]]) -> Path:
        path = self.rule_path(rule_id)
        write_text_atomically(path, json.dumps(records, indent=2, ensure_ascii=False))
        return path

    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        path = self.directory / name
        write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.directory / name
        write_text_atomically(path, text)
        return path
