"""The base of the typed models (:mod:`soundcloud.models`) and the field readers they call.

A model holds the decoded JSON object it was built from, and nothing else: construction is one
store, as cheap as a :class:`~soundcloud.resources.Resource`, and every field is read from the
dict when asked (nested objects and lists are wrapped on each read, not cached: a 200-track
page costs 200 small objects, whatever it holds). The generated classes are one read-only
``@property`` per field of the spec's schema, each a call of one of the readers below:

=====================  ==============================  ===========================================
reader                 returns                         accepts (JSON)
=====================  ==============================  ===========================================
``req_str``            ``str``                         a string
``req_int``            ``int``                         an integer; ``true``/``false`` are refused
``req_float``          ``float``                       any number (an integer is converted)
``req_bool``           ``bool``                        ``true`` or ``false``
``req_object``         ``Dict[str, Any]``              an object (the model wraps it)
``req_objects``        ``List[Dict[str, Any]]``        an array of objects
``req_list``           ``List[Any]``                   an array (of anything)
``req_str_or_int``     ``Union[str, int]``             a string or an integer (an erratum's types)
=====================  ==============================  ===========================================

Each ``req_*`` has an ``opt_*`` twin for the fields that are ``Optional`` (the spec or an erratum
says SoundCloud sends ``null`` there, or the field is no longer sent): ``null`` and an absent
field both give None. A ``req_*`` reader raises :class:`~soundcloud.errors.MissingFieldError`
when the field is absent (an AttributeError too, so ``getattr(track, "bpm", None)`` works) and
:class:`~soundcloud.errors.DecodeError` when it holds another JSON type, ``null`` included;
both name the model and the field.

Why module-level functions: mypyc compiles them to direct C calls, and a property that is one
such call is as fast as a dict lookup behind ``__getattr__`` (``make bench``, compiled section).
Read-only: ``__slots__`` and a ``__setattr__`` that refuses, so no field and no attribute can be
set on a model, compiled or pure (``__init__`` stores through ``object.__setattr__``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Final, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Union

from ._redact import printable, redact_json
from .errors import DecodeError, MissingFieldError, SoundCloudError

__all__ = [
    "Model",
    "json_type",
    "opt_bool",
    "opt_float",
    "opt_int",
    "opt_list",
    "opt_object",
    "opt_objects",
    "opt_str",
    "opt_str_or_int",
    "req_bool",
    "req_float",
    "req_int",
    "req_list",
    "req_object",
    "req_objects",
    "req_str",
    "req_str_or_int",
    "wrong_kind",
]

# What a repr shows: the first of each group the object has (what tells one object from another).
_REPR_FIELDS: Final = (("urn", "id"), ("title", "username"))
# A repr shows at most this many characters of a field's value.
_REPR_WIDTH: Final = 60


class Model:
    """A JSON object from the API with typed, read-only fields (the generated classes of
    :mod:`soundcloud.models` derive from it).

    ``to_dict()`` is the decoded JSON itself; ``model["key"]``, ``get``, ``in`` and ``keys()`` reach
    every field, those the spec does not know included, and ``extra`` holds just those.
    """

    __slots__ = ("_data",)

    _data: Dict[str, Any]
    # The JSON keys the spec gives this model (each has its property): what ``extra`` leaves out.
    _FIELDS: ClassVar[FrozenSet[str]] = frozenset()

    def __init__(self, data: Dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot delete {name!r}")

    def to_dict(self) -> Dict[str, Any]:
        """The decoded JSON object itself (not a copy)."""
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value of ``key`` as it came (not wrapped), or ``default`` when absent."""
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def keys(self) -> List[str]:
        """The JSON object's keys, in the order they came."""
        return list(self._data)

    @property
    def extra(self) -> Dict[str, Any]:
        """The fields the spec does not give this model (``id``, say), as they came."""
        known = self._FIELDS
        return {key: value for key, value in self._data.items() if key not in known}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return type(self) is type(other) and self._data == other._data

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return not (type(self) is type(other) and self._data == other._data)

    def __repr__(self) -> str:
        # Only identifying scalars, through the one secrets policy; never the whole object.
        data = self._data
        shown: Dict[str, Any] = {}
        for group in _REPR_FIELDS:
            for key in group:
                if key in data:
                    shown[key] = data[key]
                    break
        parts = []
        for key, value in redact_json(shown).items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                text = repr(value)
                if len(text) > _REPR_WIDTH:
                    text = text[: _REPR_WIDTH - 3] + "..."
                parts.append(f"{key}={printable(text)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self._data,))


# --- readers ------------------------------------------------------------------------------


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type ("string", "integer", "null"...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _problem(data: Dict[str, Any], key: str, model: str, expected: str) -> SoundCloudError:
    """MissingFieldError when ``key`` is absent, else DecodeError for the value it holds."""
    if key not in data:
        return MissingFieldError(model, key)
    return DecodeError(f"{model}.{key}: expected {expected}, got {json_type(data[key])}")


def wrong_kind(model: str, key: str, value: Dict[str, Any], kinds: Sequence[str]) -> DecodeError:
    """The error for an object whose ``kind`` is none of those a field may hold."""
    got = value.get("kind")
    shown = repr(got) if isinstance(got, str) else json_type(got)
    return DecodeError(f"{model}.{key}: expected an object of kind {' or '.join(kinds)}, got kind {printable(shown)}")


def req_str(data: Dict[str, Any], key: str, model: str) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value
    raise _problem(data, key, model, "string")


def opt_str(data: Dict[str, Any], key: str, model: str) -> Optional[str]:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _problem(data, key, model, "string or null")


def req_int(data: Dict[str, Any], key: str, model: str) -> int:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _problem(data, key, model, "integer")


def opt_int(data: Dict[str, Any], key: str, model: str) -> Optional[int]:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _problem(data, key, model, "integer or null")


def req_float(data: Dict[str, Any], key: str, model: str) -> float:
    value = data.get(key)
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise _problem(data, key, model, "number")


def opt_float(data: Dict[str, Any], key: str, model: str) -> Optional[float]:
    value = data.get(key)
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise _problem(data, key, model, "number or null")


def req_bool(data: Dict[str, Any], key: str, model: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    raise _problem(data, key, model, "boolean")


def opt_bool(data: Dict[str, Any], key: str, model: str) -> Optional[bool]:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _problem(data, key, model, "boolean or null")


def req_str_or_int(data: Dict[str, Any], key: str, model: str) -> Union[str, int]:
    value = data.get(key)
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _problem(data, key, model, "string or integer")


def opt_str_or_int(data: Dict[str, Any], key: str, model: str) -> Union[str, int, None]:
    value = data.get(key)
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _problem(data, key, model, "string, integer or null")


def req_object(data: Dict[str, Any], key: str, model: str) -> Dict[str, Any]:
    value = data.get(key)
    if isinstance(value, dict):
        return value
    raise _problem(data, key, model, "object")


def opt_object(data: Dict[str, Any], key: str, model: str) -> Optional[Dict[str, Any]]:
    value = data.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise _problem(data, key, model, "object or null")


def req_list(data: Dict[str, Any], key: str, model: str) -> List[Any]:
    value = data.get(key)
    if isinstance(value, list):
        return value
    raise _problem(data, key, model, "array")


def opt_list(data: Dict[str, Any], key: str, model: str) -> Optional[List[Any]]:
    value = data.get(key)
    if value is None or isinstance(value, list):
        return value
    raise _problem(data, key, model, "array or null")


def _all_objects(items: List[Any], key: str, model: str) -> List[Dict[str, Any]]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DecodeError(f"{model}.{key}[{index}]: expected object, got {json_type(item)}")
    return items


def req_objects(data: Dict[str, Any], key: str, model: str) -> List[Dict[str, Any]]:
    value = data.get(key)
    if isinstance(value, list):
        return _all_objects(value, key, model)
    raise _problem(data, key, model, "array of objects")


def opt_objects(data: Dict[str, Any], key: str, model: str) -> Optional[List[Dict[str, Any]]]:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        return _all_objects(value, key, model)
    raise _problem(data, key, model, "array of objects or null")
