"""Checks a batch of edit requests passes before any tensor is built from it.

Without them an empty batch ends in ``torch.cat(): expected a non-empty list`` and a prompt
longer than the model's position table in ``IndexError: index out of range in self`` from the
embedding lookup, after the statistics have been computed. Errors are
:class:`~.requests.RequestError` and name the request by index and prompt.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from torch import nn

from .context import Templates
from .positions import continuation_ids, token_ids
from .requests import EditRequest, RequestError, request_label

#: Config attributes that bound the positions a model can read, by architecture.
_POSITION_LIMITS = ("max_position_embeddings", "n_positions", "n_ctx", "seq_length")


def max_positions(model: nn.Module) -> int | None:
    """The longest input ``model`` takes (its position table), or None if its config says nothing."""
    config = getattr(model, "config", None)
    for name in _POSITION_LIMITS:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def require_requests(requests: Sequence[Any]) -> None:
    """An edit of nothing is a caller's mistake, not a no-op to return silently."""
    if len(requests) == 0:
        raise RequestError("no requests to edit: the request list is empty")


def check_lengths(model: nn.Module, items: Iterable[tuple[int, str, int]]) -> None:
    """``items`` are ``(index, prompt, tokens the model reads for it)``; refuse any over the limit."""
    limit = max_positions(model)
    if limit is None:
        return
    for index, prompt, length in items:
        if length > limit:
            raise RequestError(
                f"{request_label(index, prompt)}: prompt and target are {length} tokens, but the model takes at most "
                f"{limit} positions; shorten the request"
            )


def check_edit_requests(model: nn.Module, tok: Any, requests: Sequence[EditRequest], templates: Templates) -> None:
    """The locate-then-edit engine's batch: not empty, and every prompt in its longest context
    template plus the target (as the target optimisation feeds it) within the model's positions."""
    require_requests(requests)
    contexts = [context for group in templates for context in group]

    def length(request: EditRequest) -> int:
        target = len(continuation_ids(tok, request.target))
        prompts = (context.format(request.template).format(request.subject) for context in contexts)
        return max(len(token_ids(tok, prompt)) for prompt in prompts) + target

    check_lengths(model, ((index, request.prompt, length(request)) for index, request in enumerate(requests)))


def check_text_requests(model: nn.Module, tok: Any, requests: Sequence[dict[str, Any]]) -> None:
    """Requests a method reads as ``prompt`` + `` target_new`` (PAC): not empty, and within the positions."""
    require_requests(requests)

    def length(request: dict[str, Any]) -> int:
        prompt, target = str(request.get("prompt", "")), str(request.get("target_new", ""))
        return len(token_ids(tok, prompt)) + len(continuation_ids(tok, " " + target.lstrip(" ")))

    check_lengths(model, ((index, str(request.get("prompt", "")), length(request)) for index, request in enumerate(requests)))
