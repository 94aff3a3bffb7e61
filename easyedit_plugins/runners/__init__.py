"""Long jobs: the RuleEdit-200 benchmark runner (:mod:`.ruleedit`) and its parts."""

from .manifest import ManifestMismatch
from .methods import EditMethod, UnknownMethodError, edit_requests, load_method_hparams, resolve_method
from .model_loading import ModelLoadError, load_model
from .restore import RestoreError, parameter_checksums, restore_and_verify
from .results import ResultsStore
from .rule_processing import EvaluationSettings, RuleProcessor, RuleResult
from .ruleedit import RuleSelectionError, RunReport, run_ruleedit, select_rules

__all__ = [
    "EditMethod",
    "EvaluationSettings",
    "ManifestMismatch",
    "ModelLoadError",
    "RestoreError",
    "ResultsStore",
    "RuleProcessor",
    "RuleResult",
    "RuleSelectionError",
    "RunReport",
    "UnknownMethodError",
    "edit_requests",
    "load_method_hparams",
    "load_model",
    "parameter_checksums",
    "resolve_method",
    "restore_and_verify",
    "run_ruleedit",
    "select_rules",
]
