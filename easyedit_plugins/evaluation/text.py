"""Text normalisation shared by the judges, and picking the answer out of a free generation."""

from __future__ import annotations

import re
import string

_QUOTES = "\"'`“”‘’«»"
_TRAILING_PUNCTUATION = ".,;:!?"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# A sentence ends at . ! ? followed by whitespace or the end (so never inside "3.5").
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def normalise(text: str) -> str:
    """Case-folded, whitespace collapsed, surrounding quotes and trailing punctuation removed.

    The exact judge compares these. Punctuation inside the text is kept: in a formula it is
    meaning, not noise (compare :func:`squad_normalise`).
    """
    start, end = 0, len(text)
    while True:  # moving the ends instead of slicing keeps long quote runs linear
        while start < end and text[start].isspace():
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING_PUNCTUATION):
            end -= 1
        if end - start < 2 or text[start] not in _QUOTES or text[end - 1] not in _QUOTES:
            return " ".join(text[start:end].split()).casefold()
        start, end = start + 1, end - 1


def squad_normalise(text: str) -> str:
    """SQuAD-style normalisation, the one EasyEdit's and DMLE's exact-match fallback uses:
    lower case, every ASCII punctuation mark removed, articles removed, whitespace collapsed.

    It erases operators, so ``A = x + y`` and ``A = x * y`` normalise alike; it is kept to
    reproduce DMLE's offline numbers, not as a judge of formulas.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_span(generation: str) -> str:
    """The part of a free generation that answers the prompt: its first non-empty line, cut
    after the first sentence.

    Models keep generating after the answer (the next exercise, an explanation); the judges
    compare the answer, so ``"A = x + y.\\nA rectangle has..."`` is judged as ``"A = x + y."``
    and ``"81. The next one"`` as ``"81."``. A period inside a number does not end a sentence.
    """
    for line in generation.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        end = _SENTENCE_END.search(line)
        return line[: end.end()] if end is not None else line
    return ""
