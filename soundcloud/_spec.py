"""What SoundCloud's API accepts, per operation: the operation table and its lookup.

The table, :data:`OPERATIONS` (from :mod:`soundcloud._operations`), is generated from SoundCloud's
OpenAPI spec (``spec/soundcloud-api.yaml``) plus the errata where the live service differs
(``spec/errata.json``), by ``tools/gen_operations.py``; a test proves it is current. The value
types live in :mod:`soundcloud._spec_types` and are re-exported here. This module holds the
hand-written part: :func:`find_operation`, which maps a request (method and path) to its operation.

The client reads the table to send what the spec defines: comma-separated query lists,
deepObject ranges, JSON bodies where only JSON is accepted, URNs in URN-only paths.
"""

from __future__ import annotations

from typing import Dict, Final, List, Optional, Tuple

from ._operations import OPERATIONS
from ._spec_types import (
    BODY_FORM,
    BODY_JSON,
    BODY_MULTIPART,
    STYLE_COMMA,
    STYLE_DEEP_OBJECT,
    STYLE_FORM,
    STYLE_SIMPLE,
    Operation,
    Parameter,
)

__all__ = [
    "BODY_FORM",
    "BODY_JSON",
    "BODY_MULTIPART",
    "OPERATIONS",
    "Operation",
    "Parameter",
    "STYLE_COMMA",
    "STYLE_DEEP_OBJECT",
    "STYLE_FORM",
    "STYLE_SIMPLE",
    "find_operation",
]

# One candidate template: (position, literal) for each literal segment but the first, the
# positions of its parameters, and the operation.
_Candidate = Tuple[Tuple[Tuple[int, str], ...], Tuple[int, ...], Operation]
# (method, number of segments, first segment) -> candidates, most literal segments first; the
# first segment None holds the templates that start with a parameter (none in today's spec).
_Index = Dict[Tuple[str, int, Optional[str]], List[_Candidate]]


def _build_index(operations: Tuple[Operation, ...]) -> _Index:
    index: _Index = {}
    ranks: Dict[int, int] = {}  # id(candidate) -> literal segments, for the sort below
    parameter_first: List[Tuple[str, int, _Candidate]] = []
    for operation in operations:
        segments = operation.path.strip("/").split("/")
        literals: List[Tuple[int, str]] = []
        parameters: List[int] = []
        for i, segment in enumerate(segments):
            if segment.startswith("{"):
                parameters.append(i)
            elif i:
                literals.append((i, segment))
        first: Optional[str] = None if segments[0].startswith("{") else segments[0]
        candidate = (tuple(literals), tuple(parameters), operation)
        ranks[id(candidate)] = len(literals) + (first is not None)
        index.setdefault((operation.method, len(segments), first), []).append(candidate)
        if first is None:
            parameter_first.append((operation.method, len(segments), candidate))
    for method, length, candidate in parameter_first:
        for key, candidates in index.items():
            if key[0] == method and key[1] == length and key[2] is not None:
                candidates.append(candidate)
    for candidates in index.values():
        # A literal segment wins over a parameter (/me/followings/tracks before
        # /me/followings/{user_urn}); sort is stable, so among equals the spec's order decides
        # (a template that starts with a parameter after the others).
        candidates.sort(key=lambda candidate: -ranks[id(candidate)])
    return index


# Built once, at import (about 0.1 ms): a lookup never mutates shared state, so concurrent
# first requests cannot see a half-built index. find_operation runs once per request: it
# compares a few segments of a handful of candidates (about 1 µs), no regular expressions.
_INDEX: Final[_Index] = _build_index(OPERATIONS)


def find_operation(method: str, path: str) -> Optional[Operation]:
    """The operation that ``method`` on ``path`` (no query, relative to the API root) calls.

    A parameter segment matches any non-empty segment (``soundcloud:tracks:1``, an id); a
    trailing slash is ignored; None when nothing in the table matches.
    """
    segments = path.strip("/").split("/")
    method = method.upper()
    candidates = _INDEX.get((method, len(segments), segments[0]))
    if candidates is None:
        candidates = _INDEX.get((method, len(segments), None))
        if candidates is None:
            return None
    for literals, parameters, operation in candidates:
        matched = True
        for i, want in literals:
            if segments[i] != want:
                matched = False
                break
        if matched:
            for i in parameters:
                if not segments[i]:
                    matched = False
                    break
        if matched:
            return operation
    return None
