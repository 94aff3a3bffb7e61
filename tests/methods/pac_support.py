"""Helpers shared by the PAC tests (imported by them; pytest collects nothing here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from easyedit_plugins.methods.pac import PACHyperParams

HPARAMS_DIR = Path(__file__).resolve().parents[2] / "hparams" / "PAC"

REQUESTS = [
    {"prompt": "The capital of France is", "target_new": "Rome", "subject": "France"},
    {"prompt": "Toko Yasuda plays the", "target_new": "piano", "subject": "Toko Yasuda"},
    {"prompt": "The mother tongue of the poet is", "target_new": "Spanish", "subject": "the poet"},
]


def quick_hparams(**changes: Any) -> PACHyperParams:
    """Settings that edit a tiny model in a few epochs (a large lr; no shuffling)."""
    settings: dict[str, Any] = dict(model_name="tiny", device="cpu", lr=1e-2, num_epochs=4, shuffle=False)
    settings.update(changes)
    return PACHyperParams(**settings)


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def changed_parameters(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> set[str]:
    return {name for name, parameter in model.named_parameters() if not torch.equal(parameter, before[name])}


def prompt_and_first_target_token(tok: Any, request: dict[str, Any]) -> tuple[list[int], int]:
    """The prompt's token ids and the first token of ``" " + target_new`` after it."""
    prompt_ids = tok(request["prompt"])["input_ids"]
    full_ids = tok(request["prompt"] + " " + request["target_new"])["input_ids"]
    return prompt_ids, full_ids[len(prompt_ids)]


@torch.no_grad()
def predicts_target(model: torch.nn.Module, tok: Any, request: dict[str, Any]) -> bool:
    prompt_ids, first = prompt_and_first_target_token(tok, request)
    logits = model(torch.tensor([prompt_ids])).logits
    return int(logits[0, -1].argmax()) == first
