"""Pronounceable invented words for the miniature world.

Every name in the world is made up, so a model trained on it knows exactly what the world says
and nothing from pre-training can leak into an edit's measurement. Names are built from
consonant-vowel syllables, so a byte-level BPE tokenizer trained on the world's text splits them
into a few stable pieces, the way real tokenizers treat rare proper names.
"""

from __future__ import annotations

import random

_ONSETS = (
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
    "br", "dr", "gl", "kr", "pl", "st", "th", "tr", "sh", "gr", "fl",
)
_VOWELS = ("a", "e", "i", "o", "u", "a", "o", "ai", "ou", "ea")
_CODAS = ("", "", "", "n", "r", "l", "s", "k", "m", "x")


class NameForge:
    """Draws invented words from a seeded generator, never the same word twice.

    A word is also refused when it contains, or is contained in, a word already drawn, or when
    it occurs inside ``reserved`` (the templates' text): request builders locate a subject in
    its prompt by substring search, and a name hidden inside another word would make that
    search find the wrong place.
    """

    def __init__(self, rng: random.Random, reserved: str = "") -> None:
        self._rng = rng
        self._reserved = reserved.lower()
        self._taken: list[str] = []

    def _syllable(self) -> str:
        return self._rng.choice(_ONSETS) + self._rng.choice(_VOWELS) + self._rng.choice(_CODAS)

    def _clashes(self, word: str) -> bool:
        return word in self._reserved or any(word in taken or taken in word for taken in self._taken)

    def word(self, syllables: tuple[int, int], suffixes: tuple[str, ...] = ("",), capital: bool = False) -> str:
        """A fresh word of ``syllables`` (inclusive range) syllables plus one of ``suffixes``."""
        for _ in range(10_000):
            count = self._rng.randint(*syllables)
            stem = "".join(self._syllable() for _ in range(count))
            word = stem + self._rng.choice(suffixes)
            if 3 <= len(word) <= 11 and not self._clashes(word.lower()):
                self._taken.append(word.lower())
                return word.capitalize() if capital else word
        raise RuntimeError("the name space is exhausted; ask for fewer names")

    def words(self, count: int, syllables: tuple[int, int], suffixes: tuple[str, ...] = ("",),
              capital: bool = False) -> list[str]:
        """``count`` fresh words (see :meth:`word`)."""
        return [self.word(syllables, suffixes, capital) for _ in range(count)]
