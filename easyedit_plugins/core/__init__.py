"""The model-agnostic locate-then-edit engine.

Nothing here imports EasyEdit or pluggy: the engine works on a ``transformers`` model, a
tokenizer and EasyEdit-format request dictionaries, so methods, benchmarks and tests can use it
with or without EasyEdit installed.
"""
