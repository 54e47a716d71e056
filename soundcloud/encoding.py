"""Request encoding: nested parameters flattened the way SoundCloud (Rails) reads them,
query strings and form bodies.

``{'track': {'title': 'x', 'tags': ['a', 'b']}}`` becomes
``track[title]=x&track[tags][]=a&track[tags][]=b``; a list of objects becomes
``playlist[tracks][][id]=1&playlist[tracks][][id]=2``; ``None`` is dropped and booleans
are ``true``/``false``.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any, Final, List, Mapping, Optional, Tuple
from urllib.parse import quote

__all__ = [
    "MAX_NESTING",
    "Field",
    "encode_params",
    "has_files",
    "is_file_value",
    "urlencode",
]

# Deeper structures are refused instead of recursing: compiled code cannot raise
# RecursionError, it would crash the interpreter.
MAX_NESTING: Final = 32

# A flattened field: the namespaced name and either a str or a file value (see is_file_value).
Field = Tuple[str, Any]


def is_file_value(value: object) -> bool:
    """True for values sent as a file part: readable objects, bytes, paths, (name, file) tuples."""
    if isinstance(value, (bytes, bytearray, memoryview, PurePath)):
        return True
    if isinstance(value, tuple):
        return 2 <= len(value) <= 3 and isinstance(value[0], str) and _is_file_body(value[1])
    return hasattr(value, "read")


def _is_file_body(value: object) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview, PurePath)) or hasattr(value, "read")


def _scalar(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError(
        f"cannot send a parameter of type {type(value).__name__}: use str, int, float, bool,"
        " None, dict, list, or a file opened in binary mode"
    )


def encode_params(params: Mapping[str, Any]) -> List[Field]:
    """Flatten nested parameters into ``(name, value)`` fields, keeping their order.

    Values are strings, except file values (see :func:`is_file_value`), kept as given.
    """
    fields: List[Field] = []
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
        if value is None:
            continue
        if isinstance(value, str):
            fields.append((key, value))
        else:
            _flatten(key, value, fields, 0)
    return fields


def _flatten(name: str, value: Any, fields: List[Field], depth: int) -> None:
    if depth > MAX_NESTING:
        raise ValueError(f"parameters nested deeper than {MAX_NESTING} levels at {name!r}")
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
            _flatten(f"{name}[{key}]", item, fields, depth + 1)
    elif isinstance(value, (list, tuple)) and not is_file_value(value):
        inner = name + "[]"
        for item in value:
            _flatten(inner, item, fields, depth + 1)
    elif isinstance(value, str):
        fields.append((name, value))
    elif is_file_value(value):
        fields.append((name, value))
    else:
        fields.append((name, _scalar(value)))


def has_files(fields: List[Field]) -> bool:
    """True when any field is a file value, so the body must be multipart."""
    for _, value in fields:
        if not isinstance(value, str):
            return True
    return False


def urlencode(fields: List[Field]) -> str:
    """``application/x-www-form-urlencoded`` for string fields (UTF-8, RFC 3986 escapes)."""
    parts: List[str] = []
    for name, value in fields:
        if not isinstance(value, str):
            raise TypeError(f"{name!r} is a file: files are sent with POST, PUT or PATCH only")
        parts.append(quote(name, safe="") + "=" + quote(value, safe=""))
    return "&".join(parts)


def file_name(value: object) -> Optional[str]:
    """The base name a file value will be uploaded under, when one can be known."""
    if isinstance(value, tuple):
        return str(value[0])
    if isinstance(value, PurePath):
        return value.name
    name = getattr(value, "name", None)
    if isinstance(name, str) and name and not (name.startswith("<") and name.endswith(">")):
        return os.path.basename(name)
    return None


class MultipartBody:
    """A ``multipart/form-data`` body produced chunk by chunk (stub: replaced by the upload work)."""

    def __init__(self, fields: List[Field], progress: Optional[Any] = None) -> None:
        raise NotImplementedError("uploads are not implemented yet")

    content_type: str = ""
    content_length: int = 0

    def __iter__(self) -> Any:
        raise NotImplementedError
