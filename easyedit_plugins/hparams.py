"""The hyperparameter base class every method of the package derives from.

EasyEdit's own ``HyperParams`` is an empty dataclass without a loader; each of its methods
reads YAML by hand and passes the dict to the constructor, so a typo in a key becomes a
``TypeError`` about an unexpected keyword argument, and ``5e-1`` arrives as a string because
PyYAML reads it as one. :class:`PluginHyperParams` loads ``.yaml``, ``.yml`` and ``.json``,
converts numbers written in scientific notation, and checks every key and type with errors that
name the file and the key.

When EasyEdit is importable the base class derives from EasyEdit's ``HyperParams``. Every
construction ends by calling the callbacks registered with :func:`on_construct`; the plugin host
registers one that installs the registered methods into EasyEdit, so
``BaseEditor.from_hparams(BLUEHyperParams.from_hparams(path))`` works after nothing but the
import. The callback is how the host is reached: this module imports nothing above it.

``from_hparams`` takes a file path or the name of a file shipped with the package
(``"BLUE/llama3-8b"``, see :mod:`.shipped`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import types
import typing
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, TypeVar, Union

import yaml

from .core.strict_yaml import DuplicateJSONKeyError, DuplicateKeyError, parse_hparams_text
from .easyedit_bridge import hyperparams_base
from .hparams_checks import check_value_ranges
from .shipped import SUFFIXES, ShippedHParamsNotFound, hparams_path

logger = logging.getLogger(__name__)

H = TypeVar("H", bound="PluginHyperParams")

ConstructCallback = Callable[["PluginHyperParams"], None]

_construct_callbacks: list[ConstructCallback] = []


def on_construct(callback: ConstructCallback) -> ConstructCallback:
    """Call ``callback(hparams)`` after every hyperparameter set is built and checked.

    Layers above this module (the plugin host) hook in here instead of being imported from
    it. Registering the same callback twice has no effect. Usable as a decorator.
    """
    if callback not in _construct_callbacks:
        _construct_callbacks.append(callback)
    return callback


class HyperParamsError(ValueError):
    """A hyperparameter file or value is invalid; the message names the file and the key."""


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple, dict):
        args = ", ".join(_describe(a) for a in typing.get_args(tp))
        return f"{origin.__name__}[{args}]" if args else origin.__name__
    if tp is Any:
        return "anything"
    return getattr(tp, "__name__", str(tp))


def _parse_number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Check ``value`` against the annotation ``tp``; return (ok, value converted where safe).

    Conversions are the ones a YAML author expects: ``"5e-1"`` to a float, ``1e4`` (a float) to
    an int when it is integral, an int to a float, and a list to a tuple.
    """
    if tp is Any:
        return True, value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(tp):
            ok, converted = _coerce(value, option)
            if ok:
                return True, converted
        return False, value
    if origin is Literal:
        return value in typing.get_args(tp), value
    if tp is type(None):
        return value is None, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        number = _parse_number(value) if isinstance(value, str) else value
        if isinstance(number, float) and number.is_integer():
            return True, int(number)
        return False, value
    if tp is float:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, (int, float)):
            return True, float(value)
        if isinstance(value, str):
            number = _parse_number(value)
            return (number is not None), (number if number is not None else value)
        return False, value
    if tp is str:
        return isinstance(value, str), value
    if origin is list or tp is list:
        if not isinstance(value, (list, tuple)):
            return False, value
        (item_type,) = typing.get_args(tp) or (Any,)
        converted = []
        for item in value:
            ok, item = _coerce(item, item_type)
            if not ok:
                return False, value
            converted.append(item)
        return True, converted
    if origin is tuple or tp is tuple:
        if not isinstance(value, (list, tuple)):
            return False, value
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        if args and len(args) != len(value):
            return False, value
        converted = []
        for item, item_type in zip(value, args or (Any,) * len(value)):
            ok, item = _coerce(item, item_type)
            if not ok:
                return False, value
            converted.append(item)
        return True, tuple(converted)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            return False, value
        key_type, value_type = typing.get_args(tp) or (Any, Any)
        converted_dict = {}
        for key, item in value.items():
            ok_key, key = _coerce(key, key_type)
            ok_item, item = _coerce(item, value_type)
            if not (ok_key and ok_item):
                return False, value
            converted_dict[key] = item
        return True, converted_dict
    if isinstance(tp, type):
        return isinstance(value, tp), value
    return True, value


def resolve_hparams_path(path: str | Path) -> Path:
    """The file ``path`` names: ``.yaml`` is added when it has no hyperparameter suffix, and a
    relative name that is not a file here is looked up among the shipped files (``BLUE/llama3-8b``).

    When neither exists the path as given is returned, so that reading it reports it missing.
    """
    given = Path(path)
    candidate = given if given.suffix in SUFFIXES else given.with_name(given.name + ".yaml")
    if candidate.exists() or given.is_absolute():
        return candidate
    try:
        return hparams_path(str(path))
    except ShippedHParamsNotFound:
        return candidate


def read_hparams_file(path: Path) -> dict[str, Any]:
    """The mapping in a ``.yaml``/``.yml``/``.json`` file; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HyperParamsError(f"{path}: hyperparameter file not found") from None
    except UnicodeDecodeError as error:
        raise HyperParamsError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8") from None
    try:
        data = parse_hparams_text(text, json_format=path.suffix == ".json")
    except (DuplicateKeyError, DuplicateJSONKeyError) as error:
        raise HyperParamsError(f"{path}: {getattr(error, 'problem', None) or error}") from None
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise HyperParamsError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    if data is None:
        raise HyperParamsError(f"{path}: the file is empty")
    if not isinstance(data, dict):
        raise HyperParamsError(f"{path}: expected a mapping of keys to values, got {type(data).__name__}")
    return data


@dataclasses.dataclass(kw_only=True)
class PluginHyperParams(hyperparams_base()):  # type: ignore[misc]
    """Fields EasyEdit's editor and evaluation read, with defaults, plus a checked loader.

    Subclasses are dataclasses declared with ``kw_only=True`` and set :attr:`ALG_NAME`.
    """

    ALG_NAME: ClassVar[str] = ""

    alg_name: str = ""
    #: A local path (EasyEdit picks the model class from a substring of it) or a
    #: ``(model, tokenizer)`` tuple.
    model_name: Any
    #: EasyEdit's device: an int means ``cuda:<int>``; ``"cpu"`` works with the 2026 editor.
    device: int | str = 0
    model_parallel: bool = False
    #: EasyEdit's 2023 evaluation truncates prompt + target at this many tokens (its default,
    #: 40, cuts rule prompts); 256 fits every RuleEdit-200 prompt.
    max_length: int = 256
    #: EasyEdit's ``edit()`` requires 1; ``batch_edit()`` edits this many requests at once.
    batch_size: int = 1
    #: Read by the 2026 editor when it loads a model from a path (fp16 weights if true).
    fp16: bool = False

    def __post_init__(self) -> None:
        if not self.alg_name:
            self.alg_name = self.ALG_NAME
        self._check_values()
        for callback in list(_construct_callbacks):
            callback(self)

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def from_hparams(cls: type[H], path: str | Path) -> H:
        """Load a ``.yaml``, ``.yml`` or ``.json`` file, or a shipped one by name (:func:`resolve_hparams_path`)."""
        path = resolve_hparams_path(path)
        return cls.from_dict(read_hparams_file(path), source=str(path))

    @classmethod
    def from_dict(cls: type[H], config: dict[str, Any], source: str | None = None) -> H:
        """Build from a mapping, with the same checks as :meth:`from_hparams`.

        Keys are checked here (unknown, missing, ``alg_name``); values and their types when the
        instance is constructed (:meth:`_check_values`), the one place every construction
        passes through.
        """
        where = f"{source}: " if source else ""
        config = dict(config)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(config) - set(fields))
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, fields, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise HyperParamsError(
                f"{where}unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)} for "
                f"{cls.__name__}; valid keys: {', '.join(sorted(fields))}"
            )
        expected = cls.ALG_NAME
        given = config.get("alg_name", expected)
        if expected and given != expected:
            raise HyperParamsError(
                f"{where}alg_name is {given!r} but {cls.__name__} is for {expected!r}; "
                f"load this file with the hyperparameter class of {given!r}"
            )
        missing = [
            name
            for name, f in fields.items()
            if name not in config
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise HyperParamsError(f"{where}missing required key{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        try:
            return cls(**config)
        except HyperParamsError as error:
            raise HyperParamsError(f"{where}{error}") from None

    # -- checks -----------------------------------------------------------------------------
    def _check_values(self) -> None:
        """Check and convert every field against its annotation, then :meth:`validate`."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            ok, converted = _coerce(value, hints[f.name])
            if not ok:
                raise HyperParamsError(
                    f"key {f.name!r} must be {_describe(hints[f.name])}, got {value!r} "
                    f"({type(value).__name__})"
                )
            if converted is not value:
                object.__setattr__(self, f.name, converted)
        if self.ALG_NAME and self.alg_name != self.ALG_NAME:
            raise HyperParamsError(f"alg_name is {self.alg_name!r} but {type(self).__name__} is for {self.ALG_NAME!r}")
        check_value_ranges(self, HyperParamsError)
        self.validate()

    def validate(self) -> None:
        """Check relations between values; subclasses raise :class:`HyperParamsError`."""

    # -- conveniences -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data (a ``(model, tokenizer)`` ``model_name`` becomes its class names)."""
        data = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "model_name" and not isinstance(value, str):
                value = "(" + ", ".join(type(v).__name__ for v in value) + ")"
            data[f.name] = value
        return data

    def replace(self: H, **changes: Any) -> H:
        """A copy with some fields changed (checked like a fresh construction)."""
        return dataclasses.replace(self, **changes)

    @property
    def model_label(self) -> str:
        """A printable name of the model (``model_name`` can be a tuple of objects)."""
        if isinstance(self.model_name, str):
            return self.model_name
        model = self.model_name[0]
        return getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
