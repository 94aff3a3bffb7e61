"""Causal tracing (ROME, MEMIT): where a model reads a subject's information, layer by layer.

The recipe of Meng et al.: corrupt the subject's input embeddings with Gaussian noise, so the
model can no longer recognise the subject and the answer's probability drops; then restore ONE
layer's output at ONE position from the clean run and measure how much of the answer's
probability comes back. That recovered probability, averaged over noise draws and prompts, is
the layer's *indirect effect* at that position. Locate-then-edit methods write facts where it is
high at the subject's last token; a model whose effect is the same at every layer gives no
reason to prefer one.

Two positions are traced: the subject's last token (where ROME, MEMIT and their descendants
write) and the prompt's final token (where the answer is predicted; restoring the last layer
there recovers the clean prediction exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from ..core.archspec import ArchSpec, arch_spec, num_layers
from ..core.hooks import edit_outputs
from ..core.positions import continuation_ids, token_ids


@dataclass(frozen=True)
class TracingCase:
    """A prompt that should continue with ``answer``; ``subject`` occurs in it verbatim."""

    prompt: str
    subject: str
    answer: str


@dataclass(frozen=True)
class TracingResult:
    """Indirect effects per layer at the two traced positions, averaged over the cases.

    ``clean`` and ``corrupted`` are the mean probabilities of the answer's first token without
    noise and with it (nothing restored); an effect is restored minus corrupted probability.
    """

    subject_last: list[float]
    last: list[float]
    clean: float
    corrupted: float
    cases: int

    @property
    def layers(self) -> int:
        return len(self.last)


def subject_span(tok: Any, prompt: str, subject: str) -> tuple[int, int]:
    """``(first, end)`` token positions of ``subject``'s first occurrence in ``prompt`` (end exclusive).

    The text before the subject is tokenized without its trailing space: byte-level BPE glues
    the space to the subject's first token, so a prefix ending in a space would count one token
    too many.
    """
    start = prompt.index(subject)
    first = len(token_ids(tok, prompt[:start].rstrip()))
    end = len(token_ids(tok, prompt[:start + len(subject)]))
    return min(first, end - 1), end


@torch.no_grad()
def causal_trace(model: nn.Module, tok: Any, cases: Sequence[TracingCase], spec: ArchSpec | None = None,
                 samples: int = 10, noise_factor: float = 3.0, seed: int = 0) -> TracingResult:
    """The indirect effect of every layer's output at the subject's last token and at the final token.

    Noise is ``noise_factor`` times the standard deviation of the input embedding matrix,
    ``samples`` draws per case from a generator seeded with ``seed`` (drawn case by case, so a
    case's noise does not depend on how many positions are traced).
    """
    spec = spec or arch_spec(model)
    layers = num_layers(model, spec)
    embeddings = model.get_input_embeddings()
    noise_scale = noise_factor * embeddings.weight.std().item()
    generator = torch.Generator().manual_seed(seed)
    effects = torch.zeros(2, layers)
    clean_total = corrupted_total = 0.0
    layer_names = [spec.layer_name(layer) for layer in range(layers)]
    for case in cases:
        first, end = subject_span(tok, case.prompt, case.subject)
        ids = torch.tensor([token_ids(tok, case.prompt)] * samples)
        answer = continuation_ids(tok, " " + case.answer)[0]
        noise = torch.randn(samples, end - first, embeddings.weight.shape[1], generator=generator) * noise_scale
        clean: dict[str, torch.Tensor] = {}

        def record(name: str, hidden: torch.Tensor) -> None:
            clean[name] = hidden[:1].clone()

        with edit_outputs(model, layer_names, record):
            clean_probability = model(input_ids=ids[:1]).logits[0, -1].softmax(-1)[answer].item()

        def probability(restore: tuple[str, int] | None) -> float:
            def corrupt(name: str, hidden: torch.Tensor) -> torch.Tensor | None:
                if name == spec.embed:
                    hidden = hidden.clone()
                    hidden[:, first:end] += noise.to(hidden)
                    return hidden
                if restore is not None and name == restore[0]:
                    hidden = hidden.clone()
                    hidden[:, restore[1]] = clean[name][:, restore[1]]
                    return hidden
                return None

            names = [spec.embed] + ([restore[0]] if restore is not None else [])
            with edit_outputs(model, names, corrupt):
                logits = model(input_ids=ids).logits[:, -1]
            return logits.softmax(-1)[:, answer].mean().item()

        corrupted = probability(None)
        for row, position in enumerate((end - 1, ids.shape[1] - 1)):
            for layer, name in enumerate(layer_names):
                effects[row, layer] += probability((name, position)) - corrupted
        clean_total += clean_probability
        corrupted_total += corrupted
    count = max(1, len(cases))
    return TracingResult((effects[0] / count).tolist(), (effects[1] / count).tolist(), clean_total / count,
                         corrupted_total / count, len(cases))
