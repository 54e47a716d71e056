"""Request encoding: nested parameters flattened the way SoundCloud (Rails) reads them,
query strings, form bodies, JSON bodies, streamed ``multipart/form-data`` bodies and URNs.

``{'track': {'title': 'x', 'tags': ['a', 'b']}}`` becomes
``track[title]=x&track[tags][]=a&track[tags][]=b``; a list of objects becomes
``playlist[tracks][][id]=1&playlist[tracks][][id]=2``; ``None`` is dropped and booleans
are ``true``/``false``.

A query parameter the operation table knows is written in its OpenAPI style instead
(:func:`encode_query`): a list as ``urns=a,b`` (style form, explode false), a range as
``bpm[from]=1&bpm[to]=2`` (deepObject, the nesting above). For an operation that takes
only JSON, :func:`json_params` makes the parameters the JSON body, by the same rules.

A file value anywhere in the parameters (see :func:`is_file_value`) makes the body
``multipart/form-data`` (:class:`MultipartBody`): the file goes out under its namespaced
name (``track[asset_data]``) and every other parameter becomes a form field of the
same body.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from typing import IO, Any, Callable, Dict, Final, Iterator, List, Mapping, Optional, Tuple, cast
from urllib.parse import quote

from ._spec import STYLE_COMMA, STYLE_FORM, Operation, find_operation
from .errors import UploadInterruptedError

__all__ = [
    "MultipartBody",
    "encode_body",
    "encode_params",
    "encode_query",
    "json_params",
    "spec_route",
    "to_urn",
]

# Deeper structures are refused instead of recursing: compiled code cannot raise
# RecursionError, it would crash the interpreter.
MAX_NESTING: Final = 32

# How much of a file object one chunk of a multipart body carries (what one read asks for).
CHUNK_SIZE: Final = 256 * 1024
# Files given as paths are read in larger blocks, each with its own open and close.
PATH_BLOCK_SIZE: Final = 1024 * 1024

# A flattened field: the namespaced name and either a str or a file value (see is_file_value).
Field = Tuple[str, Any]

# What a progress callback receives: bytes sent so far, and the total.
ProgressCallback = Callable[[int, int], None]


def is_file_value(value: object) -> bool:
    """True for values sent as a file part: readable objects, bytes, paths, (name, file) tuples."""
    if isinstance(value, (bytes, bytearray, memoryview, os.PathLike)):
        return True
    if isinstance(value, tuple):
        return 2 <= len(value) <= 3 and isinstance(value[0], str) and _is_file_body(value[1])
    return hasattr(value, "read")


def _is_file_body(value: object) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview, os.PathLike)) or hasattr(value, "read")


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
    # Typed Any so that a wrong key reaches the clear error below, compiled or not (mypyc
    # would otherwise check the declared Mapping[str, Any] key type with its own message).
    items: Any = params.items()
    for key, value in items:
        if not isinstance(key, str):
            raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
        _flatten(key, value, fields, 0)
    return fields


def _flatten(name: str, value: Any, fields: List[Field], depth: int) -> None:
    # The hot path of every request. Plain isinstance checks on concrete types, most common
    # first: cheap in Python, and they let mypyc narrow ``value`` to native dict/list code.
    if isinstance(value, str):
        fields.append((name, value))
    elif isinstance(value, bool):  # before int: bool is an int
        fields.append((name, "true" if value else "false"))
    elif isinstance(value, (int, float)):
        fields.append((name, str(value)))
    elif value is None:
        return
    elif isinstance(value, dict):
        if depth >= MAX_NESTING:
            raise ValueError(f"parameters nested deeper than {MAX_NESTING} levels at {name!r}")
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
            _flatten(name + "[" + key + "]", item, fields, depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_NESTING:
            raise ValueError(f"parameters nested deeper than {MAX_NESTING} levels at {name!r}")
        inner = name + "[]"
        for item in value:
            _flatten(inner, item, fields, depth + 1)
    elif isinstance(value, Mapping):
        _flatten(name, dict(value), fields, depth)
    elif isinstance(value, tuple) and not is_file_value(value):
        _flatten(name, list(value), fields, depth)
    elif is_file_value(value):
        fields.append((name, value))
    else:
        fields.append((name, _scalar(value)))


def encode_query(params: Mapping[str, Any], styles: Mapping[str, str]) -> str:
    """The query string of ``params`` where ``styles`` (name -> the operation table's style)
    says how a list is written: ``STYLE_COMMA`` as ``name=a,b`` (each item percent-encoded,
    the commas literal: OpenAPI style form, explode false), ``STYLE_FORM`` as
    ``name=a&name=b`` (explode true). Everything else, a deepObject range
    (``bpm[from]=100``) included, is flattened as :func:`encode_params` does.

        >>> encode_query({'urns': ['soundcloud:tracks:1', 2]}, {'urns': STYLE_COMMA})
        'urns=soundcloud%3Atracks%3A1,2'
    """
    parts: List[str] = []
    fields: List[Field] = []
    items: Any = params.items()
    for key, value in items:
        if not isinstance(key, str):
            raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
        style = styles.get(key) if isinstance(value, (list, tuple)) else None
        if style == STYLE_COMMA:
            joined = _comma_joined(key, value)
            if joined:
                if fields:  # keep the caller's order
                    parts.append(urlencode(fields))
                    fields.clear()
                parts.append(quote(key, safe="") + "=" + joined)
        elif style == STYLE_FORM:
            for item in value:
                _flatten(key, item, fields, 1)
        else:
            _flatten(key, value, fields, 0)
    if fields:
        parts.append(urlencode(fields))
    return "&".join(parts)


def _comma_joined(name: str, values: Any) -> str:
    # None items are dropped, as None parameters are; an empty list sends nothing.
    items: List[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (dict, list, tuple)) or is_file_value(value):
            raise TypeError(
                f"{name!r} is sent comma-separated (a,b): its items must be str, int, float or"
                f" bool, not {type(value).__name__}"
            )
        items.append(quote(_scalar(value), safe=""))
    return ",".join(items)


def json_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The parameters as a JSON object, for an operation that takes only JSON: the same
    values as a form body, nested as given (``None`` dropped, a tuple an array); a file
    value is a TypeError (JSON cannot carry one)."""
    result = _json_value("", params, 0)
    return result if isinstance(result, dict) else {}


def _json_value(name: str, value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth > MAX_NESTING:
        raise ValueError(f"parameters nested deeper than {MAX_NESTING} levels at {name!r}")
    if isinstance(value, Mapping):
        result: Dict[str, Any] = {}
        pairs: Any = value.items()
        for key, item in pairs:
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be str, not {type(key).__name__}: {key!r}")
            if item is not None:
                result[key] = _json_value(name + "[" + key + "]" if name else key, item, depth + 1)
        return result
    if isinstance(value, list) or (isinstance(value, tuple) and not is_file_value(value)):
        return [_json_value(name + "[]", item, depth + 1) for item in value if item is not None]
    if is_file_value(value):
        raise TypeError(
            f"{name!r} is a file, and this operation takes only a JSON body, which cannot carry"
            " one; pass data={...} to send a multipart body anyway"
        )
    return _scalar(value)


def encode_body(
    params: Dict[str, Any],
    json_body: Any,
    data: Optional[Mapping[str, Any]],
    json_only: bool,
    json_not_form: bool,
    progress: Optional[ProgressCallback],
    headers: Dict[str, str],
) -> Tuple[Any, bool]:
    """The body of a POST, PUT or PATCH, and whether it can be sent again; its Content-Type
    and Content-Length go into ``headers``.

    ``json_body`` (``json=``) is sent as JSON and ``data`` (``data=``) as a form, whatever
    the operation takes; otherwise ``params`` go as JSON where the operation takes only JSON
    (``json_only``: SoundCloud refuses a form there), or takes JSON and no plain form and no
    file is among them (``json_not_form``: ``POST /playlists`` takes JSON or multipart), else
    as a form, multipart with files.
    """
    if json_body is None and data is None and json_not_form and not json_only:
        json_only = not has_files(encode_params(params))
    if json_body is not None or (data is None and json_only):
        if json_body is None:
            json_body = json_params(params)
        elif params or data is not None:
            raise TypeError("pass either json= or form parameters (or data=), not both")
        import json

        body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        return body, True
    if data is not None:
        if params:
            raise TypeError("pass either data= or form parameters, not both")
        if not isinstance(data, Mapping):
            raise TypeError(f"data= is the form body as a mapping of parameters, not {type(data).__name__}")
        params = dict(data)
    fields = encode_params(params)
    if has_files(fields):
        multipart = MultipartBody(fields, progress=progress)
        headers["Content-Type"] = multipart.content_type
        headers["Content-Length"] = str(multipart.content_length)
        return multipart, False
    form = urlencode(fields).encode("ascii")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["Content-Length"] = str(len(form))
    return form, True


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
    if isinstance(value, os.PathLike):
        return os.path.basename(os.fspath(value)) or None
    name = getattr(value, "name", None)
    if isinstance(name, str) and name and not (name.startswith("<") and name.endswith(">")):
        return os.path.basename(name) or None
    return None


# -- URNs ---------------------------------------------------------------------------------

_KIND: Final = re.compile(r"[a-z][a-z_-]*\Z")
_URN: Final = re.compile(r"soundcloud:([a-z][a-z_-]*):([0-9]+)\Z")


def to_urn(kind: str, value: Any) -> str:
    """The URN SoundCloud prefers in paths, from an id, a numeric string or a URN.

        >>> to_urn('tracks', 308946187)
        'soundcloud:tracks:308946187'
        >>> to_urn('tracks', 'soundcloud:tracks:308946187')
        'soundcloud:tracks:308946187'

    Ids above 2**31 must be sent as URNs (SoundCloud answers 422 otherwise).
    """
    if not isinstance(kind, str) or _KIND.match(kind) is None:
        raise ValueError(f"the URN kind must be a plural noun like 'tracks' or 'users', not {kind!r}")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(
            f"a {kind} id must be an int, a numeric str or a URN like 'soundcloud:{kind}:123',"
            f" not {type(value).__name__}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a {kind} id cannot be negative: {value}")
        return f"soundcloud:{kind}:{value}"
    if value.isascii() and value.isdigit():
        return f"soundcloud:{kind}:{int(value)}"
    match = _URN.match(value)
    if match is None:
        raise ValueError(f"not a {kind} id or URN: {value!r} (expected 123 or 'soundcloud:{kind}:123')")
    if match.group(1) != kind:
        raise ValueError(f"{value!r} is a URN for {match.group(1)}, not {kind}")
    return value


# -- the operation table ------------------------------------------------------------------

# What the operation table says about one method and path (relative to the API root, no
# query): the operation (None for a path the table does not know), the path to send instead
# (numeric ids turned into URNs where the path takes only URNs; None: send it as given), and
# the styles of the query parameters whose lists are not sent as ``key[]`` (name ->
# STYLE_COMMA or STYLE_FORM, for :func:`encode_query`), or None when there is none.
Route = Tuple[Optional[Operation], Optional[str], Optional[Dict[str, str]]]

# Routes by "METHOD path", shared by every client (they depend on the table only). Emptied
# when full: paths carry ids, so the number of distinct ones is unbounded.
_ROUTES: Final[Dict[str, Route]] = {}
MAX_ROUTES: Final = 1024

# URN kinds of the path parameters whose name does not say it (follower_urn is a user's).
URN_KINDS: Final[Dict[str, str]] = {
    "comment_urn": "comments",
    "follower_urn": "users",
    "following_urn": "users",
    "playlist_urn": "playlists",
    "track_urn": "tracks",
    "user_urn": "users",
}


def spec_route(method: str, path: str) -> Route:
    """What the operation table says about ``method`` (upper case) on ``path`` (relative
    to the API root, no query): see :data:`Route`. The hot path of every API request: one
    dict lookup, unless this method and path are new."""
    key = method + " " + path
    route = _ROUTES.get(key)
    if route is None:
        route = _route(method, path)
        if len(_ROUTES) >= MAX_ROUTES:
            _ROUTES.clear()
        _ROUTES[key] = route
    return route


def _route(method: str, path: str) -> Route:
    # HEAD is GET without the body (RFC 9110 section 9.3.2): the spec lists GET only.
    operation = find_operation("GET" if method == "HEAD" else method, path)
    if operation is None:
        return (None, None, None)
    styles: Dict[str, str] = {}
    template = operation.path.strip("/").split("/")
    segments = path.strip("/").split("/")
    changed = False
    for parameter in operation.parameters:
        name = parameter.name
        if parameter.location == "query":
            # deepObject needs no entry: a mapping is flattened as name[from]=... anyway.
            if parameter.style == STYLE_COMMA or (parameter.style == STYLE_FORM and parameter.kind == "array"):
                styles[name] = parameter.style
        elif parameter.location == "path" and name.endswith("_urn"):
            # SoundCloud: "paths take URNs; numeric ids are deprecated, and track ids above
            # 2**31 must be sent as URNs (else 422)". Only a plain number is rewritten.
            placeholder = "{" + name + "}"
            if placeholder not in template:
                continue
            index = template.index(placeholder)
            segment = segments[index]
            if segment.isascii() and segment.isdigit():
                kind = URN_KINDS.get(name, name[: -len("_urn")] + "s")
                try:
                    segments[index] = to_urn(kind, segment)
                except ValueError:  # a parameter name that spells no kind: leave the id
                    continue
                changed = True
    return (operation, "/".join(segments) if changed else None, styles or None)


# -- multipart/form-data ------------------------------------------------------------------

# RFC 2046 section 5.1.1: a boundary is 1 to 70 of these characters, not ending in a space.
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]\Z")
_OCTET_STREAM: Final = "application/octet-stream"
# In-memory file values up to this size are framed into the surrounding bytes instead of
# being produced as chunks of their own.
_INLINE_LIMIT: Final = CHUNK_SIZE


def _escape_param(value: str) -> str:
    """A Content-Disposition parameter value as browsers send it (RFC 7578 section 4.2 and
    the WHATWG HTML "multipart/form-data encoding algorithm"): UTF-8 inside the quotes, with
    ``"``, CR and LF percent-escaped. Backslashes go as they are, as browsers send them."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _default_filename(field: str) -> str:
    # ``track[asset_data]`` -> ``asset_data``: the innermost non-empty key, like requests
    # uses the field name when a file has no name of its own.
    for piece in reversed(field.replace("]", "").split("[")):
        if piece:
            return piece
    return "file"


class _FilePart:
    """One file field: its framed headers and where its bytes come from."""

    def __init__(
        self,
        field: str,
        filename: str,
        data: Optional[bytes],
        stream: Optional[IO[bytes]],
        path: Optional[str],
        start: int,
        size: int,
        identity: Tuple[int, int] = (0, 0),
    ) -> None:
        self.field = field
        self.filename = filename
        self.data = data
        self.stream = stream
        self.path = path
        self.start = start
        self.size = size
        # (st_dev, st_ino) of a path, to notice the file being replaced while it is sent.
        self.identity = identity

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes in chunks; raises when it is shorter or longer than announced."""
        data = self.data
        if data is not None:
            for offset in range(0, len(data), CHUNK_SIZE):
                yield data[offset : offset + CHUNK_SIZE]
            return
        path = self.path
        if path is not None:
            yield from self._read_path(path)
            return
        stream = self.stream
        if stream is not None:
            try:
                stream.seek(self.start)
            except (OSError, ValueError) as exc:
                raise self._failed(f"could not seek back to where the file started: {exc}") from exc
            yield from self._read(stream)

    def _read_path(self, path: str) -> Iterator[bytes]:
        # The file is opened for each block and closed before the block is yielded: a
        # consumer may abandon this iterator at any point (a connection that fails), and a
        # suspended generator is not guaranteed to run its ``finally`` (mypyc's are not),
        # so no handle may stay open across a yield.
        size = self.size
        offset = 0
        while True:
            want = size - offset if size - offset < PATH_BLOCK_SIZE else PATH_BLOCK_SIZE
            extra = b""
            try:
                with open(path, "rb") as handle:
                    info = os.fstat(handle.fileno())
                    if (info.st_dev, info.st_ino) != self.identity:
                        raise self._failed(f"{path!r} was replaced by another file during the upload")
                    if offset:
                        handle.seek(offset)
                    block = handle.read(want) if want else b""
                    if len(block) == want and offset + want == size:
                        extra = handle.read(1)
            except OSError as exc:
                raise self._failed(f"could not read {path!r}: {exc}") from exc
            if len(block) < want:
                raise self._failed(
                    f"the file ended after {offset + len(block)} of the {size} bytes announced"
                    " in Content-Length (did it change during the upload?)"
                )
            if extra:
                raise self._failed(
                    f"the file is longer than the {size} bytes announced in Content-Length"
                    " (did it change during the upload?)"
                )
            if not block:
                return
            yield block
            offset += len(block)
            if offset >= size:
                return

    def _read(self, stream: IO[bytes]) -> Iterator[bytes]:
        remaining = self.size
        read = stream.read
        if remaining == 0:
            self._check_ended(read)
        while remaining > 0:
            try:
                got: object = read(CHUNK_SIZE if remaining > CHUNK_SIZE else remaining)
            except (OSError, ValueError) as exc:
                raise self._failed(f"reading the file failed: {exc}") from exc
            if isinstance(got, bytes):
                chunk = got
            elif isinstance(got, (bytearray, memoryview)):
                chunk = bytes(got)
            else:
                raise TypeError(
                    f"field {self.field!r}: read() returned {type(got).__name__}, not bytes;"
                    " open the file in binary mode ('rb')"
                )
            if not chunk:
                raise self._failed(
                    f"the file ended after {self.size - remaining} of the {self.size} bytes announced"
                    " in Content-Length (did it change during the upload?)"
                )
            if len(chunk) > remaining:
                raise self._failed(f"read() returned more bytes than asked for ({len(chunk)} > {remaining})")
            remaining -= len(chunk)
            if remaining == 0:
                # Checked before the last bytes go out, so that a file which grew is never
                # sent as a complete-looking body that silently lacks its end.
                self._check_ended(read)
            yield chunk

    def _check_ended(self, read: Callable[[int], bytes]) -> None:
        try:
            extra = read(1)
        except (OSError, ValueError) as exc:
            raise self._failed(f"reading the file failed: {exc}") from exc
        if extra:
            raise self._failed(
                f"the file is longer than the {self.size} bytes announced in Content-Length"
                " (did it change during the upload?)"
            )

    def _failed(self, why: str) -> UploadInterruptedError:
        return UploadInterruptedError(
            f"the upload of field {self.field!r} ({self.filename!r}) was stopped: {why}; the request"
            " body was cut short, so the server cannot accept it, and it was not retried"
        )


def _measure(field: str, stream: IO[bytes]) -> Tuple[int, int]:
    """Where a stream's remaining bytes start and how many there are, without reading them."""
    try:
        start = stream.tell()
    except (AttributeError, OSError, ValueError):
        start = -1
    if start >= 0:
        try:
            info = os.fstat(stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        else:
            if stat.S_ISREG(info.st_mode):
                return start, max(0, info.st_size - start)
        try:
            seekable = stream.seekable() if hasattr(stream, "seekable") else True
            if seekable:
                stream.seek(0, io.SEEK_END)
                end = stream.tell()
                stream.seek(start)
                return start, max(0, end - start)
        except (AttributeError, OSError, ValueError):
            pass
    raise ValueError(
        f"field {field!r}: cannot tell the size of {type(stream).__name__} ahead (it is not"
        " seekable), and a multipart body needs its Content-Length before it is sent; pass a"
        " file opened from disk in binary mode, a pathlib.Path, bytes or io.BytesIO"
    )


def _check_stream(field: str, stream: Any) -> None:
    """Refuse, before anything is sent, the file objects that cannot be uploaded."""
    if isinstance(stream, io.TextIOBase):
        raise TypeError(
            f"field {field!r}: the file is open in text mode; open it in binary mode"
            " (open(path, 'rb')) so its bytes are sent unchanged"
        )
    if getattr(stream, "closed", False) is True:
        raise ValueError(f"field {field!r}: the file is closed; open it (in binary mode) before sending")
    if not isinstance(stream, (io.BufferedIOBase, io.RawIOBase)):
        # A duck-typed reader: ask for nothing to learn whether it yields bytes or str.
        try:
            probe = stream.read(0)
        except (OSError, ValueError) as exc:
            raise ValueError(f"field {field!r}: the file cannot be read: {exc}") from exc
        if isinstance(probe, str):
            raise TypeError(
                f"field {field!r}: read() returns str, not bytes; open the file in binary mode ('rb')"
            )


class MultipartBody:
    """A ``multipart/form-data`` body (RFC 7578), produced chunk by chunk.

    ``fields`` are ``(name, value)`` pairs from :func:`encode_params`. A value is a str
    (a form field) or a file value: a binary file object (read from its current position,
    :data:`CHUNK_SIZE` at a time), ``bytes``, a :class:`pathlib.Path` (read while the body is
    produced, :data:`PATH_BLOCK_SIZE` at a time, never left open) or a
    ``(filename, file[, content_type])`` tuple. Everything is checked, and the size of every
    file known, before anything is sent: :attr:`content_length` is exact, no chunked encoding
    is needed, and memory does not grow with the files. A file that turns out shorter or
    longer than announced stops the body with :class:`~soundcloud.UploadInterruptedError`.
    Files given as objects are not closed.

        body = MultipartBody(encode_params({'track': {'title': 'x', 'asset_data': path}}))
        headers = {'Content-Type': body.content_type, 'Content-Length': str(body.content_length)}
        for chunk in body: ...

    ``progress(sent, total)`` is called after each chunk went out.
    """

    def __init__(
        self,
        fields: List[Field],
        progress: Optional[ProgressCallback] = None,
        *,
        boundary: Optional[str] = None,
    ) -> None:
        if boundary is None:
            import secrets

            boundary = secrets.token_hex(16)
        elif not isinstance(boundary, str) or _BOUNDARY.match(boundary) is None:
            raise ValueError(f"{boundary!r} is not a valid multipart boundary (RFC 2046 section 5.1.1)")
        self.boundary = boundary
        self.content_type = "multipart/form-data; boundary=" + boundary
        self._progress = progress
        # The body is: segments[0] file[0] segments[1] file[1] ... segments[n]. The segments
        # hold the framing and every string field, joined ahead of time: built as one str
        # and encoded once, which is several times faster than concatenating bytes per field.
        head = "--" + boundary + '\r\nContent-Disposition: form-data; name="'
        segments: List[bytes] = []
        files: List[_FilePart] = []
        pieces: List[bytes] = []
        text: List[str] = []
        for field, value in fields:
            name = field
            if '"' in name or "\r" in name or "\n" in name:
                name = _escape_param(name)
            if isinstance(value, str):
                text.append(head)
                text.append(name)
                text.append('"\r\n\r\n')
                text.append(value)
                text.append("\r\n")
                continue
            part = _file_part(field, value)
            filename = part.filename
            if '"' in filename or "\r" in filename or "\n" in filename:
                filename = _escape_param(filename)
            text.append(head)
            text.append(name)
            text.append('"; filename="')
            text.append(filename)
            text.append('"\r\nContent-Type: ')
            text.append(_content_type(field, value, part.filename))
            text.append("\r\n\r\n")
            pieces.append("".join(text).encode("utf-8"))
            text.clear()
            data = part.data
            if data is not None and len(data) <= _INLINE_LIMIT:
                pieces.append(data)
            else:
                segments.append(b"".join(pieces))
                files.append(part)
                pieces = []
            text.append("\r\n")
        text.append("--" + boundary + "--\r\n")
        pieces.append("".join(text).encode("utf-8"))
        segments.append(b"".join(pieces))
        self._segments = segments
        self._files = files
        length = 0
        for segment in segments:
            length += len(segment)
        for part in files:
            length += part.size
        self.content_length = length

    def __iter__(self) -> Iterator[bytes]:
        progress = self._progress
        total = self.content_length
        sent = 0
        segments = self._segments
        files = self._files
        for index in range(len(files)):
            segment = segments[index]
            if segment:
                yield segment
                sent += len(segment)
                if progress is not None:
                    progress(sent, total)
            for chunk in files[index].chunks():
                yield chunk
                sent += len(chunk)
                if progress is not None:
                    progress(sent, total)
        last = segments[len(files)]
        yield last
        sent += len(last)
        if progress is not None:
            progress(sent, total)

    def read_all(self) -> bytes:
        """The whole body in memory (for small bodies and tests; iterate it otherwise)."""
        return b"".join(self)

    def __repr__(self) -> str:
        return f"<MultipartBody {self.content_length} bytes, {len(self._files)} streamed file(s)>"


def _file_part(field: str, value: Any) -> _FilePart:
    """Check a file value and learn its name and size, before anything is sent."""
    filename: Optional[str] = None
    body = value
    if isinstance(value, tuple):
        filename = value[0]
        body = value[1]
        if not filename:
            filename = None
    if filename is None:
        filename = file_name(body) or _default_filename(field)
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        return _FilePart(field, filename, data, None, None, 0, len(data))
    if isinstance(body, os.PathLike):
        path = os.fspath(body)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"field {field!r}: no such file", path) from None
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"field {field!r}: {path!r} is not a regular file")
        if not os.access(path, os.R_OK):
            raise PermissionError(errno.EACCES, f"field {field!r}: the file cannot be read", path)
        return _FilePart(field, filename, None, None, path, 0, info.st_size, (info.st_dev, info.st_ino))
    _check_stream(field, body)
    stream = cast(IO[bytes], body)
    start, size = _measure(field, stream)
    return _FilePart(field, filename, None, stream, None, start, size)


def _content_type(field: str, value: Any, filename: str) -> str:
    if isinstance(value, tuple) and len(value) == 3:
        given = value[2]
        if not isinstance(given, str) or not given or not given.isascii() or "\r" in given or "\n" in given:
            raise ValueError(f"field {field!r}: the content type must be a non-empty ASCII str, not {given!r}")
        return given
    import mimetypes

    guessed = mimetypes.guess_type(filename)[0]
    return guessed if guessed is not None else _OCTET_STREAM
