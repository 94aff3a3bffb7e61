"""A byte-level BPE tokenizer trained on the spot, so tests never download one.

Byte-level BPE can encode any string (every byte is in the base alphabet), so prompts the
corpus never saw still tokenize; the merges learnt from the small corpus below only make common
words shorter. Training takes a few milliseconds and is deterministic.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

END_OF_TEXT = "<|endoftext|>"

_SENTENCES = """\
The capital of France is Paris. The capital of Italy is Rome. The capital of Japan is Tokyo.
The Eiffel Tower is located in the city of Paris. The river that flows through London is the Thames.
Danielle Darrieux was a French actress. Her mother tongue is French. She speaks English and German.
The native language of the author is Spanish. The official language of Brazil is Portuguese.
Apple was founded by Steve Jobs. Microsoft was founded by Bill Gates. The company makes phones.
The mother tongue of the poet is Russian. He plays the piano and the violin. She plays football.
Toko Yasuda plays the guitar. The team plays basketball in Chicago. The player is a member of the club.
Which city is the capital of Germany? Berlin is the capital of Germany. Madrid is in Spain.
What is the square of a sum? The square of a sum equals the sum of squares plus twice the product.
The area of a rectangle is its width times its height. The perimeter is twice the sum of the sides.
d^2 = (x + y)^2 = x^2 + 2*x*y + y^2. If x = 5 and y = 4 then d^2 = (5 + 4)^2 = 81.
a = b * c. The speed equals distance divided by time. 12 + 30 = 42. 7 * 8 = 56. 100 / 4 = 25.
The formula for the area of a circle is A = pi * r^2. The rule says the result is the sum of the inputs.
Because the weather was cold, the children stayed inside. Therefore the game was cancelled.
I think that the answer is correct. You can find the book in the library on the second floor.
The doctor works at the hospital. The teacher works at the school. The chef works in the kitchen.
In 1990 the company moved to Berlin. In 2004 the band released its first album in London.
The language spoken in Quebec is French. The currency of Japan is the yen. The sky is blue.
Ravel was born in France. Mozart was born in Salzburg. Einstein was born in Ulm in Germany.
The instrument played by the artist is the trumpet. The sport played by the athlete is tennis.
zero one two three four five six seven eight nine ten eleven twelve twenty hundred thousand
0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 20 25 30 36 42 49 64 81 100 ( ) [ ] = + - * / ^ . , ? !
"""


def training_corpus() -> list[str]:
    """The lines the tokenizer is trained on."""
    return [line for line in _SENTENCES.splitlines() if line.strip()]


@lru_cache(maxsize=4)
def _trained(vocab_size: int, extra_corpus: tuple[str, ...]) -> str:
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus() + list(extra_corpus), trainer=trainer)
    return tokenizer.to_str()


def train_tokenizer(vocab_size: int = 1024, extra_corpus: Iterable[str] = ()) -> PreTrainedTokenizerFast:
    """A fresh GPT-2-style tokenizer (``<|endoftext|>`` as BOS, EOS, UNK and padding token)."""
    tokenizer = Tokenizer.from_str(_trained(vocab_size, tuple(extra_corpus)))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
        # Causal LMs take no token types; GPT-2 in transformers 4.x would ADD the embedding of
        # type 0 to every position if they were passed, unlike when they are not.
        model_input_names=["input_ids", "attention_mask"],
    )
    tok.padding_side = "right"
    return tok


def save_tokenizer(tok: PreTrainedTokenizerFast, directory: Path) -> None:
    """Save ``tok`` so both fast and slow loaders read it.

    EasyEdit loads every model whose name contains ``gpt`` with the slow ``GPT2Tokenizer``,
    which needs ``vocab.json`` and ``merges.txt``; everything else goes through
    ``AutoTokenizer``, which reads ``tokenizer.json``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(str(directory))
    state = json.loads(tok.backend_tokenizer.to_str())
    vocab = state["model"]["vocab"]
    merges = state["model"]["merges"]
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [m if isinstance(m, str) else " ".join(m) for m in merges]
    (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    config.update(
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": END_OF_TEXT,
            "eos_token": END_OF_TEXT,
            "unk_token": END_OF_TEXT,
            "pad_token": END_OF_TEXT,
            "add_prefix_space": False,
            "model_max_length": 1024,
            "model_input_names": ["input_ids", "attention_mask"],
        }
    )
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
