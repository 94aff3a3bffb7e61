"""A third-party plugin for easyedit-plugins: the ``TOY_HEAD`` editing method.

``TOY_HEAD`` edits the output embedding (LM head) with a rank-one update: for the prompt's last
hidden state ``h`` (the LM head's input) and the target's first token ``t`` it adds
``a * h / |h|^2`` to row ``t``, with ``a`` the smallest step that lifts ``t``'s logit ``margin``
above the best other token. Small, but a real edit with a checkable outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from easyedit_plugins import EditOutcome, MethodSpec, PluginHyperParams, WeightBackup, hookimpl


@dataclass(kw_only=True)
class ToyHeadHyperParams(PluginHyperParams):
    ALG_NAME = "TOY_HEAD"

    margin: float = 2.0


def _lm_head_weight_name(model: torch.nn.Module) -> str:
    head = model.get_output_embeddings()
    for name, parameter in model.named_parameters():
        if parameter is head.weight:
            return name
    raise ValueError("the LM head's weight is not a named parameter")


def toy_head_edit(model, tok, requests, hparams: ToyHeadHyperParams) -> EditOutcome:
    backup = WeightBackup(model)
    weight = backup.save(_lm_head_weight_name(model))
    head = model.get_output_embeddings()
    for request in requests:
        target = " " + request["target_new"].lstrip()
        target_id = tok(target, add_special_tokens=False)["input_ids"][0]
        inputs = tok(request["prompt"], return_tensors="pt").to(weight.device)
        captured = {}

        def record(_module, args):
            captured["h"] = args[0][0, -1]  # returns None: the input is left unchanged

        handle = head.register_forward_pre_hook(record)
        try:
            with torch.no_grad():
                logits = model(**inputs).logits[0, -1]
        finally:
            handle.remove()
        others = logits.clone()
        others[target_id] = -float("inf")
        gap = others.max() - logits[target_id] + hparams.margin
        if gap > 0:
            h = captured["h"]
            with torch.no_grad():
                weight[target_id] += (gap * h / h.dot(h)).to(weight.dtype)
    return EditOutcome(originals=backup.originals, info={"summary": f"{len(requests)} head edit(s)"})


TOY_HEAD = MethodSpec(
    name="TOY_HEAD",
    hparams_class=ToyHeadHyperParams,
    edit=toy_head_edit,
    batchable=True,
    description="rank-one LM-head edit (test plugin)",
)


@hookimpl
def easyedit_register_methods():
    return [TOY_HEAD]
