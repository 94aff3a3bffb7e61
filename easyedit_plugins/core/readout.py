"""Keys and layer outputs read at the subject's last token.

Both come from one kind of forward pass: prompts placed in context templates, activations
picked at the subject's last token. The keys of a layer (inputs of its MLP output projection)
are averaged over the templates of each group and then over groups, as MEMIT does; the layer
output (the residual stream a target ``z`` lives in) is read on the bare prompt. Reading both
from the same pass saves the second pass EasyEdit makes per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .archspec import ArchSpec
from .context import Templates
from .hooks import capture_inputs, capture_outputs, forward_until
from .positions import input_device, pad_id, right_padded, subject_last_index, token_ids
from .requests import EditRequest

#: Texts per forward pass when reading activations.
READ_BATCH = 64


@dataclass
class SubjectReadout:
    """``keys`` (n x d_ff) averaged over templates; ``outputs`` (n x d) on the bare prompt."""

    keys: torch.Tensor
    outputs: torch.Tensor


def _texts(requests: Sequence[EditRequest], templates: Templates) -> list[tuple[str, int]]:
    """(prompt template in context, request index) for every request and context, in order."""
    return [
        (context.format(request.template), r)
        for r, request in enumerate(requests)
        for group in templates
        for context in group
    ]


def read_at_subject(
    model: torch.nn.Module,
    tok: Any,
    spec: ArchSpec,
    key_layer: int,
    output_layer: int,
    requests: Sequence[EditRequest],
    templates: Templates,
) -> SubjectReadout:
    """Keys at ``key_layer`` over all templates, and ``output_layer``'s output on the bare prompt.

    The bare prompt is the template ``"{}"``, which must be the only member of the first group
    (the layout :func:`~easyedit_plugins.core.context.context_templates` produces).
    """
    if templates[0] != ["{}"]:
        raise ValueError("the first template group must be ['{}'] (the bare prompt)")
    key_module = spec.mlp_out_name(key_layer)
    layer_module = spec.layer_name(output_layer)
    rows = _texts(requests, templates)
    sequences = []
    positions = []
    for text, r in rows:
        sequences.append(token_ids(tok, text.format(requests[r].subject)))
        positions.append(subject_last_index(tok, text, requests[r].subject))
    device = input_device(model)
    key_rows: list[torch.Tensor] = []
    output_rows: list[torch.Tensor] = []
    for start in range(0, len(rows), READ_BATCH):
        chunk = range(start, min(start + READ_BATCH, len(rows)))
        batch = right_padded([sequences[i] for i in chunk], pad_id(tok), device)
        with torch.no_grad(), capture_inputs(model, [key_module]) as inputs, capture_outputs(model, [layer_module]) as outputs:
            forward_until(model, spec.layer_name(max(key_layer, output_layer)), batch.as_kwargs())
        index = torch.arange(len(chunk))
        where = torch.tensor([positions[i] for i in chunk])
        keys = inputs[key_module]
        hidden = outputs[layer_module]
        key_rows.append(keys[index.to(keys.device), where.to(keys.device)].float())
        output_rows.append(hidden[index.to(hidden.device), where.to(hidden.device)].float())
    all_keys = torch.cat(key_rows)
    all_outputs = torch.cat(output_rows)
    per_request_keys = []
    bare_outputs = []
    cursor = 0
    for _request in requests:
        bare_outputs.append(all_outputs[cursor])  # each request's rows start with the bare prompt
        group_means = []
        for group in templates:
            group_means.append(all_keys[cursor : cursor + len(group)].mean(0))
            cursor += len(group)
        per_request_keys.append(torch.stack(group_means).mean(0))
    return SubjectReadout(keys=torch.stack(per_request_keys), outputs=torch.stack(bare_outputs))
