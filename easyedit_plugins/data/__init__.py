"""Benchmarks the package can load: RuleEdit-200 (the DMLE authors' rule-editing benchmark)."""

from .cases import MISSING_GROUND_TRUTH, CaseForm, PromptSet, Rule, RuleCase
from .dataset import RuleEditDataset
from .report import LoadIssue, LoadReport, RuleEditFormatError
from .ruleedit import RuleEditBenchmark, load_ruleedit
from .sources import RuleEditSourceError
from .subjects import SubjectChoice, choose_subject

__all__ = [
    "MISSING_GROUND_TRUTH",
    "CaseForm",
    "LoadIssue",
    "LoadReport",
    "PromptSet",
    "Rule",
    "RuleCase",
    "RuleEditBenchmark",
    "RuleEditDataset",
    "RuleEditFormatError",
    "RuleEditSourceError",
    "SubjectChoice",
    "choose_subject",
    "load_ruleedit",
]
