"""Issue 10 §3: unpaired locality (or portability) prompt and answer lists are an error."""

from __future__ import annotations

import pytest

from easyedit_plugins.demo.metrics import measure_before
from easyedit_plugins.evaluation.rule_evaluation import evaluate_requests
from easyedit_plugins.testing import tiny_model

REQUEST = {
    "prompt": "The weight of a blend is", "target_new": "the sum.", "rule_id": "7", "case_id": 1, "form": "description",
    "locality": {"neighborhood": {"prompt": ["The colour of a blend is", "The size of a blend is"],
                                  "ground_truth": ["grey."]}},
}


def test_unpaired_locality_lists_are_an_error_naming_the_request():
    model, tok = tiny_model("gpt2", layers=1, width=32)
    with pytest.raises(ValueError, match=r"rule 7, case 1.*neighborhood.*2 prompts but 1 ground_truth"):
        evaluate_requests(model, tok, [REQUEST], show_progress=False)


def test_unpaired_locality_lists_are_an_error_in_the_demo_metrics():
    model, tok = tiny_model("gpt2", layers=1, width=32)
    with pytest.raises(ValueError, match=r"request 0.*neighborhood.*2 prompts but 1 ground_truth"):
        measure_before(model, tok, [REQUEST])
