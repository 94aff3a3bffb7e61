"""The package's own plugin: its methods, datasets, evaluators and layer selector.

A client of the host like any third-party plugin: it implements the hooks of
:mod:`easyedit_plugins.host.hookspecs` and is found through the package's ``easyedit_plugins``
entry point (``builtin = "easyedit_plugins.plugin"`` in pyproject.toml). The host never imports
it. Adding an in-tree method means adding its :class:`MethodSpec` here; its name is its
hyperparameter class's ``ALG_NAME``, written once.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from .data import RuleEditDataset, load_ruleedit
from .evaluation import AUTO_JUDGE, LLM_JUDGE, evaluate_requests, judge, rule_records, summarize_rules, token_accuracy
from .host.hookspecs import hookimpl
from .methods.blue import BLUEHyperParams, blue_edit
from .methods.dmle import DMLEHyperParams, dmle_edit
from .methods.pac import PACHyperParams, pac_joint_edit
from .selectors.lga import SELECTOR_NAME as LGA_SELECTOR, LGAHyperParams, lga_select_layers
from .specs import JUDGE_PREFIX, DatasetSpec, EvaluatorSpec, LayerSelection, LayerSelectorSpec, MethodSpec

BLUE_METHOD = MethodSpec(
    name=BLUEHyperParams.ALG_NAME,
    hparams_class=BLUEHyperParams,
    edit=blue_edit,
    batchable=True,
    description=(
        "Boundary Layer UpdatE (NeurIPS 2025) on MEMIT or AlphaEdit: edits the first and last "
        "critical layers, each with its own target; schedule: distributed is the base method itself"
    ),
)

DMLE_METHOD = MethodSpec(
    name=DMLEHyperParams.ALG_NAME,
    hparams_class=DMLEHyperParams,
    edit=dmle_edit,
    batchable=True,
    description=(
        "Distributed Multi-Layer Editing (arXiv 2604.08284): one MEMIT batch edit per stage, requests "
        "routed by form (formula+description on an early layer group, then instance on a middle one)"
    ),
)

PAC_METHOD = MethodSpec(
    name=PACHyperParams.ALG_NAME,
    hparams_class=PACHyperParams,
    edit=pac_joint_edit,
    batchable=True,
    description=(
        "Parameter-Aware Contrastive editing (ACL 2025): trains the traced critical FFN keys/values "
        "of every layer toward the target and the least important ones toward the unedited model"
    ),
)


@hookimpl
def easyedit_register_methods() -> list[MethodSpec]:
    methods: list[MethodSpec] = [BLUE_METHOD, DMLE_METHOD, PAC_METHOD]
    return methods


@hookimpl
def easyedit_register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="ruleedit",
            load=load_ruleedit,
            dataset_class=RuleEditDataset,
            description=(
                "RuleEdit-200 (DMLE): 200 rules x formula/description/instance cases, from its zip "
                "or folder; load(path, strict=False) -> RuleEditBenchmark (rules, report, requests())"
            ),
        )
    ]


@hookimpl
def easyedit_register_evaluators() -> list[EvaluatorSpec]:
    judges = {
        "exact": "equal after normalising case, whitespace, quotes and trailing punctuation",
        "numeric": "final numbers equal (relative tolerance 1e-6; 1,000, 3/4, 196π understood)",
        "symbolic": "algebraically equivalent formulas (own parser, exact check at random rational points)",
        "squad_exact": "SQuAD-normalised equality, the offline fallback of EasyEdit and DMLE",
        AUTO_JUDGE: "numeric, symbolic or exact, chosen from the target's shape",
        LLM_JUDGE: "your own judge, set with easyedit_plugins.evaluation.set_llm_judge(fn); none by default",
    }
    specs = [
        EvaluatorSpec(name=f"{JUDGE_PREFIX}{kind}", evaluate=partial(judge, kind), kind="judge",
                      description=f"evaluate(prediction, target, question=None) -> bool: {text}")
        for kind, text in judges.items()
    ]
    specs += [
        EvaluatorSpec(name="token_accuracy", evaluate=token_accuracy,
                      description="evaluate(model, tok, prompts, targets, max_length=None) -> list[float]: "
                                  "EasyEdit's teacher-forced token accuracy (test_prediction_acc)"),
        EvaluatorSpec(name="ruleedit_prompts", evaluate=evaluate_requests,
                      description="evaluate(model, tok, requests, judge_kind='auto') -> list[PromptResult]: "
                                  "DMLE's generation-based grading of every prompt of RuleEdit requests"),
        EvaluatorSpec(name="ruleedit_records", evaluate=rule_records,
                      description="evaluate(post, pre=None) -> {rule_id: [case records]} in DMLE's field names"),
        EvaluatorSpec(name="ruleedit_summary", evaluate=summarize_rules,
                      description="evaluate(records) -> Reliability, Generalisation, Locality, IP, RU, "
                                  "RU_excl_duplicates (mean per rule, then over rules)"),
    ]
    return specs


@hookimpl
def easyedit_register_layer_selectors() -> list[LayerSelectorSpec]:
    return [
        LayerSelectorSpec(
            name=LGA_SELECTOR,
            hparams_class=LGAHyperParams,
            description=(
                "Layer Gradient Analysis (arXiv 2602.20207): per-layer sum of <g_old, g_new> over a proxy "
                "set, Tukey-filtered; top1 (golden layer), topk or a window; one group per DMLE stage"
            ),
        )
    ]


@hookimpl
def easyedit_select_layers(selector: str, model: Any, tok: Any, requests: list[dict[str, Any]], hparams: Any) -> LayerSelection | None:
    if selector != LGA_SELECTOR:
        return None
    return lga_select_layers(model, tok, requests, hparams)
