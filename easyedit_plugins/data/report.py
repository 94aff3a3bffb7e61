"""What loading RuleEdit-200 skipped or repaired, and the error raised in strict mode."""

from __future__ import annotations

from dataclasses import dataclass


def _location(file: str, case: int | None, key: str | None) -> str:
    where = file
    if case is not None:
        where += f", case {case}"
    if key is not None:
        where += f", key '{key}'"
    return where


@dataclass(frozen=True)
class LoadIssue:
    """A problem found in one file: ``case`` is the position in the file's list, ``key`` a
    dotted path such as ``Instance.prompt`` (both None when the whole file is concerned)."""

    rule_id: str
    file: str
    case: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        return f"{_location(self.file, self.case, self.key)}: {self.message}"


class RuleEditFormatError(ValueError):
    """A rule file breaks the RuleEdit-200 format; the message names the file, case and key."""

    def __init__(self, issue: LoadIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@dataclass(frozen=True)
class LoadReport:
    """The rules skipped (one issue each: the first that made the rule unusable) and the
    warnings about rules that were loaded after a documented repair."""

    source: str
    rules_loaded: int
    skipped: tuple[LoadIssue, ...] = ()
    warnings: tuple[LoadIssue, ...] = ()

    @property
    def skipped_rules(self) -> tuple[str, ...]:
        return tuple(issue.rule_id for issue in self.skipped)

    def summary(self) -> str:
        counts = f"{self.rules_loaded} rules loaded, {len(self.skipped)} skipped, {len(self.warnings)} warnings"
        lines = [f"{self.source}: {counts}"]
        lines += [f"  skipped rule {issue.rule_id}: {issue}" for issue in self.skipped]
        lines += [f"  warning: {issue}" for issue in self.warnings]
        return "\n".join(lines)
