"""Sending each request to the stage that edits its form.

RuleEdit requests (from :mod:`easyedit_plugins.data`) carry a ``form`` tag: ``formula``,
``description`` or ``instance``. Requests from EasyEdit's own editor carry none; they go to the
stage of ``untagged_form`` (``instance`` by default: an untagged request is one concrete
prompt-to-answer association, which is what an instance case is; formula and description cases
state the rule itself, which a plain request cannot claim). With ``untagged_form: null`` an
untagged request is an error instead.
"""

from __future__ import annotations

from typing import Any, Sequence

from .stages import FORMS, Stage


class RoutingError(ValueError):
    """A request cannot be given to a stage; the message names the request."""


def _label(index: int, request: dict[str, Any]) -> str:
    prompt = str(request.get("prompt", ""))
    prompt = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    return f"request {index} ({prompt!r})"


def route_requests(
    requests: Sequence[dict[str, Any]], stages: Sequence[Stage], untagged_form: str | None
) -> list[tuple[Stage, list[dict[str, Any]]]]:
    """Every stage, in order, with the requests it edits (possibly none), order kept."""
    stage_of_form = {form: stage.name for stage in stages for form in stage.forms}
    routed: dict[str, list[dict[str, Any]]] = {stage.name: [] for stage in stages}
    for index, request in enumerate(requests):
        form = request.get("form")
        if form is None:
            if untagged_form is None:
                raise RoutingError(
                    f"{_label(index, request)} has no 'form' tag and untagged_form is null; tag it with one of "
                    f"{', '.join(FORMS)} or set untagged_form"
                )
            form = untagged_form
        if form not in FORMS:
            raise RoutingError(f"{_label(index, request)} has form {form!r}; forms are {', '.join(FORMS)}")
        if form not in stage_of_form:
            names = ", ".join(f"{s.name} ({'+'.join(s.forms)})" for s in stages)
            raise RoutingError(f"{_label(index, request)} has form {form!r}, which no stage edits (stages: {names})")
        routed[stage_of_form[form]].append(request)
    return [(stage, routed[stage.name]) for stage in stages]
