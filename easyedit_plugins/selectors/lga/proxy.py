"""The proxy set LGA scores layers on: where its requests come from and what is kept of them.

The paper finds the golden layer on a small proxy set (about 10% of a dataset) and reuses it for
other requests. A proxy item needs a prompt, the new target and, unless the original answer is
predicted by the model, the dataset's original answer; the DMLE stage groups also need the
request's ``form``.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ...core.prompt_templates import PromptTemplateError, fill_subject

logger = logging.getLogger(__name__)

#: ``world:<preset>/<arch>[/<seed>]`` names the miniature world's requests.
WORLD_SCHEME = "world:"

#: Fact edits drawn from the miniature world when it is the proxy source.
WORLD_PROXY_FACTS = 32


class ProxyDataError(ValueError):
    """The proxy data cannot be read or has no usable requests (the message names them)."""


@dataclass(frozen=True)
class ProxyItem:
    """One proxy request: ``prompt`` continues with ``old_answer`` now, ``new_answer`` after an edit.

    ``old_answer`` is None when the dataset has none (the model's prediction is used instead).
    """

    prompt: str
    new_answer: str
    old_answer: str | None
    form: str | None = None


def load_proxy_requests(source: str, *, staged: bool = False) -> list[dict[str, Any]]:
    """EasyEdit request dictionaries from a proxy source (see ``LGAHyperParams.proxy_data``).

    ``staged`` says the method edits in form stages (DMLE): the miniature world then gives its
    rule edits (tagged with ``form``) instead of its fact edits.
    """
    if source.startswith(WORLD_SCHEME):
        return _world_requests(source[len(WORLD_SCHEME):], staged)
    path = Path(source)
    if path.suffix in (".json", ".jsonl"):
        return _json_requests(path)
    if path.is_dir() or path.suffix == ".zip":
        from ...data import RuleEditSourceError, load_ruleedit

        try:
            return load_ruleedit(path).requests()
        except RuleEditSourceError as error:
            raise ProxyDataError(f"{source}: not a RuleEdit-200 zip or folder ({error})") from None
    raise ProxyDataError(
        f"{source}: proxy data must be a .json/.jsonl list of requests, a RuleEdit-200 zip or folder, "
        f"or {WORLD_SCHEME}<preset>/<arch>[/<seed>]"
    )


def _json_requests(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProxyDataError(f"{path}: proxy data file not found") from None
    try:
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProxyDataError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ProxyDataError(f"{path}: expected a list of request objects")
    return records


def _world_requests(spec: str, staged: bool) -> list[dict[str, Any]]:
    from ...world import load_world_model

    parts = spec.split("/")
    if not 2 <= len(parts) <= 3 or not all(parts) or (len(parts) == 3 and not parts[2].isdigit()):
        raise ProxyDataError(f"{WORLD_SCHEME}{spec}: expected {WORLD_SCHEME}<preset>/<arch>[/<seed>]")
    preset, arch = parts[0], parts[1]
    seed = int(parts[2]) if len(parts) == 3 else 0
    try:
        world = load_world_model(preset, arch, seed, train_if_missing=False, progress=False)
    except (FileNotFoundError, ValueError) as error:
        raise ProxyDataError(f"{WORLD_SCHEME}{spec}: {error}") from None
    if staged:
        return world.rule_requests()
    return world.fact_requests(min(WORLD_PROXY_FACTS, len(world.world.subjects)))


def _text(value: Any) -> str | None:
    """A request's answer field as one string (EasyEdit uses str, ``{"str": ...}`` or a list)."""
    if isinstance(value, Mapping):
        value = value.get("str")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _missing(answer: str | None) -> bool:
    from ...data import MISSING_GROUND_TRUTH

    return answer is None or not answer.strip() or answer == MISSING_GROUND_TRUTH


def _filled(prompt: str, subject: str | None, index: int) -> str:
    """The prompt with its ``{}`` filled by the subject; a literal ``{}`` in rendered text stays."""
    if subject is None:
        raise ProxyDataError(f"proxy request {index}: prompt {prompt!r} has '{{}}' but there is no 'subject'")
    try:
        return fill_subject(prompt, subject)
    except PromptTemplateError as error:
        raise ProxyDataError(f"proxy request {index} ({prompt!r}): {error}") from None


def to_proxy_item(request: Mapping[str, Any], index: int) -> ProxyItem:
    """A proxy item from an EasyEdit request (ZsRE's ``src``/``alt``/``answers`` are accepted too)."""
    prompt = _text(request.get("prompt", request.get("src")))
    new_answer = _text(request.get("target_new", request.get("alt")))
    old_answer = _text(request.get("ground_truth", request.get("answers")))
    if prompt is None or new_answer is None or not new_answer.strip():
        raise ProxyDataError(
            f"proxy request {index} needs a 'prompt' and a non-empty 'target_new' (keys: {sorted(request)})"
        )
    if "{}" in prompt:
        prompt = _filled(prompt, _text(request.get("subject")), index)
    form = request.get("form")
    return ProxyItem(
        prompt=prompt,
        new_answer=new_answer,
        old_answer=None if _missing(old_answer) else old_answer,
        form=form if isinstance(form, str) else None,
    )


def proxy_items(
    requests: Sequence[Mapping[str, Any]],
    *,
    size: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
    forms: Iterable[str | None] | None = None,
) -> list[ProxyItem]:
    """The proxy items to score: those of ``forms`` (all without it; ``None`` in ``forms`` stands
    for untagged requests), then a seeded sample.

    The sample keeps the requests' original order, so the same seed and data always give the
    same items in the same order, whatever the batch size.
    """
    items = [to_proxy_item(request, index) for index, request in enumerate(requests)]
    wanted = None if forms is None else set(forms)
    if wanted is not None:
        items = [item for item in items if item.form in wanted]
    if not items:
        which = "" if wanted is None else f" for the forms {sorted(str(form) for form in wanted)}"
        raise ProxyDataError(f"the proxy set is empty{which}")
    count = len(items)
    if size is not None:
        count = min(size, len(items))
    elif fraction is not None:
        count = max(1, round(fraction * len(items)))
    if count < len(items):
        chosen = sorted(random.Random(seed).sample(range(len(items)), count))
        items = [items[i] for i in chosen]
    logger.info("LGA proxy set: %d of %d requests (seed %d)", len(items), len(requests), seed)
    return items
