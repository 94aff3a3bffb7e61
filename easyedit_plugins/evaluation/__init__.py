"""Judges, EasyEdit's token accuracy and the rule-level metrics of RuleEdit-200 / DMLE."""

from .formulas import Formula, FormulaError, FormulaTooLarge, formulas_equivalent, parse_formula
from .generation import generation_budget, greedy_generate
from .judges import (
    AUTO_JUDGE,
    LLM_JUDGE,
    PACKAGE_JUDGES,
    JudgeFunction,
    JudgeNotConfiguredError,
    auto_kind,
    judge,
    judge_kinds,
    judge_time_limit,
    register_judge,
    set_judge_time_limit,
    set_llm_judge,
    unregister_judge,
    verdict,
)
from .numbers import final_number, numeric_judge
from .rule_evaluation import METRICS, PromptResult, evaluate_requests
from .rule_metrics import SUMMARY_METRICS, rule_records, summarize_rules, write_rule_records
from .text import answer_span, normalise, squad_normalise
from .token_accuracy import TargetTokens, prediction_agreement, target_token_predictions, token_accuracy
from .verdicts import Verdict

__all__ = [
    "AUTO_JUDGE",
    "LLM_JUDGE",
    "PACKAGE_JUDGES",
    "METRICS",
    "SUMMARY_METRICS",
    "Formula",
    "FormulaError",
    "FormulaTooLarge",
    "JudgeFunction",
    "JudgeNotConfiguredError",
    "PromptResult",
    "TargetTokens",
    "Verdict",
    "answer_span",
    "auto_kind",
    "evaluate_requests",
    "final_number",
    "formulas_equivalent",
    "generation_budget",
    "greedy_generate",
    "judge",
    "judge_kinds",
    "judge_time_limit",
    "normalise",
    "numeric_judge",
    "parse_formula",
    "prediction_agreement",
    "register_judge",
    "rule_records",
    "set_judge_time_limit",
    "set_llm_judge",
    "squad_normalise",
    "summarize_rules",
    "target_token_predictions",
    "token_accuracy",
    "unregister_judge",
    "verdict",
    "write_rule_records",
]
