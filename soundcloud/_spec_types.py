"""The value types of the operation table: Parameter, Operation, and the STYLE_* and BODY_* names.

They sit below both the generated table (:mod:`soundcloud._operations`, which builds its
entries from them) and the lookup (:mod:`soundcloud._spec`, which re-exports them), so that
neither of those imports the other both ways: types -> table -> lookup.
"""

from __future__ import annotations

from typing import Final, Optional, Tuple

__all__ = [
    "BODY_FORM",
    "BODY_JSON",
    "BODY_MULTIPART",
    "Operation",
    "Parameter",
    "STYLE_COMMA",
    "STYLE_DEEP_OBJECT",
    "STYLE_FORM",
    "STYLE_SIMPLE",
]

# How a query parameter's value is written (OpenAPI 3 "style"/"explode", and the errata).
STYLE_FORM: Final = "form"  # key=value; a list as key=a&key=b (explode) - the spec's default
STYLE_COMMA: Final = "comma"  # a list as key=a,b (style form, explode false): what SoundCloud reads
STYLE_DEEP_OBJECT: Final = "deepObject"  # a mapping as key[from]=1&key[to]=2
STYLE_SIMPLE: Final = "simple"  # a path parameter: the value percent-encoded into its segment

# Request body media types, normalised (parameters such as charset dropped; the spec's
# "multipart/x-www-form-urlencoded" is read as the form encoding it means).
BODY_JSON: Final = "application/json"
BODY_FORM: Final = "application/x-www-form-urlencoded"
BODY_MULTIPART: Final = "multipart/form-data"


class Parameter:
    """One parameter of an operation: where it goes and how its value is written."""

    __slots__ = ("name", "location", "required", "style", "kind")

    def __init__(self, name: str, location: str, required: bool, style: str, kind: str) -> None:
        self.name = name
        self.location = location  # "query", "path" or "header"
        self.required = required
        self.style = style  # STYLE_FORM, STYLE_COMMA or STYLE_DEEP_OBJECT (query); STYLE_SIMPLE (path)
        self.kind = kind  # the schema type: "string", "integer", "boolean", "array", "object", "number"

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, {self.location!r}, required={self.required}, style={self.style!r})"


class Operation:
    """One operation of the API: method, path template, parameters, bodies and answers."""

    __slots__ = (
        "method", "path", "name", "tag", "parameters", "bodies", "body_required", "responses", "summary", "server",
    )  # fmt: skip

    def __init__(
        self,
        method: str,
        path: str,
        name: str,
        tag: str,
        parameters: Tuple[Parameter, ...],
        bodies: Tuple[str, ...],
        body_required: bool,
        responses: Tuple[Tuple[int, str], ...],
        summary: str,
        server: str = "",
    ) -> None:
        self.method = method  # upper case
        self.path = path  # the template, e.g. "/tracks/{track_urn}/comments"
        self.name = name  # a Python name derived from method and path, e.g. "post_track_comments"
        self.tag = tag  # the spec's first tag, e.g. "tracks"
        self.parameters = parameters
        self.bodies = bodies  # accepted body media types (BODY_*), in the spec's order; () for none
        self.body_required = body_required
        # (status, schema) for each documented answer: the component schema's name, names joined
        # by "|" where the spec allows either ("Tracks|TracksList"), "" for none.
        self.responses = responses
        self.summary = summary
        # "" for the API (the spec's server, https://api.soundcloud.com); else the origin an
        # erratum names: POST /sign-out is served on https://secure.soundcloud.com.
        self.server = server

    def parameter(self, name: str) -> Optional[Parameter]:
        """The parameter called ``name``, or None."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None

    @property
    def json_only(self) -> bool:
        """True when the only body the operation accepts is JSON."""
        return self.bodies == (BODY_JSON,)

    @property
    def json_not_form(self) -> bool:
        """True when the operation takes JSON but no plain form (``POST /playlists``: JSON or
        multipart): parameters without files go as JSON there."""
        return BODY_JSON in self.bodies and BODY_FORM not in self.bodies

    def __repr__(self) -> str:
        return f"<Operation {self.method} {self.path}>"
