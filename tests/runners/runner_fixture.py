"""Invented rules in the RuleEdit-200 layout for the runner tests (never the real data), and the
tiny DMLE hyperparameter file they run with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_DMLE = Path(__file__).resolve().parents[2] / "hparams" / "DMLE" / "tiny-gpt2.yaml"


def rule_files(n: int) -> dict[str, Any]:
    """``f_d.json`` and ``ins.json`` of an invented rule: "the blend of n is the sum of its parts"."""
    subject = f"blend{n}"
    formula_prompt = f"The formula of a {subject}"
    description_prompt = f"The weight of a {subject} is"
    locality = {"neighborhood": {"prompt": [f"The colour of a {subject} is"], "ground_truth": ["grey."]},
                "distracting": {"prompt": ["The sky is"], "ground_truth": ["blue."]}}
    instance = {"prompt": [f"A {subject} of 2 and 5 weighs"], "target_new": ["7"]}

    def case(case_id: int, prompt: str, target: str, other_prompt: str, other_target: str) -> dict[str, Any]:
        return {"case_id": case_id, "subject": subject, "rule": f"weight of {subject}", "prompt": prompt,
                "target_new": target, "ground_truth": ["p * q."], "rephrase_prompt": f"Say how a {subject} is weighed:",
                "Rule_Understanding": {"prompt": other_prompt, "target_new": other_target, "ground_truth": ["p * q."]},
                "Instance": dict(instance), "locality": dict(locality)}

    formula = case(0, formula_prompt, "W = p + q.", description_prompt, "the sum.")
    description = case(1, description_prompt, "the sum.", formula_prompt, "W = p + q.")
    instance_case = {
        "case_id": 0, "subject": subject, "rule": f"weight of {subject}", "prompt": f"A {subject} of 3 and 4 weighs",
        "target_new": "7.", "rephrase_prompt": f"The weight of a {subject} of 3 and 4 is",
        "Rule_Understanding": {"prompt": [formula_prompt], "target_new": ["W = p + q."], "ground_truth": ["p * q."]},
        "Instance": dict(instance), "locality": dict(locality),
    }
    return {"f_d.json": [formula, description], "ins.json": [instance_case]}


def write_rules(root: Path, ids: list[int]) -> Path:
    for n in ids:
        folder = root / str(n)
        folder.mkdir(parents=True)
        for name, content in rule_files(n).items():
            (folder / name).write_text(json.dumps(content, indent=1), encoding="utf-8")
    return root
