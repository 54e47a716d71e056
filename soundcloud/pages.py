"""Collections across pages, and what the typed API's generated methods share.

:class:`Pages` is what a collection operation of the typed API returns
(``client.tracks.search(q='ambient')``): an iterator of models that fetches the first page
with ``linked_partitioning=true`` (and ``limit=page_size``), then follows each page's
``next_href`` until it is absent or null, never fetching a page it does not need. A page
may also be a bare JSON array (some endpoints answer so); it is the last one. The last
page read leaves its ``next_href`` and ``future_href`` (activities carry one: the URL of
what happens after this feed was read) on the iterator.

:func:`paginate` is ``client.paginate``: the same walk over pages for any path, yielding
Resources. Both share the same safety: a ``next_href`` that is no usable http(s) URL is a
DecodeError, one leading from https to plain http an InsecureRedirectError
(:func:`soundcloud._urls.next_page_url`), and a ``next_href`` already fetched (a server
paging in a loop) a SoundCloudError instead of an endless loop.

The rest are the hand-written helpers of :mod:`soundcloud.namespaces` (which is generated):
a path argument from an id, a URN or a model (:func:`path_id`), URN lists, ``(from, to)``
ranges, file values, the JSON object of an answer, and :func:`resolve`.

Below the client (layer 6): the client is reached through :class:`VerbClient`, the generic
verbs it offers, so that this module never imports it.
"""

from __future__ import annotations

import os
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Final,
    Iterator,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import quote

from ._model import Model
from ._redact import printable, redact_url
from ._urls import next_page_url
from .encoding import is_file_value, to_urn
from .errors import DecodeError, SoundCloudError
from .models import Playlist, Track, User, from_json
from .resources import Resource, ResourceList, StreamResponse

__all__ = [
    "FileValue",
    "IntRange",
    "MAX_PAGE_SIZE",
    "Pages",
    "TextRange",
    "VerbClient",
    "paginate",
    "path_id",
    "resolve",
]

# SoundCloud's largest page (``limit``) on collection endpoints.
MAX_PAGE_SIZE: Final = 200

T = TypeVar("T")

#: A range filter of ``GET /tracks`` (``bpm``, ``duration``): ``(from, to)``, either end None
#: for an open one. Sent as the spec's deepObject, ``bpm[from]=100&bpm[to]=120``.
IntRange = Tuple[Optional[int], Optional[int]]
#: ``created_at=('2024-01-01 00:00:00', None)``: dates as SoundCloud writes them
#: (``yyyy-mm-dd hh:mm:ss``), either end None for an open one.
TextRange = Tuple[Optional[str], Optional[str]]
#: A file to upload, as the generic verbs take it: a binary file object, a path
#: (``pathlib.Path``; a str is text, not a path), bytes, or ``(filename, file[, content_type])``.
FileValue = Union[bytes, bytearray, os.PathLike[str], IO[bytes], Tuple[str, Any], Tuple[str, Any, str]]


class VerbClient(Protocol):
    """What pages and namespaces need from a client: its generic verbs.

    :class:`soundcloud.Client` is one; naming the need keeps this layer below the client.
    """

    # The defaults say only that each option may be left out (mypyc compiles them, so no ``...``);
    # the client's own defaults apply (its timeout default is USE_CLIENT_DEFAULT).
    def get(
        self,
        __url: str,
        *,
        allow_redirects: bool = True,
        timeout: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        retry: Optional[bool] = None,
        **params: Any,
    ) -> Any:
        """GET ``url`` with ``params`` in the query."""

    def post(self, __url: str, *, progress: Optional[Callable[[int, int], None]] = None, **params: Any) -> Any:
        """POST ``params`` as the body the operation takes."""

    def put(self, __url: str, *, progress: Optional[Callable[[int, int], None]] = None, **params: Any) -> Any:
        """PUT ``params`` as the body the operation takes."""

    def delete(self, __url: str, **params: Any) -> Any:
        """DELETE ``url``."""

    def resolve_url(self, url: str) -> str:
        """The absolute URL of a path."""


# -- walking pages ------------------------------------------------------------------------------


def check_page_size(value: object, name: str) -> None:
    """A ValueError unless ``value`` is None or a page size SoundCloud takes (1 to 200)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValueError(
            f"{name} is the page size, from 1 to {MAX_PAGE_SIZE}, not {value!r}; use max_items= to cap the total"
        )


def check_max_items(value: object) -> None:
    """A ValueError unless ``value`` is None or a count (0 or more)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"max_items must be 0 or more, not {value!r}")


def _pages(
    client: VerbClient, url: str, params: Dict[str, Any], options: Dict[str, Any]
) -> Iterator[Tuple[Union[Resource, ResourceList], ResourceList]]:
    """Each page of a collection (a Resource with ``collection``, or a ResourceList) and its
    items, fetched only when the previous one has been consumed."""
    page = client.get(url, **options, **params)
    fetched: Set[str] = {url}
    while True:
        next_url: Optional[str] = None
        if isinstance(page, ResourceList):
            items: ResourceList = page
        elif isinstance(page, Resource) and "collection" in page:
            items = page.collection
            next_url = page.next_href
        else:
            if isinstance(page, StreamResponse):
                page.close()
            raise TypeError(f"{redact_url(client.resolve_url(url))} did not answer with a collection or an array")
        yield page, items
        if len(items) == 0 or not next_url:
            return
        next_url = next_page_url(page.url, next_url)
        if next_url in fetched:
            raise SoundCloudError(f"pagination loop: next_href {redact_url(next_url)} was already fetched")
        fetched.add(next_url)
        page = client.get(next_url, **options)


def paginate(
    client: VerbClient,
    url: str,
    params: Dict[str, Any],
    max_items: Optional[int],
    timeout: Any,
    headers: Optional[Mapping[str, str]],
    retry: Optional[bool],
) -> Iterator[Any]:
    """``client.paginate``: the items of a collection across pages, as Resources.

    ``params["limit"]`` is the page size; the arguments are checked now, the first page is
    fetched on the first ``next()``.
    """
    check_page_size(params.get("limit"), "limit")
    check_max_items(max_items)
    params.setdefault("linked_partitioning", True)
    return _resources(client, url, params, max_items, {"timeout": timeout, "headers": headers, "retry": retry})


def _resources(
    client: VerbClient, url: str, params: Dict[str, Any], max_items: Optional[int], options: Dict[str, Any]
) -> Iterator[Any]:
    if max_items == 0:
        return
    count = 0
    for _, items in _pages(client, url, params, options):
        for item in items:
            yield item
            count += 1
            if max_items is not None and count >= max_items:
                return


class Pages(Iterator[T]):
    """The items of a collection as models, across pages: what a collection operation of the
    typed API returns (``client.tracks.search(q='ambient', page_size=100, max_items=500)``).

    An iterator (one pass): the first page is fetched on the first ``next()``, each later
    one (its predecessor's ``next_href``) only once the items before it have been read.
    ``page_size`` (1 to 200; SoundCloud's default is 50) is the ``limit`` of each page and
    ``max_items`` caps the total. ``next_href`` and ``future_href`` are those of the last
    page read (None before the first and on the last page; ``future_href`` is sent with
    activities).
    """

    def __init__(
        self,
        client: VerbClient,
        url: str,
        params: Mapping[str, Any],
        wrap: Callable[[Dict[str, Any]], T],
        page_size: Optional[int] = None,
        max_items: Optional[int] = None,
    ) -> None:
        check_page_size(page_size, "page_size")
        check_max_items(max_items)
        query = {name: value for name, value in params.items() if value is not None}
        query["linked_partitioning"] = True
        if page_size is not None:
            query["limit"] = page_size
        self.url = url
        self.page_size = page_size
        self.max_items = max_items
        #: The ``next_href`` of the last page read: where the next page is, or None.
        self.next_href: Optional[str] = None
        #: The ``future_href`` of the last page read (activities), or None.
        self.future_href: Optional[str] = None
        #: How many items have been read so far.
        self.count = 0
        self._wrap = wrap
        self._items = self._models(client, query)

    def _models(self, client: VerbClient, query: Dict[str, Any]) -> Iterator[T]:
        max_items = self.max_items
        if max_items == 0:
            return
        wrap = self._wrap
        for page, items in _pages(client, self.url, query, {}):
            if isinstance(page, Resource):
                self.next_href = page.next_href
                future = page.get("future_href")
                self.future_href = future if isinstance(future, str) and future else None
            else:
                self.next_href = self.future_href = None
            for item in items.items():
                if not isinstance(item, dict):
                    raise DecodeError(
                        f"an item of the collection is a JSON {type(item).__name__}, not an object",
                        method="GET",
                        url=page.url,
                    )
                self.count += 1
                yield wrap(item)
                if max_items is not None and self.count >= max_items:
                    return

    def __iter__(self) -> Pages[T]:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def __repr__(self) -> str:
        where = f", next_href={redact_url(self.next_href)!r}" if self.next_href else ""
        return f"<Pages of {self.url}: {self.count} read{where}>"


# -- arguments of the generated methods ------------------------------------------------------------


def path_id(value: Union[int, str, Model]) -> str:
    """A path segment from an id (``293``), a URN (``'soundcloud:tracks:293'``) or a model
    (its ``urn``, else its ``id``). The client sends a numeric id as its URN where the
    path takes URNs; anything else that cannot be one segment is refused here."""
    if isinstance(value, Model):
        urn = value.get("urn")
        if isinstance(urn, str) and urn:
            return _segment(urn)
        ident = value.get("id")
        if isinstance(ident, int) and not isinstance(ident, bool):
            return str(ident)
        raise ValueError(f"this {type(value).__name__} has no urn or id to name it by")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected an id (int), a URN (str) or a model, not {type(value).__name__}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"an id cannot be negative: {value}")
        return str(value)
    return _segment(value)


def _segment(text: str) -> str:
    if text in ("", ".", ".."):
        raise ValueError(f"{text!r} is not an id or a URN")
    # One segment whatever it holds: "/", "?" and "#" are escaped; ":" stays, as URNs go.
    return quote(text, safe=":")


def urn_list(values: Union[None, str, Sequence[Union[int, str, Model]]], kind: str) -> Any:
    """A comma-separated query list of URNs (``urns=``): ids, URNs and models as URNs of
    ``kind``; a str is sent as it is (already joined)."""
    if values is None or isinstance(values, str):
        return values
    return [_urn(value, kind) for value in values]


def urn_objects(values: Optional[Sequence[Union[int, str, Model]]], kind: str) -> Optional[List[Dict[str, str]]]:
    """``[{"urn": ...}, ...]`` (a playlist's ``tracks``) from ids, URNs and models; an empty
    sequence stays empty (it clears the list), None is left out."""
    if values is None:
        return None
    return [{"urn": _urn(value, kind)} for value in values]


def _urn(value: Union[int, str, Model], kind: str) -> str:
    if isinstance(value, Model):
        urn = value.get("urn")
        if isinstance(urn, str) and urn:
            return urn
        return to_urn(kind, value.get("id"))
    return to_urn(kind, value)


def text_list(values: Union[None, str, Sequence[str]]) -> Any:
    """A comma-separated query list (``genres=``, ``tags=``): a str as it is, else a list."""
    if values is None or isinstance(values, str):
        return values
    return list(values)


def deep_range(value: Optional[Tuple[Any, Any]], name: str) -> Optional[Dict[str, Any]]:
    """A ``(from, to)`` pair as the deepObject ``{"from": ..., "to": ...}`` (ends left None
    are not sent)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} is a (from, to) pair, either end None; not {value!r}")
    return {"from": value[0], "to": value[1]}


def file_value(value: Optional[FileValue], name: str) -> Optional[FileValue]:
    """``value`` if it is a file the multipart encoder sends as one; a TypeError for a str,
    which would go as text (pass ``pathlib.Path(path)``)."""
    if value is None:
        return None
    if isinstance(value, str) or not is_file_value(value):
        raise TypeError(
            f"{name} is a file: a binary file object, a pathlib.Path, bytes or a (filename, file) tuple,"
            f" not {type(value).__name__}"
        )
    return value


# -- answers ----------------------------------------------------------------------------------------


def json_object(result: Any, method: str) -> Dict[str, Any]:
    """The JSON object a ``method`` request answered (the dict a model wraps); DecodeError
    for anything else (an array, or a body that is not JSON)."""
    if isinstance(result, Resource):
        return result.fields()
    url = getattr(result, "url", "")
    if isinstance(result, StreamResponse):
        result.close()
        what = "a body that is not JSON"
    else:
        what = "a JSON array" if isinstance(result, ResourceList) else f"a {type(result).__name__}"
    raise DecodeError(f"expected a JSON object, got {what}", method=method, url=url if isinstance(url, str) else "")


def redirect_object(result: Any) -> Dict[str, Any]:
    """A redirect answer to a GET (``302 Found``, not followed) as the spec's Found: its JSON
    body, with ``location`` (the Location header) and ``status`` filled in when the body lacks them."""
    data = dict(json_object(result, "GET"))
    if "location" not in data and result.location is not None:
        data["location"] = result.location
    if "status" not in data:
        data["status"] = f"{result.status_code} - {result.reason}"
    return data


def resolve(client: VerbClient, url: str) -> Union[Track, User, Playlist]:
    """``client.resolve``: the track, user or playlist a soundcloud.com URL names (``GET
    /resolve``, whose 302 to the API resource the client follows)."""
    if not isinstance(url, str) or not url:
        raise TypeError(f"url must be a soundcloud.com URL (str), not {url!r}")
    result = client.get("/resolve", url=url)
    model = from_json(json_object(result, "GET"))
    if isinstance(model, (Track, User, Playlist)):
        return model
    raise DecodeError(
        f"resolving gave a {printable(repr(model.get('kind')))} object, not a track, user or playlist",
        method="GET",
        url=result.url,
    )
