"""SoundCloud's OpenAPI spec as the tests check against it: the spec with the errata applied, and
openapi-core validators for the requests and answers seen on 127.0.0.1.

- :func:`require_spec` skips the calling test module, with the reason, where the spec cannot
  be checked: no ``spec/soundcloud-api.yaml`` in the tree (nor ``../shared/``, where the spec
  came from), as in the wheel venvs that copy ``tests/`` alone; or no PyYAML / openapi-core
  (requirements.txt; openapi-core needs Python 3.10).
- :func:`checked_spec` is the spec with ``spec/errata.json`` applied (:func:`apply_errata`: how
  each directive of an erratum changes what is checked is said there); :func:`operations`
  lists its operations, ``"GET /tracks/{track_urn}"`` each.
- :class:`SpecRequest` and :class:`SpecAnswer` adapt a request or an answer to openapi-core's
  raw request / response protocols (no web framework): the fake's origins are mapped onto the
  spec's servers (``https://api.soundcloud.com``, and ``https://secure.soundcloud.com`` where
  an erratum moves an operation there).
- :func:`request_problems` and :func:`answer_problems` return what is wrong, as readable lines
  ([] when nothing is). Request checks add to openapi-core's what it does not check itself:
  query parameters the operation does not declare (``urns[]=``), a repeated key where the
  spec wants one comma-separated value, and URN path parameters that are not URNs.
- :func:`fetch` sends one request with http.client and returns the answer unparsed (status,
  headers, bytes), redirects not followed: what the answers are checked on.
- :func:`route_served` says whether the fake routes a request at all (its 405, and its 404
  for an unknown path, mean it does not serve the operation yet).

openapi-core, werkzeug (its dependency, for the multidicts it reads) and PyYAML are imported
when first needed, so importing this module costs nothing where they are missing.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import http.client
import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from openapi_core import OpenAPI

__all__ = [
    "API_SERVER",
    "AUTH_SERVER",
    "KNOWN_FAKE_GAPS",
    "SpecAnswer",
    "SpecRequest",
    "answer_problems",
    "apply_errata",
    "checked_spec",
    "errata",
    "fetch",
    "openapi",
    "operation_params",
    "operations",
    "raw_spec",
    "request_problems",
    "require_spec",
    "route_served",
    "spec_file",
]

ROOT = Path(__file__).resolve().parents[2]
#: The in-tree copy first; ../shared/ is where the project's copy came from.
SPEC_FILES = (ROOT / "spec" / "soundcloud-api.yaml", ROOT.parent / "shared" / "soundcloud-api.yaml")
ERRATA_FILE = ROOT / "spec" / "errata.json"

API_SERVER = "https://api.soundcloud.com"  # the spec's only server
AUTH_SERVER = "https://secure.soundcloud.com"  # where OAuth and sign-out live (SOUNDCLOUD_API.md, Hosts)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FETCH_TIMEOUT = 10.0

#: Path parameter name -> the URN kind it takes (``soundcloud:<kind>:<id>``). The spec names
#: them ``*_urn`` and SOUNDCLOUD_API.md (Resources) says paths take URNs, numeric ids deprecated.
URN_KINDS = {
    "track_urn": "tracks",
    "user_urn": "users",
    "follower_urn": "users",
    "following_urn": "users",
    "playlist_urn": "playlists",
    "comment_urn": "comments",
}
URN = re.compile(r"soundcloud:([a-z-]+):[0-9]+")


# --- finding and loading -----------------------------------------------------------------------


def spec_file() -> Optional[Path]:
    """The spec to check against, or None when the tree has none (e.g. a copy of tests/ alone)."""
    for candidate in SPEC_FILES:
        if candidate.is_file():
            return candidate
    return None


def missing() -> Optional[str]:
    """Why the spec checks cannot run here, or None when they can."""
    if spec_file() is None:
        return "no OpenAPI spec: neither %s nor %s exists (a copy of tests/ alone)" % SPEC_FILES
    for module, why in (("yaml", "PyYAML"), ("openapi_core", "openapi-core (Python 3.10+)")):
        try:
            __import__(module)
        except ImportError:
            return f"{why} is not installed (pip install -r requirements.txt)"
    return None


def require_spec() -> Path:
    """The spec file; skips the calling test module (with the reason) when it cannot be checked."""
    reason = missing()
    if reason is not None:
        import pytest

        pytest.skip(reason, allow_module_level=True)
    path = spec_file()
    assert path is not None
    return path


@functools.lru_cache(maxsize=None)
def _raw_spec() -> Dict[str, Any]:
    import yaml

    path = spec_file()
    if path is None:
        raise FileNotFoundError(missing())
    with path.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    assert isinstance(document, dict), path
    return document


def raw_spec() -> Dict[str, Any]:
    """SoundCloud's spec as published (a fresh copy: callers may change it)."""
    return copy.deepcopy(_raw_spec())


@functools.lru_cache(maxsize=None)
def _errata() -> Tuple[Dict[str, Any], ...]:
    if not ERRATA_FILE.is_file():
        return ()
    data = json.loads(ERRATA_FILE.read_text(encoding="utf-8"))
    return tuple(data["errata"])


def errata() -> List[Dict[str, Any]]:
    """The entries of spec/errata.json ([] where the tree has none)."""
    return copy.deepcopy(list(_errata()))


@functools.lru_cache(maxsize=None)
def _checked_spec() -> Dict[str, Any]:
    return apply_errata(raw_spec(), errata())


def checked_spec() -> Dict[str, Any]:
    """The spec with the errata applied: what requests and answers are checked against (a copy)."""
    return copy.deepcopy(_checked_spec())


# Where the fake knowingly differs from the live service: the answer and fuzz tests expect
# these operations to fail (strictly: a fix makes them fail until it is removed from here).
KNOWN_FAKE_GAPS: Dict[str, str] = {}


def operation_params() -> List[Any]:
    """Every operation as a pytest parameter, with the known gaps of the fake marked xfail."""
    import pytest

    return [
        pytest.param(name, marks=[pytest.mark.xfail(reason=KNOWN_FAKE_GAPS[name], strict=True)])
        if name in KNOWN_FAKE_GAPS
        else name
        for name in operations()
    ]


def operations(document: Optional[Mapping[str, Any]] = None) -> List[str]:
    """``"METHOD /path"`` of every operation, in the spec's order."""
    document = document if document is not None else _raw_spec()
    return [f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item if m in METHODS]


@functools.lru_cache(maxsize=None)
def openapi() -> OpenAPI:
    """openapi-core's view of :func:`checked_spec` (its own spec validation included)."""
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(_merge_required_parts(checked_spec()))


def _merge_required_parts(document: Dict[str, Any]) -> Dict[str, Any]:
    """Request bodies written ``allOf: [$ref X, {required: [...]}]`` (POST /tracks, POST
    /playlists) as the one schema they mean: openapi-core decodes a form or multipart body by
    the properties of each allOf part and reads none from a part that is only ``required``
    (the body would be checked as {}). Not an erratum: the spec is right, the tool is not."""
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for media in _resolve(document, operation.get("requestBody", {})).get("content", {}).values():
                parts = media.get("schema", {}).get("allOf")
                if not parts or not all(set(part) <= {"$ref", "required"} for part in parts):
                    continue
                merged: Dict[str, Any] = {"type": "object", "properties": {}, "required": []}
                for part in parts:
                    whole = _resolve(document, part)
                    merged["properties"].update(whole.get("properties", {}))
                    merged["required"] += [name for name in whole.get("required", []) if name not in merged["required"]]
                media["schema"] = merged
    return document


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # openapi-core warns about what it checks rather than failing: a deprecated parameter
    # the caller chose to send (offset), and the OAuth 2 scheme it cannot check (the
    # AuthHeader scheme beside it is checked). Neither is a fault of the request.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".* parameter is deprecated", DeprecationWarning)
        warnings.filterwarnings("ignore", r"Unsupported scheme type", UserWarning)
        yield


# --- the errata ---------------------------------------------------------------------------------


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _operations_of(document: Dict[str, Any], entry: Mapping[str, Any]) -> Iterable[Tuple[str, Dict[str, Any]]]:
    """(``"METHOD /path"``, operation object) for each operation an erratum's ``where`` names
    (every operation when it names none)."""
    wanted = entry["where"].get("operations")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            if method in METHODS and (wanted is None or key in wanted):
                yield key, operation


def _query_style_comma(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # The spec declares these lists as one string; the service reads key=a,b and nothing else.
    # As an array with style form, explode false, openapi-core reads exactly that form, and
    # request_problems() refuses a repeated key, which that style cannot mean.
    if value != "comma":
        raise ValueError(f"erratum {entry['id']!r}: query_style {value!r} is not one this module checks")
    name = entry["where"]["parameter"]
    for _, operation in _operations_of(document, entry):
        parameters = operation.get("parameters", [])
        for index, raw in enumerate(parameters):
            parameter = _resolve(document, raw)
            if parameter.get("in") != "query" or parameter.get("name") != name:
                continue
            inlined = copy.deepcopy(parameter)
            schema = _resolve(document, inlined.get("schema", {}))
            if schema.get("type") != "array":
                item = {k: v for k, v in schema.items() if k not in ("description", "example", "default")}
                inlined["schema"] = {"type": "array", "items": item or {"type": "string"}}
            inlined["style"], inlined["explode"] = "form", False
            parameters[index] = inlined


def _explode(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # deepObject is defined with explode true only; openapi-core reads it no other way.
    name = entry["where"]["parameter"]
    for _, operation in _operations_of(document, entry):
        parameters = operation.get("parameters", [])
        for index, raw in enumerate(parameters):
            parameter = _resolve(document, raw)
            if parameter.get("in") == "query" and parameter.get("name") == name:
                parameters[index] = dict(copy.deepcopy(parameter), explode=bool(value))


def _body_media_type(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    old = entry["where"]["media_type"]
    for _, operation in _operations_of(document, entry):
        body = _resolve(document, operation.get("requestBody"))
        content = body.get("content", {}) if isinstance(body, dict) else {}
        if old in content:
            renamed = {(value if k == old else k): v for k, v in content.items()}
            content.clear()
            content.update(renamed)


def _bodies(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for _, operation in _operations_of(document, entry):
        body = operation.setdefault("requestBody", {"content": {}})
        content = body.setdefault("content", {})
        kept = {k: v for k, v in content.items() if k.split(";", 1)[0].strip().lower() in value}
        for media_type in value:
            if not any(k.split(";", 1)[0].strip().lower() == media_type for k in kept):
                kept[media_type] = {"schema": {"type": "object"}}
        body["content"] = kept


def _body_required(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for _, operation in _operations_of(document, entry):
        operation.setdefault("requestBody", {"content": {}})["required"] = bool(value)


def _security(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for _, operation in _operations_of(document, entry):
        operation["security"] = value


def _server(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for _, operation in _operations_of(document, entry):
        operation["servers"] = [{"url": value}]


def _field_schemas(document: Dict[str, Any], entry: Mapping[str, Any]) -> Iterable[Tuple[Dict[str, Any], str]]:
    """(properties object, field name) for each field an erratum names; ``a.b`` walks into ``a``."""
    schema = _resolve(document, document["components"]["schemas"][entry["where"]["schema"]])
    for dotted in entry["where"].get("fields", []):
        *outer, name = dotted.split(".")
        node = schema
        for part in outer:
            node = _resolve(document, node["properties"][part])
        yield node.setdefault("properties", {}), name


def _nullable(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for properties, name in _field_schemas(document, entry):
        field = properties.get(name, {})
        if "$ref" in field:  # nullable beside a $ref is ignored (OpenAPI 3.0): inline the target
            field = copy.deepcopy(_resolve(document, field))
        properties[name] = dict(field, nullable=bool(value))


def _removed(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # No longer sent: an answer that still carries the field is wrong ("not: {}" fails any value).
    if value:
        for properties, name in _field_schemas(document, entry):
            properties[name] = {"not": {}}


def _undocumented(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    for properties, name in _field_schemas(document, entry):
        properties.setdefault(name, {"type": value})


def _bare_array(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # Without linked_partitioning=true the service answers a bare array of the items; with it,
    # {collection, next_href}. The answer's schema admits both (answer_problems() checks which).
    if not value:
        return
    where = entry["where"]
    if "schema" in where:
        schemas = document["components"]["schemas"]
        schemas[where["schema"]] = _either(document, schemas[where["schema"]])
        return
    for _, operation in _operations_of(document, entry):
        for status, response in operation.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            response = copy.deepcopy(_resolve(document, response))
            for media in response.get("content", {}).values():
                if "schema" in media:
                    media["schema"] = _either(document, media["schema"])
            operation["responses"][status] = response


def _either(document: Mapping[str, Any], schema: Any) -> Any:
    page = _resolve(document, schema)
    items = _resolve(document, page.get("properties", {}).get("collection", {})).get("items")
    if page.get("type") != "object" or items is None:
        return schema
    return {"oneOf": [schema, {"type": "array", "items": items}]}


def _responses(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # The answer of that status is that component schema, whatever the spec gives (or omits).
    for _, operation in _operations_of(document, entry):
        responses = operation.setdefault("responses", {})
        for status, name in value.items():
            response = copy.deepcopy(_resolve(document, responses.get(status, {"description": "erratum"})))
            content = response.get("content") or {"application/json; charset=utf-8": {}}
            schema = {"$ref": f"#/components/schemas/{name}"}
            response["content"] = {media_type: {"schema": schema} for media_type in content}
            responses[status] = response


def _types(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # The fields come as any of these JSON types (OpenAPI 3.0 has no type lists: anyOf), null
    # too where the field is nullable (nullable only counts beside a type). The field's schema
    # is replaced: a format the spec gave (date-time) goes with it.
    for properties, name in _field_schemas(document, entry):
        nullable = bool(properties.get(name, {}).get("nullable")) or bool(entry["applies"].get("nullable"))
        properties[name] = {
            "anyOf": [dict({"type": kind}, **({"nullable": True} if nullable else {})) for kind in value]
        }


def _nothing_to_check(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    """A directive that changes no schema: what it says is checked elsewhere, or not here."""


def _default_as_list(document: Dict[str, Any], entry: Mapping[str, Any], value: Any) -> None:
    # A default written as the serialized list ("playable,preview") for an array parameter: the
    # list it means, or openapi-core refuses the whole spec (a default must match its schema).
    name = entry["where"]["parameter"]
    for parameter in document.get("components", {}).get("parameters", {}).values():
        schema = parameter.get("schema", {})
        if value and parameter.get("name") == name and isinstance(schema.get("default"), str):
            schema["default"] = schema["default"].split(",")


#: How each directive of an erratum's ``applies`` changes the spec checked here (spec/errata.json
#: ``_doc`` says what each means). Unknown ones are refused by apply_errata(), so a new
#: directive is decided here (applied, or said to need nothing) before anything is checked.
#: ``preview_only`` is about what a URL plays, not the answer's shape; ``error_body_may_be_html``
#: is about the live service's CDN in front of it, while the fake's errors are JSON and are
#: checked as such.
DIRECTIVES = {
    "query_style": _query_style_comma,
    "explode": _explode,
    "body_media_type": _body_media_type,
    "bodies": _bodies,
    "body_required": _body_required,
    "server": _server,
    "security": _security,
    "nullable": _nullable,
    "removed": _removed,
    "undocumented": _undocumented,
    "bare_array_without_linked_partitioning": _bare_array,
    "default_as_list": _default_as_list,
    "responses": _responses,
    "types": _types,
    "preview_only": _nothing_to_check,
    "error_body_may_be_html": _nothing_to_check,
}


def apply_errata(document: Dict[str, Any], entries: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """``document`` (changed in place, and returned) as the live service behaves, per ``entries``."""
    for entry in entries:
        for directive, value in entry["applies"].items():
            apply = DIRECTIVES.get(directive)
            if apply is None:
                raise ValueError(
                    f"erratum {entry['id']!r}: directive {directive!r} is unknown to tests/support/spec.py;"
                    " say there how it changes what is checked"
                )
            apply(document, entry, value)
    return document


# --- adapters for openapi-core ------------------------------------------------------------------


class SpecRequest:
    """One request, as openapi-core's ``Request`` protocol reads it.

    ``server`` is the spec server it went to (the fake's origin mapped onto it); ``path`` is
    the path as sent, without the query; ``query`` the (name, value) pairs in their order.
    """

    def __init__(
        self,
        method: str,
        path: str,
        query: Sequence[Tuple[str, str]] = (),
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        server: str = API_SERVER,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.method = method.lower()
        self.raw_path = path
        self.path = unquote(path)  # openapi-core matches templates on the decoded path
        self.host_url = server
        self.pairs = list(query)
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body or None
        self.content_type = self.headers.get("content-type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.pairs),
            header=Headers(list(self.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @classmethod
    def from_recorded(cls, recorded: Any) -> SpecRequest:
        """From a fake's ``RecordedRequest`` (its ``server`` says which origin it reached)."""
        pairs = [(name, value) for name, values in recorded.query.items() for value in values]
        server = AUTH_SERVER if recorded.server == "auth" else API_SERVER
        return cls(recorded.method, recorded.path, pairs, recorded.headers, recorded.body, server)

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        server: str = API_SERVER,
    ) -> SpecRequest:
        parts = urlsplit(url)
        return cls(method, parts.path, parse_qsl(parts.query, keep_blank_values=True), headers, body, server)

    def __repr__(self) -> str:
        return f"<SpecRequest {self.method.upper()} {self.host_url}{self.raw_path}>"


class SpecAnswer:
    """One answer, as openapi-core's ``Response`` protocol reads it."""

    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers(list(headers.items()))
        self.content_type = (self.headers.get("Content-Type") or "").lower()
        self.data = data

    def json(self) -> Any:
        return json.loads(self.data)


# --- checks --------------------------------------------------------------------------------------


def _describe(error: BaseException) -> List[str]:
    """An openapi-core error as lines: its message, then each schema error with where it is
    (for oneOf/anyOf, the errors of each alternative, so the line that matters is there)."""
    lines = [f"{type(error).__name__}: {error}"[:300]]
    seen = set()
    cause: Optional[BaseException] = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        for schema_error in getattr(cause, "schema_errors", None) or ():
            _schema_lines(schema_error, lines, 1)
        cause = cause.__cause__ or cause.__context__
    return list(dict.fromkeys(lines))[:40]  # the same fault in every item of a list: once


def _schema_lines(error: Any, lines: List[str], depth: int) -> None:
    where = "/".join(str(p) for p in getattr(error, "absolute_path", ())) or "(top)"
    context = list(getattr(error, "context", None) or ())
    message = str(getattr(error, "message", error))
    if context:
        message = f"no alternative of {getattr(error, 'validator', '?')} fits"
    lines.append(f"{'  ' * depth}at {where}: {message[:200]}")
    for sub in context[:12]:
        _schema_lines(sub, lines, depth + 1)


def find(request: SpecRequest) -> Tuple[str, Dict[str, Any]]:
    """The checked spec's (``"METHOD /path"``, operation) for a request; KeyError when none matches.

    A literal segment wins over a parameter (``/me/followings/tracks`` before
    ``/me/followings/{user_urn}``), as in openapi-core and the client's own lookup.
    """
    document = _checked_spec()
    segments = request.path.strip("/").split("/")
    candidates = []
    for template, item in document["paths"].items():
        wanted = template.strip("/").split("/")
        if len(wanted) != len(segments) or request.method not in item:
            continue
        if all(w.startswith("{") or w == s for w, s in zip(wanted, segments)):
            candidates.append((sum(not w.startswith("{") for w in wanted), template))
    if not candidates:
        raise KeyError(f"{request!r} matches no operation of the spec")
    template = max(candidates)[1]
    return f"{request.method.upper()} {template}", document["paths"][template][request.method]


def _declared(operation: Mapping[str, Any]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    out = {}
    for raw in operation.get("parameters", []):
        parameter = _resolve(_checked_spec(), raw)
        out[(parameter["in"], parameter["name"])] = parameter
    return out


def request_problems(request: SpecRequest) -> List[str]:
    """What is wrong with a request, by the checked spec ([] for a request the spec accepts)."""
    try:
        key, operation = find(request)
    except KeyError as exc:
        return [str(exc)]
    with _quiet():
        problems = [line for error in openapi().iter_request_errors(request) for line in _describe(error)]
    declared = _declared(operation)
    counts: Dict[str, int] = {}
    for name, _ in request.pairs:
        counts[name] = counts.get(name, 0) + 1
    for name, count in counts.items():
        base = name.split("[", 1)[0]
        parameter = declared.get(("query", base))
        if parameter is None:
            problems.append(f"{key}: query parameter {name!r} is not one the operation takes")
        elif parameter.get("style") == "deepObject":
            if name == base or not re.fullmatch(re.escape(base) + r"\[[^\[\]]+\]", name):
                problems.append(f"{key}: {base!r} is deepObject: send {base}[key]=value, not {name!r}")
        elif name != base:
            problems.append(f"{key}: {name!r}: {base!r} takes no brackets (style form)")
        elif count > 1:
            exploded = parameter.get("explode", parameter.get("style", "form") == "form")
            schema = _resolve(_checked_spec(), parameter.get("schema", {}))
            if not (schema.get("type") == "array" and exploded):
                problems.append(f"{key}: {name!r} sent {count} times; the spec wants one value (a list as a,b)")
    template = key.split(" ", 1)[1]
    names = re.findall(r"\{(\w+)\}", template)
    pattern = re.sub(r"\\\{\w+\\\}", "([^/]+)", re.escape(template))
    match = re.fullmatch(pattern, request.path)
    for name, value in zip(names, match.groups() if match else ()):
        kind = URN_KINDS.get(name)
        found = URN.fullmatch(value)
        if kind is not None and (found is None or found.group(1) != kind):
            problems.append(f"{key}: path parameter {name} is {value!r}, not a URN soundcloud:{kind}:<id>")
    return problems


def answer_problems(request: SpecRequest, answer: SpecAnswer) -> List[str]:
    """What is wrong with an answer to ``request``, by the checked spec ([] when nothing is).

    Besides openapi-core's checks (status documented, body matches the schema): a list
    operation asked with ``linked_partitioning=true`` must answer a page, not a bare array.
    """
    with _quiet():
        problems = [line for error in openapi().iter_response_errors(request, answer) for line in _describe(error)]
    if ("linked_partitioning", "true") in request.pairs and answer.status_code == 200:
        try:
            page = answer.json()
        except ValueError:
            page = None
        if isinstance(page, list):
            problems.append("asked with linked_partitioning=true, answered a bare array instead of a page")
    return problems


# --- talking to the fake ------------------------------------------------------------------------


def fetch(
    url: str, method: str = "GET", headers: Optional[Mapping[str, str]] = None, body: bytes = b""
) -> Tuple[int, Dict[str, str], bytes]:
    """One request with http.client (no redirects followed): status, headers, body as bytes."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=FETCH_TIMEOUT)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target, body=body or None, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        return response.status, {k: v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def route_served(status: int, body: bytes) -> bool:
    """False for the fake's answer to a request it has no route for: 405 (the path is known,
    the method is not) or its 404 for an unknown path ("no such resource: ...")."""
    if status == 405:
        return False
    if status != 404:
        return True
    try:
        errors = json.loads(body).get("errors") or [{}]
    except (ValueError, AttributeError):
        return True
    return not str(errors[0].get("error_message", "")).startswith("no such resource")
