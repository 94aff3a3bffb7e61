"""RuleEdit-200 as a dataset class in the shape of EasyEdit's own (``ZsreDataset``,
``CounterFactDataset``), so it can sit in EasyEdit's ``DS_DICT`` and go to
``BaseEditor.edit_dataset``.

EasyEdit constructs such classes as ``cls(data_dir, size=None, config=None)``, takes ``len()``
and slices them (``ds[i:i + batch_size]``) into lists of request dictionaries, so
``__getitem__`` accepts slices as well as integers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from torch.utils.data import Dataset

from .cases import CaseForm
from .report import LoadReport
from .ruleedit import load_ruleedit


class RuleEditDataset(Dataset):
    """The EasyEdit requests of RuleEdit-200, one per case, rule by rule in form order.

    ``size`` keeps the first ``size`` requests (EasyEdit's convention); ``forms`` keeps only
    some forms; ``strict`` is passed to :func:`~.ruleedit.load_ruleedit`. ``config`` is accepted
    for EasyEdit's sake and not used. What the load skipped or repaired is in ``report``.
    """

    def __init__(
        self,
        data_dir: str | Path,
        size: int | None = None,
        config: Any = None,
        *,
        forms: Iterable[CaseForm] | None = None,
        strict: bool = False,
    ) -> None:
        benchmark = load_ruleedit(data_dir, strict=strict)
        self.report: LoadReport = benchmark.report
        self._requests = benchmark.requests(forms)
        if size is not None:
            self._requests = self._requests[:size]

    def __len__(self) -> int:
        return len(self._requests)

    def __getitem__(self, item: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self._requests[item]
