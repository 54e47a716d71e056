"""How the API reads query filters and write bodies, as the spec defines them and SoundCloud reads them.

Query parameters (``_comma_list``, ``_access``, ``_int_range``, ``_time_range``)
    Lists are one comma-separated value (``urns=a,b``, ``genres=Pop,House``, ``tags=..``,
    ``access=playable,preview``: style form, explode false). A key sent more than once,
    or ``urns[]=``, is not understood and the filter is ignored (everything comes back,
    unfiltered: spec/errata.json ``query-urns-comma-separated``). ``access`` values other
    than ``playable``, ``preview`` and ``blocked`` are ignored, and an ``access`` naming
    none of them is the default (as ``api_me`` reads it). Ranges are deepObject
    (``bpm[from]=100&bpm[to]=120``, ``duration[...]`` in milliseconds,
    ``created_at[from]=2020-12-24 00:00:00``); a bound that is not an integer (or a
    time, ``yyyy-mm-dd hh:mm:ss`` or ``yyyy-mm-dd``) answers 400, as the spec's
    BadRequest for ``GET /tracks`` allows. Unknown parameters are ignored.

Write bodies (``_taking``)
    A route wrapped in ``_taking(media_types, handler)`` takes only the request bodies the
    spec lists for its operation. Another media type, or JSON that does not parse,
    answers 422 before the handler runs (so does JSON nested deeper than
    ``MAX_JSON_DEPTH``): the live API answers a multipart body to a JSON
    endpoint with 422 "Could not parse JSON request body." (soundcloud/api issue 154),
    not 415. An empty body passes (the handler decides whether a body is required).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Final, FrozenSet, List, Optional, Sequence, Tuple

from .http import _api_error, _Call, _Fail, _Handler, _media_type, _Response

__all__ = [
    "BODY_FORM",
    "BODY_JSON",
    "BODY_MULTIPART",
    "_access",
    "_comma_list",
    "_int_range",
    "_taking",
    "_time_range",
    "_track_time",
]

ACCESS_LEVELS: Final[FrozenSet[str]] = frozenset({"playable", "preview", "blocked"})
ACCESS_DEFAULT: Final[FrozenSet[str]] = frozenset({"playable", "preview"})  # components/parameters/access

BODY_JSON: Final = "application/json"
BODY_FORM: Final = "application/x-www-form-urlencoded"
BODY_MULTIPART: Final = "multipart/form-data"

_NOT_JSON: Final = "Could not parse JSON request body."  # the live API's words (soundcloud/api issue 154)
_TIME_FORMATS: Final[Tuple[str, ...]] = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
_STAMP_FORMAT: Final = "%Y/%m/%d %H:%M:%S %z"  # how the API writes created_at
MAX_JSON_DEPTH: Final = 32  # the forms reader flattens bodies recursively; no API body nests half as deep
_MAX_BOUND_DIGITS: Final = 15  # int() refuses over 4300 digits; no duration or bpm needs more than this


def _comma_list(call: _Call, name: str) -> Optional[List[str]]:
    """The items of a comma-separated parameter; None when it is absent, empty or repeated."""
    values = call.request.query.get(name, [])
    if len(values) != 1:
        return None  # absent, or a repeated key: not understood, the filter is ignored
    items = [item.strip() for item in values[0].split(",") if item.strip()]
    return items or None


def _access(call: _Call, default: FrozenSet[str] = ACCESS_DEFAULT) -> FrozenSet[str]:
    """The access levels asked for (``access=playable,preview``), or ``default``."""
    chosen = frozenset(_comma_list(call, "access") or ()) & ACCESS_LEVELS
    return chosen or default


def _bound(call: _Call, key: str) -> Optional[str]:
    values = call.request.query.get(key)
    if not values or not values[0].strip():
        return None
    return values[0].strip()


def _int_range(call: _Call, name: str) -> Tuple[Optional[int], Optional[int]]:
    """``name[from]`` and ``name[to]`` (deepObject) as integers; 400 when one is not."""
    bounds: List[Optional[int]] = []
    for side in ("from", "to"):
        key = f"{name}[{side}]"
        raw = _bound(call, key)
        digits = raw[1:] if raw is not None and raw[:1] == "-" else raw
        if raw is None or digits is None:
            bounds.append(None)
        elif 0 < len(digits) <= _MAX_BOUND_DIGITS and digits.isascii() and digits.isdigit():
            bounds.append(int(raw))
        else:
            raise _Fail(_api_error(400, f"{key} must be an integer"))
    return bounds[0], bounds[1]


def _time_range(call: _Call, name: str) -> Tuple[Optional[datetime], Optional[datetime]]:
    """``name[from]`` and ``name[to]`` as UTC times (``yyyy-mm-dd hh:mm:ss``); 400 when one is not."""
    bounds: List[Optional[datetime]] = []
    for side in ("from", "to"):
        key = f"{name}[{side}]"
        raw = _bound(call, key)
        if raw is None:
            bounds.append(None)
            continue
        for pattern in _TIME_FORMATS:
            try:
                bounds.append(datetime.strptime(raw, pattern).replace(tzinfo=timezone.utc))
                break
            except ValueError:
                continue
        else:
            raise _Fail(_api_error(400, f"{key} must be a time like 2020-12-24 00:00:00"))
    return bounds[0], bounds[1]


def _track_time(stamp: object) -> Optional[datetime]:
    """A record's ``created_at`` (``2019/01/01 00:00:00 +0000``) as a time; None when it is not one."""
    try:
        return datetime.strptime(str(stamp), _STAMP_FORMAT)
    except ValueError:
        return None


def _depth(document: object) -> int:
    """How deeply ``document`` nests (1 for a scalar), without recursion."""
    deepest, todo = 0, [(document, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            todo.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            todo.extend((child, level + 1) for child in node)
    return deepest


def _taking(media_types: Sequence[str], handler: _Handler) -> _Handler:
    """``handler`` behind a check that the body is one of ``media_types`` (see the module docstring)."""

    def serve(call: _Call) -> _Response:
        request = call.request
        if request.body:
            media = _media_type(request)
            if media not in media_types:
                if BODY_JSON in media_types:
                    raise _Fail(_api_error(422, _NOT_JSON))
                raise _Fail(_api_error(422, f"this endpoint takes {' or '.join(media_types)}, not {media or '(none)'}"))
            if media == BODY_JSON:
                try:
                    document = json.loads(request.body.decode("utf-8"))
                except (ValueError, RecursionError):  # ValueError: also UnicodeDecodeError, > 4300 digits
                    raise _Fail(_api_error(422, _NOT_JSON)) from None
                if _depth(document) > MAX_JSON_DEPTH:
                    raise _Fail(_api_error(422, f"JSON nested deeper than {MAX_JSON_DEPTH} levels"))
        return handler(call)

    return serve
