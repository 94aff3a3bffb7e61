"""Turning an EasyEdit prompt and subject into a template with one ``{}`` for the subject.

EasyEdit prompts come in two shapes: rendered text that contains the subject verbatim
(``"The mother tongue of Danielle Darrieux"``), and CounterFact-style templates with a ``{}``
where the subject goes. Telling them apart by "the prompt contains ``{}``" (EasyEdit's rule,
and this package's until issue 10) silently rewrites a rendered prompt that happens to contain
a literal ``{}`` (code, set notation) -- the subject is substituted into the wrong place -- and
trips over any other brace (``str.format`` raises ``KeyError`` on ``{x}``).

The rules here:

* the subject occurs verbatim in the prompt: the prompt is text; its last occurrence of the
  subject becomes the placeholder and every other brace stays literal;
* otherwise exactly one ``{}``: a template; the subject goes there, other braces stay literal;
* two or more ``{}`` and no subject in the text: an error (which one is the subject's?).

Templates built here escape literal braces (``{{``/``}}``), so ``template.format(subject)``
reproduces the prompt exactly; :func:`split_template` finds the real placeholder in such a
template (``template.index("{}")`` would find the one inside ``{{}}``).
"""

from __future__ import annotations

import string

PLACEHOLDER = "{}"


class PromptTemplateError(ValueError):
    """A prompt cannot be turned into a template with one subject placeholder."""


def escape_braces(text: str) -> str:
    """``text`` as a literal inside a ``str.format`` template."""
    return text.replace("{", "{{").replace("}", "}}")


def subject_template(prompt: str, subject: str) -> str:
    """A ``str.format`` template with exactly one ``{}``; ``template.format(subject)`` is the prompt
    (rendered text) or the prompt with the subject in its placeholder (a template)."""
    if subject and subject in prompt:
        head, _, tail = prompt.rpartition(subject)
        return escape_braces(head) + PLACEHOLDER + escape_braces(tail)
    count = prompt.count(PLACEHOLDER)
    if count == 1:
        head, _, tail = prompt.partition(PLACEHOLDER)
        return escape_braces(head) + PLACEHOLDER + escape_braces(tail)
    if count > 1:
        raise PromptTemplateError(
            f"{count} '{{}}' placeholders and the subject {subject!r} is not in the text; a prompt template takes "
            "exactly one '{}', where the subject goes"
        )
    raise PromptTemplateError(f"subject {subject!r} does not occur in the prompt and there is no '{{}}' placeholder")


def fill_subject(prompt: str, subject: str) -> str:
    """The prompt as the model reads it (see :func:`subject_template` for the rules)."""
    return subject_template(prompt, subject).format(subject)


def split_template(template: str) -> tuple[str, str]:
    """The literal text before and after the one ``{}`` of a ``str.format`` template."""
    head: list[str] = []
    tail: list[str] = []
    fields = 0
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise PromptTemplateError(f"template {template!r} is not a valid format string ({error})") from None
    for literal, field, format_spec, conversion in parsed:
        (tail if fields else head).append(literal)
        if field is None:
            continue
        if field != "" or format_spec or conversion:
            raise PromptTemplateError(f"template {template!r} has a field {{{field}}}; only '{{}}' is allowed")
        fields += 1
    if fields != 1:
        raise PromptTemplateError(f"template must contain exactly one '{{}}', found {fields}: {template!r}")
    return "".join(head), "".join(tail)
