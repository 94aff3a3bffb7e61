"""Context templates: short prefixes the edit prompt is also seen behind.

An edit computed on one exact prompt can fail as soon as any text precedes it, so keys and
targets are averaged over the bare prompt and a few prefixes sampled from the model itself
(MEMIT's recipe: ~10-token continuations of "The", "Therefore", "Because", "I", "You", each
followed by ". "). Templates are grouped: EasyEdit averages within each group, then over groups,
so the bare prompt weighs as much as all sampled prefixes together.

EasyEdit caches templates in a process-wide global that leaks from one model into the next;
here they are cached per model object (and recomputed for another model). Sampling uses a
seeded generator, so the same model always gets the same templates.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Sequence

import torch

from .model_store import model_slot
from .positions import input_device, pad_id, right_padded, token_ids
from .prompt_templates import PromptTemplateError, split_template

#: Grouped templates: every string has exactly one ``{}`` where the edit prompt goes.
Templates = list[list[str]]

DEFAULT_PREFIXES = ("The", "Therefore", "Because", "I", "You")
#: (length in tokens, number of samples) per group, as in MEMIT's hyperparameters.
DEFAULT_LENGTH_PARAMS: tuple[tuple[int, int], ...] = ((10, 5),)


def _sample(model: torch.nn.Module, tok: Any, prompts: Sequence[str], length: int, top_k: int, generator: torch.Generator) -> list[str]:
    """Top-k sampling until each text is ``length`` tokens long (prompt included)."""
    sequences = [token_ids(tok, p) for p in prompts]
    device = input_device(model)
    while min(len(s) for s in sequences) < length:
        batch = right_padded(sequences, pad_id(tok), device)
        with torch.no_grad():
            logits = model(**batch.as_kwargs()).logits
        last = logits[torch.arange(len(sequences), device=logits.device), batch.lengths - 1].float()
        top_values, top_ids = last.topk(min(top_k, last.shape[-1]), dim=-1)
        choice = torch.multinomial(top_values.softmax(-1).cpu(), 1, generator=generator).squeeze(1)
        chosen = top_ids.cpu()[torch.arange(len(sequences)), choice]
        for sequence, token in zip(sequences, chosen.tolist()):
            if len(sequence) < length:
                sequence.append(token)
    texts = tok.batch_decode(sequences, skip_special_tokens=True)
    return [unicodedata.normalize("NFKD", t).replace("\n\n", " ").replace("\n", " ") for t in texts]


def generate_templates(
    model: torch.nn.Module,
    tok: Any,
    length_params: Sequence[tuple[int, int]] = DEFAULT_LENGTH_PARAMS,
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
    seed: int = 0,
    top_k: int = 5,
) -> Templates:
    """``[["{}"], [sampled prefix + ". {}", ...], ...]`` sampled from ``model``."""
    generator = torch.Generator().manual_seed(seed)
    groups: Templates = [["{}"]]
    for length, count in length_params:
        per_prefix = max(count // len(prefixes), 1)
        prompts = [p for p in prefixes for _ in range(per_prefix)]
        texts = _sample(model, tok, prompts, length, top_k, generator)
        groups.append([t.replace("{", " ").replace("}", " ") + ". {}" for t in texts])
    return groups


def context_templates(
    model: torch.nn.Module,
    tok: Any,
    length_params: Sequence[tuple[int, int]] = DEFAULT_LENGTH_PARAMS,
    seed: int = 0,
    given: Templates | None = None,
) -> Templates:
    """The templates for ``model``: ``given`` ones if any, else sampled once and cached."""
    if given is not None:
        return check_templates(given)
    key = (tuple(map(tuple, length_params)), seed)
    per_model: dict[tuple, Templates] = model_slot(model, "context_templates", dict)
    if key not in per_model:
        per_model[key] = generate_templates(model, tok, length_params, seed=seed)
    return per_model[key]


def check_templates(groups: Templates) -> Templates:
    """Refuse templates without exactly one ``{}``; accept a flat list as one group."""
    if groups and all(isinstance(g, str) for g in groups):
        groups = [list(groups)]  # type: ignore[list-item]
    for group in groups:
        for template in group:
            try:
                split_template(template)
            except PromptTemplateError:
                raise ValueError(
                    f"context template must contain exactly one '{{}}' and no other braces (write '{{{{' or '}}}}' "
                    f"for a literal brace): {template!r}"
                ) from None
    return [list(g) for g in groups]
