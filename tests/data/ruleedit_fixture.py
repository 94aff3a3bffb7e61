"""Invented rules in the exact layout of the released RuleEdit-200 data (never the real data).

``rule_files(n)`` returns the two files of one invented rule ("the blend of n") with lists of
str and single str in the same places as the released files, and no ``ground_truth`` in the
instance case.
"""

from __future__ import annotations

import copy
from typing import Any

RuleFiles = dict[str, Any]


def rule_files(n: int) -> RuleFiles:
    """The ``f_d.json`` and ``ins.json`` contents of an invented rule ``n`` ("the blend of n")."""
    subject = f"blend{n}"
    formula_prompt = f"A {subject} mixes p and q. Its weight can be calculated by the formula:"
    description_prompt = f"The weight of a {subject} can be calculated by"
    instance_prompt = f"A {subject} mixes 3 and 4. Its weight can be calculated by the formula:"
    locality = {
        "neighborhood": {"prompt": [f"The colour of a {subject} is", f"The size of a {subject} is"],
                         "ground_truth": ["grey.", "small."]},
        "distracting": {"prompt": ["A square has a side s. Its area is", "The sky is"],
                        "ground_truth": ["A = s^2.", "blue."]},
    }
    instance = {"prompt": [f"A {subject} mixes 2 and 5. What is its weight? The answer is",
                           f"A {subject} mixes 6 and 1. Substitute and compute:"],
                "target_new": ["7", "W = 6 + 1 = 7."]}
    formula = {
        "case_id": 0, "subject": subject, "rule": f"weight of {subject}", "prompt": formula_prompt,
        "target_new": "W = p + q.", "ground_truth": ["W = p * q.", "p * q."],
        "rephrase_prompt": f"Give the formula for the weight of a {subject} in p and q.",
        "Rule_Understanding": {"prompt": description_prompt, "target_new": "adding its two parts.",
                               "ground_truth": ["multiplying its two parts."],
                               "rephrase_prompt": f"We can describe the weight of a {subject} as"},
        "Instance": copy.deepcopy(instance), "locality": copy.deepcopy(locality),
    }
    description = {
        "case_id": 1, "subject": subject, "rule": f"weight of {subject}", "prompt": description_prompt,
        "target_new": "adding its two parts.", "ground_truth": ["multiplying its two parts."],
        "rephrase_prompt": f"State how the weight of a {subject} is found.",
        "Rule_Understanding": {"prompt": formula_prompt, "target_new": "W = p + q.",
                               "ground_truth": ["W = p * q."],
                               "rephrase_prompt": f"The weight of a {subject} with parts p and q is"},
        "Instance": copy.deepcopy(instance), "locality": copy.deepcopy(locality),
    }
    instance_case = {
        "case_id": 0, "subject": subject, "rule": f"weight of {subject}", "prompt": instance_prompt,
        "target_new": "W = 3 + 4 = 7.",
        "rephrase_prompt": f"Write the weight of a {subject} of 3 and 4 as one equation.",
        "Rule_Understanding": {"prompt": [formula_prompt, f"In words, the weight of a {subject} is found by"],
                               "target_new": ["W = p + q.", "adding its two parts."],
                               "ground_truth": ["W = p * q.", "multiplying its two parts."]},
        "locality": copy.deepcopy(locality), "Instance": copy.deepcopy(instance),
    }
    return {"f_d.json": [formula, description], "ins.json": [instance_case]}
