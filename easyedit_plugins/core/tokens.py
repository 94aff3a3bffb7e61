"""Tokenizer conventions the locate-then-edit arithmetic depends on."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def right_padding(tok: Any) -> Iterator[Any]:
    """Pad on the right inside the block, then restore the tokenizer's padding side.

    Token positions (the subject's last token, the first target token) are computed from the
    left, which only holds when padding goes to the right. EasyEdit's editor switches
    tokenizers to LEFT padding for every algorithm it does not know, ours included.
    """
    previous = getattr(tok, "padding_side", None)
    if previous is None:
        yield tok
        return
    tok.padding_side = "right"
    try:
        yield tok
    finally:
        tok.padding_side = previous
