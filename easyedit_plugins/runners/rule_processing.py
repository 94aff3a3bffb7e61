"""One rule, start to finish: evaluate, edit, evaluate again, restore.

The same steps serve the runner (one model, restored after every rule) and the benchmark's
baseline (a model reloaded for every rule, as the DMLE authors run it), so the two differ only
in how the unedited model comes back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import Rule
from ..evaluation import AUTO_JUDGE, PACKAGE_JUDGES, evaluate_requests
from ..host import get_registry
from .methods import EditMethod, edit_requests
from .restore import restore_and_verify
from .results import rule_file_records

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationSettings:
    """How every prompt is graded: the judge, by its name in the plugin registry (the built-in
    ones are described in :mod:`easyedit_plugins.evaluation.judges`; a plugin may add more),
    whether the unedited model is evaluated too (DMLE's ``pre``), the generation batch, and the
    seconds one judgement of a package judge may take (``None``: the judges' default; a judge
    that runs out of time answers False and the rule file says why). A model can generate a
    formula that takes long to compare; the limit is a setting because a slow machine may need
    more time for honest answers."""

    judge: str = AUTO_JUDGE
    pre: bool = True
    batch_size: int = 8
    judge_time_limit: float | None = None

    def check(self) -> None:
        judges = get_registry().judge_names()
        if self.judge not in judges:
            raise ValueError(f"unknown judge {self.judge!r}; available: {', '.join(judges)}")
        if self.batch_size < 1:
            raise ValueError(f"the evaluation batch size must be at least 1, got {self.batch_size}")
        if self.judge_time_limit is not None and not self.judge_time_limit > 0:
            raise ValueError(f"the judge time limit must be a positive number of seconds, got {self.judge_time_limit}")


@dataclass
class RuleResult:
    """A rule's records (the DMLE-layout file content) and where its time went, in seconds."""

    rule_id: str
    records: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)


class RuleProcessor:
    """Edits rules with one method and hyperparameter set, each on the unedited model."""

    def __init__(self, method: EditMethod, hparams: Any, settings: EvaluationSettings) -> None:
        settings.check()
        self.method = method
        self.hparams = hparams
        self.settings = settings
        # The package's own judges are called by kind, so their time limit and the reason a judge
        # gave up reach the rule files; a plugin's judge is called as its plugin registered it.
        self.judge = None if settings.judge in PACKAGE_JUDGES else get_registry().judge(settings.judge)

    def _evaluate(self, model: Any, tok: Any, requests: list[dict[str, Any]]) -> list[Any]:
        return evaluate_requests(
            model, tok, requests, judge_kind=self.settings.judge, batch_size=self.settings.batch_size, show_progress=False,
            judge_function=self.judge, judge_time_limit=self.settings.judge_time_limit,
        )

    def process(self, model: torch.nn.Module, tok: Any, rule: Rule, reference: dict[str, float]) -> RuleResult:
        """Evaluate ``rule`` before and after editing it into ``model``, then restore the model.

        ``reference`` is the checksum of the unedited model; the restore is verified against it
        even when the edit or the evaluation fails (then :class:`~.restore.RestoreError` is
        raised if the model could not be brought back).
        """
        requests = rule.requests()
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        pre = self._evaluate(model, tok, requests) if self.settings.pre else None
        seconds["pre_eval"] = time.perf_counter() - start
        originals: dict[str, torch.Tensor] = {}
        try:
            start = time.perf_counter()
            edited = edit_requests(self.method, model, tok, requests, self.hparams, originals)
            seconds["edit"] = time.perf_counter() - start
            start = time.perf_counter()
            post = self._evaluate(edited, tok, requests)
            seconds["post_eval"] = time.perf_counter() - start
        finally:
            start = time.perf_counter()
            restore_and_verify(model, originals, reference)
            seconds["restore"] = time.perf_counter() - start
        logger.debug("rule %s: %s", rule.rule_id, {k: round(v, 3) for k, v in seconds.items()})
        return RuleResult(rule.rule_id, rule_file_records(requests, post, pre), seconds)
