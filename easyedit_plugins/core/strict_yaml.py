"""``yaml.safe_load`` that refuses a mapping with the same key twice.

PyYAML keeps the LAST of two equal keys without a word, so a file that sets ``v_lr: 0.5`` and,
forty lines further down, ``v_lr: 5.0`` runs with 5.0 and nobody notices. :class:`StrictSafeLoader`
is ``yaml.SafeLoader`` (same tags, same types, same refusal of ``!!python/...``) with one change:
a repeated key is a ``yaml.constructor.ConstructorError`` naming the key and both lines. Merge
keys (``<<: *anchor``) still override as YAML specifies; only keys written twice are refused.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from yaml.constructor import ConstructorError


class DuplicateKeyError(ConstructorError):
    """A mapping names the same key twice; ``problem`` says which key and on which lines."""


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = seen.get(key)
                except TypeError:  # an unhashable key; SafeLoader reports it below
                    continue
                if earlier is not None:
                    raise DuplicateKeyError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r} (first on line {earlier.start_mark.line + 1}, again on line "
                        f"{key_node.start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def strict_safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, except that a key repeated in one mapping is an error."""
    return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 -- a SafeLoader subclass


class DuplicateJSONKeyError(ValueError):
    """A JSON object names the same key twice."""


def reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: the same refusal for JSON files."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateJSONKeyError(f"found duplicate key {key!r}")
        result[key] = value
    return result


def parse_hparams_text(text: str, json_format: bool) -> Any:
    """A hyperparameter file's content: JSON or YAML, both refusing duplicate keys."""
    if json_format:
        return json.loads(text, object_pairs_hook=reject_duplicate_json_keys)
    return strict_safe_load(text)
