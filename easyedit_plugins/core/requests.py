"""Edit requests in the shape the locate-then-edit engine works with.

EasyEdit hands methods dictionaries with ``prompt`` (containing the subject verbatim),
``subject`` and ``target_new``; CounterFact-style records put the target under
``{"str": ...}`` and may already carry a ``{}`` placeholder for the subject. The engine needs
one form: a prompt template with exactly one ``{}`` where the subject goes, the subject, and the
target with a leading space (so it tokenizes as a continuation, not as the start of a text).
Which braces of a prompt are the placeholder and which are text is decided in
:mod:`.prompt_templates` (a literal ``{}`` in a rendered prompt stays text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .prompt_templates import PromptTemplateError, subject_template


class RequestError(ValueError):
    """A request cannot be edited as given (the message names the request)."""


def request_label(index: int, prompt: str) -> str:
    """``request 3 ('The mother tongue of ...')``: how errors name a request."""
    shown = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    return f"request {index} ({shown!r})"


@dataclass(frozen=True)
class EditRequest:
    """One fact to write: ``template.format(subject)`` should continue with ``target``."""

    template: str
    subject: str
    target: str

    @property
    def prompt(self) -> str:
        return self.template.format(self.subject)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("str")
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def to_edit_request(request: Mapping[str, Any], index: int = 0) -> EditRequest:
    """Convert an EasyEdit request dict; the error names the request and what is wrong."""
    try:
        prompt = _text(request["prompt"])
        target = _text(request["target_new"])
        subject = _text(request["subject"])
    except KeyError as missing:
        raise RequestError(f"request {index} has no {missing.args[0]!r} (keys: {sorted(request)})") from None
    except TypeError as error:
        raise RequestError(f"request {index}: {error}") from None
    try:
        template = subject_template(prompt, subject)
    except PromptTemplateError as error:
        raise RequestError(f"{request_label(index, prompt)}: {error}") from None
    if not target.strip():
        raise RequestError(f"{request_label(index, prompt)}: empty target_new")
    if not target.startswith(" "):
        target = " " + target
    return EditRequest(template=template, subject=subject, target=target)


def to_edit_requests(requests: list[Mapping[str, Any]]) -> list[EditRequest]:
    return [to_edit_request(request, index) for index, request in enumerate(requests)]
