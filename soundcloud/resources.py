"""Response wrappers: JSON objects as :class:`Resource`, arrays as :class:`ResourceList`,
and binary bodies as :class:`StreamResponse`.

Wrapping is lazy: a Resource holds the decoded dict and wraps nested objects only when
they are read, so a 200-track collection costs one small object per track actually used.
"""

from __future__ import annotations

import os
from typing import (
    Any,
    Callable,
    Dict,
    Final,
    Iterator,
    List,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Union,
    overload,
)

from ._fs import atomic_write
from ._models import Headers, RateLimit, read_rate_limit
from ._redact import redact_json

__all__ = ["RawStream", "Resource", "ResourceList", "StreamResponse"]

STREAM_CHUNK_SIZE: Final = 64 * 1024


class ResponseInfo:
    """What a response said besides its body: status, reason, URL, headers and redirect target."""

    __slots__ = ("status_code", "reason", "url", "headers", "location")

    def __init__(
        self,
        status_code: int = 0,
        reason: str = "",
        url: str = "",
        headers: Optional[Headers] = None,
        location: Optional[str] = None,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.url = url
        self.headers = headers if headers is not None else Headers()
        self.location = location

    def __reduce__(self) -> Tuple[Any, ...]:
        return (ResponseInfo, (self.status_code, self.reason, self.url, self.headers, self.location))


# Nested objects have no response of their own.
NO_RESPONSE: Final = ResponseInfo()

def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Resource(value)
    if isinstance(value, list):
        return ResourceList(value)
    return value


class Resource:
    """A JSON object from the API, readable as attributes (``track.title``) or items (``track['title']``).

    Nested objects and arrays are wrapped when read (``track.user.username``). Keys that
    clash with a method or a response property (``keys``, ``url``...) stay reachable as items.
    ``status_code``, ``url``, ``headers``, ``reason``, ``location`` and ``rate_limit``
    describe the response.
    """

    __slots__ = ("_data", "_info")

    def __init__(self, data: Optional[Dict[str, Any]] = None, info: ResponseInfo = NO_RESPONSE) -> None:
        self._data: Dict[str, Any] = {} if data is None else data
        self._info = info

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails, so methods and properties win over JSON keys.
        # This is the hot path of reading a collection: keep it to one dict lookup.
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}"
                f" (fields: {', '.join(sorted(self._data)) or 'none'})"
            ) from None
        if isinstance(value, dict):
            return Resource(value)
        if isinstance(value, list):
            return ResourceList(value)
        return value

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key`` wrapped like an attribute, or ``default`` when absent."""
        if key in self._data:
            return _wrap(self._data[key])
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return True

    def fields(self) -> Dict[str, Any]:
        """The decoded JSON object itself (a dict; not a copy)."""
        return self._data

    def keys(self) -> List[str]:
        """The object's field names."""
        return list(self._data)

    @property
    def status_code(self) -> int:
        """The HTTP status of the response (0 for nested objects)."""
        return self._info.status_code

    @property
    def reason(self) -> str:
        """The HTTP reason phrase of the response."""
        return self._info.reason

    @property
    def url(self) -> str:
        """The URL that answered (after redirects).

        On a nested object (which has no response of its own) this is its ``url`` field, so
        ``profile.url`` reads naturally; on a response, ``self['url']`` reads the field.
        """
        info = self._info
        if info is NO_RESPONSE:
            value = self._data.get("url")
            if isinstance(value, str):
                return value
        return info.url

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        return self._info.headers

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The response's ``x-ratelimit-*`` headers (limit, remaining, reset), or None."""
        return read_rate_limit(self._info.headers)

    @property
    def location(self) -> Optional[str]:
        """Where a redirect points: the Location header, else the body's ``location``."""
        location = self._info.location
        if location is None:
            value = self._data.get("location")
            if isinstance(value, str):
                return value
        return location

    @property
    def collection(self) -> ResourceList:
        """The ``collection`` array of a paginated answer, as a ResourceList."""
        try:
            value = self._data["collection"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field 'collection'") from None
        if not isinstance(value, list):
            raise AttributeError("the field 'collection' is not an array")
        return ResourceList(value)

    @property
    def next_href(self) -> Optional[str]:
        """The next page's absolute URL of a paginated answer, or None on the last page."""
        value = self._data.get("next_href")
        return value if isinstance(value, str) and value else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Resource):
            return self._data == other._data
        if isinstance(other, dict):
            return self._data == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_json(self._data)!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Resource, (self._data, self._info))

    def __copy__(self) -> Resource:
        return Resource(self._data, self._info)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Resource:
        import copy

        return Resource(copy.deepcopy(self._data, memo), self._info)

    def __dir__(self) -> List[str]:
        return sorted(set(object.__dir__(self)) | {k for k in self._data if k.isidentifier()})


class ResourceList(Sequence[Any]):
    """A JSON array from the API: a sequence whose objects are wrapped as Resources when read."""

    __slots__ = ("_items", "_info")

    def __init__(self, items: Optional[List[Any]] = None, info: ResponseInfo = NO_RESPONSE) -> None:
        self._items: List[Any] = [] if items is None else items
        self._info = info

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> ResourceList: ...

    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return ResourceList(self._items[index])
        return _wrap(self._items[index])

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            if isinstance(item, dict):
                yield Resource(item)
            elif isinstance(item, list):
                yield ResourceList(item)
            else:
                yield item

    def __contains__(self, value: object) -> bool:
        if isinstance(value, (Resource, ResourceList)):
            return value in list(self)
        return value in self._items

    def items(self) -> List[Any]:
        """The decoded JSON array itself (a list; not a copy)."""
        return self._items

    @property
    def collection(self) -> ResourceList:
        """The list itself, so ``.collection`` reads the same whether or not an endpoint
        answered with a paginated ``{"collection": [...]}`` object or a bare array."""
        return self

    @property
    def next_href(self) -> Optional[str]:
        """Always None: a bare array has no next page."""
        return None

    @property
    def status_code(self) -> int:
        """The HTTP status of the response (0 for nested arrays)."""
        return self._info.status_code

    @property
    def reason(self) -> str:
        """The HTTP reason phrase of the response."""
        return self._info.reason

    @property
    def url(self) -> str:
        """The URL that answered (after redirects)."""
        return self._info.url

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        return self._info.headers

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The response's ``x-ratelimit-*`` headers (limit, remaining, reset), or None."""
        return read_rate_limit(self._info.headers)

    @property
    def location(self) -> Optional[str]:
        """The Location header of the response, if any."""
        return self._info.location

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResourceList):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        return f"ResourceList({redact_json(self._items)!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (ResourceList, (self._items, self._info))

    def __copy__(self) -> ResourceList:
        return ResourceList(self._items, self._info)

    def __deepcopy__(self, memo: Dict[int, Any]) -> ResourceList:
        import copy

        return ResourceList(copy.deepcopy(self._items, memo), self._info)


def wrap_json(data: Any, info: ResponseInfo) -> Union[Resource, ResourceList]:
    """Wrap a decoded JSON document: objects as Resource, arrays as ResourceList.

    A scalar document (rare) is kept under the key ``value``.
    """
    if isinstance(data, dict):
        return Resource(data, info)
    if isinstance(data, list):
        return ResourceList(data, info)
    if data is None:
        return Resource({}, info)
    return Resource({"value": data}, info)


class RawStream(Protocol):
    """What a StreamResponse reads from: a body that can be read in pieces and closed."""

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all that is left when negative); b'' at the end."""

    def close(self) -> None:
        """Release the connection (back to the pool when the body was read to its end)."""


class StreamResponse:
    """A binary (non-JSON) response body, read incrementally; never held whole in memory.

    Use it as a context manager, iterate it for chunks, ``read()`` it, or ``save(path)``::

        with client.get('/tracks/293/stream') as audio:
            audio.save('track.mp3')
    """

    def __init__(self, raw: RawStream, info: ResponseInfo) -> None:
        self._raw = raw
        self._info = info
        self._closed = False
        self.bytes_read = 0

    @property
    def status_code(self) -> int:
        """The HTTP status of the response."""
        return self._info.status_code

    @property
    def reason(self) -> str:
        """The HTTP reason phrase of the response."""
        return self._info.reason

    @property
    def url(self) -> str:
        """The URL that answered (after redirects)."""
        return self._info.url

    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        return self._info.headers

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The response's ``x-ratelimit-*`` headers (limit, remaining, reset), or None."""
        return read_rate_limit(self._info.headers)

    @property
    def location(self) -> Optional[str]:
        """The Location header, if any."""
        return self._info.location

    @property
    def content_type(self) -> str:
        """The Content-Type header ('' when absent)."""
        return self._info.headers.get_value("content-type") or ""

    @property
    def content_length(self) -> Optional[int]:
        """The announced body size in bytes, when the server sent one and it counts the
        bytes read: None for a compressed body (``Content-Encoding: gzip``), whose
        Content-Length counts the compressed bytes while ``read()`` gives them decoded.
        ``save()``'s progress then reports no total, and ``bytes_read`` counts decoded bytes."""
        headers = self._info.headers
        coding = headers.get_value("content-encoding")
        if coding is not None and any(
            part.strip(" \t").lower() not in ("", "identity") for part in coding.split(",")
        ):
            return None
        value = headers.get_value("content-length")
        if value is not None and value.strip().isdigit():
            return int(value)
        return None

    @property
    def closed(self) -> bool:
        """True once the body was closed."""
        return self._closed

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (everything left when negative)."""
        if self._closed:
            raise ValueError("read from a closed StreamResponse")
        data = self._raw.read(size)
        self.bytes_read += len(data)
        return data

    def iter_bytes(self, chunk_size: int = STREAM_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes, then close."""
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, not {chunk_size}")
        try:
            while True:
                chunk = self.read(chunk_size)
                if not chunk:
                    break
                yield chunk
        finally:
            self.close()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def save(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        progress: Optional[Callable[[int, Optional[int]], None]] = None,
    ) -> int:
        """Write the body to ``path`` atomically (a temporary file renamed on success).

        Returns the number of bytes written. On any error no file is left at ``path``.
        """
        return atomic_write(os.fspath(path), _reporting(self.iter_bytes(), self.content_length, progress))

    def close(self) -> None:
        """Release the connection; further reads raise ValueError."""
        if not self._closed:
            self._closed = True
            self._raw.close()

    def __enter__(self) -> StreamResponse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<StreamResponse [{self.status_code}] {self.content_type or 'unknown type'}"
            f" {self.content_length if self.content_length is not None else '?'} bytes>"
        )


def _reporting(
    chunks: Iterator[bytes], total: Optional[int], progress: Optional[Callable[[int, Optional[int]], None]]
) -> Iterator[bytes]:
    """Pass ``chunks`` through, calling ``progress(done, total)`` after each has been written."""
    done = 0
    for chunk in chunks:
        yield chunk
        done += len(chunk)
        if progress is not None:
            progress(done, total)
