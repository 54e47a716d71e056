"""The vocabulary every layer shares: Request, Timeout, Headers and Retry-After parsing.

Like httpx's models module, this sits at the bottom of the package: the client builds a
:class:`Request`, the transport sends it and answers with :class:`Headers`, and the errors
and the retry policy read ``Retry-After`` through :func:`retry_after_seconds`.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Final, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._redact import REDACTED, SECRET_HEADERS

__all__ = [
    "Body",
    "DEFAULT_TIMEOUT",
    "Headers",
    "Request",
    "Timeout",
    "as_timeout",
    "header_value",
    "retry_after_seconds",
]

Body = Union[None, bytes, Iterable[bytes]]

INFINITY: Final = float("inf")


class Timeout:
    """Connect and read timeouts in seconds, and an optional total deadline per request.

    ``Timeout(10)`` sets both connect and read to 10 s; ``Timeout(connect=3, read=30, total=60)``
    sets them apart. The default is ``Timeout(connect=10, read=30)``, with no total.
    """

    __slots__ = ("connect", "read", "total")

    def __init__(
        self,
        timeout: Optional[float] = None,
        *,
        connect: Optional[float] = None,
        read: Optional[float] = None,
        total: Optional[float] = None,
    ) -> None:
        default = 30.0 if timeout is None else float(timeout)
        self.connect = float(connect) if connect is not None else (
            min(default, 10.0) if timeout is None else default
        )
        self.read = float(read) if read is not None else default
        self.total = float(total) if total is not None else None
        for name, value in (("connect", self.connect), ("read", self.read), ("total", self.total)):
            if value is not None and not value > 0:
                raise ValueError(f"timeout {name} must be a positive number of seconds, not {value!r}")

    def __repr__(self) -> str:
        return f"Timeout(connect={self.connect}, read={self.read}, total={self.total})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeout):
            return NotImplemented
        return (self.connect, self.read, self.total) == (other.connect, other.read, other.total)


DEFAULT_TIMEOUT: Final = Timeout()


def as_timeout(value: Union[None, float, Timeout]) -> Timeout:
    """Accept seconds (int or float) or a Timeout."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or a Timeout, not {value!r}")
    return Timeout(value)


class Request:
    """One HTTP request as the transport sends it."""

    __slots__ = ("method", "url", "headers", "body", "timeout", "replayable", "retry")

    def __init__(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Body = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        replayable: bool = True,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        # False for streamed bodies: once iteration starts they cannot be sent again.
        self.replayable = replayable
        # None: retry idempotent methods only; True: retry this request even if it is a POST;
        # False: never send it twice.
        self.retry: Optional[bool] = None


class Headers(Mapping[str, str]):
    """Response headers: a read-only, case-insensitive mapping (repeated headers joined by ``, ``)."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: Sequence[Tuple[str, str]] = ()) -> None:
        self._items: List[Tuple[str, str]] = list(items)
        self._index: Optional[Dict[str, str]] = None

    def _lookup(self) -> Dict[str, str]:
        index = self._index
        if index is None:
            index = {}
            for key, value in self._items:
                lower = key.lower()
                previous = index.get(lower)
                index[lower] = value if previous is None else previous + ", " + value
            self._index = index
        return index

    def __getitem__(self, key: str) -> str:
        return self._lookup()[key.lower()]

    def get_value(self, key: str) -> Optional[str]:
        """The header's value, or None (a typed ``get``)."""
        index = self._index
        if index is not None:
            return index.get(key.lower())
        # Reading one or two headers of a response is the common case: scan instead of
        # lower-casing every name into an index. Lengths differ for most names, so few
        # of them are lower-cased at all.
        wanted = key.lower()
        size = len(wanted)
        found: Optional[str] = None
        for name, value in self._items:
            if len(name) == size and name.lower() == wanted:
                found = value if found is None else found + ", " + value
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        seen: Dict[str, None] = {}
        for key, _ in self._items:
            if key.lower() not in seen:
                seen[key.lower()] = None
                yield key

    def __len__(self) -> int:
        return len(self._lookup())

    def raw_items(self) -> List[Tuple[str, str]]:
        """Every header line as received, in order, repeated names included."""
        return list(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._lookup() == other._lookup()
        if isinstance(other, Mapping):
            return self._lookup() == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    def __repr__(self) -> str:
        shown = {key: (REDACTED if key.lower() in SECRET_HEADERS else value)
                 for key, value in self._items}
        return f"Headers({shown!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Headers, (self._items,))


def header_value(headers: Mapping[str, str], name: str) -> Optional[str]:
    """The value of header ``name`` (lower-case) in any mapping, matched case-insensitively."""
    if isinstance(headers, Headers):
        return headers.get_value(name)
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def retry_after_seconds(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from ``Retry-After`` (delta or HTTP date) or ``x-ratelimit-reset``.

    A value that is not a plain number, or not a finite one, counts as absent (None): a
    server controls these headers, so reading them never raises.
    """
    value = header_value(headers, "retry-after")
    if value is not None:
        value = value.strip()
        # RFC 9110 section 10.2.3: delay-seconds = 1*DIGIT, ASCII digits only (str.isdigit()
        # alone also takes "²", which float() refuses).
        if value.isascii() and value.isdigit():
            seconds = _finite(value)
            if seconds is not None:
                return seconds
        else:
            when = _http_date(value)
            if when is not None:
                current = time.time() if now is None else now
                return max(0.0, when - current)
    reset = header_value(headers, "x-ratelimit-reset")
    if reset is not None:
        # Seen both as an epoch timestamp and as seconds to wait, with an optional fraction.
        reset = reset.strip()
        if not (reset.isascii() and reset.replace(".", "", 1).isdigit()):
            return None
        number = _finite(reset)
        if number is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, number - current) if number > 1_000_000_000 else number
    return None


def _finite(digits: str) -> Optional[float]:
    """``digits`` (ASCII digits, maybe one ".") as a float, or None when it is not finite."""
    number = float(digits)  # float(), unlike int(), has no digit limit: a long one is inf
    return number if number != INFINITY else None


def _http_date(value: str) -> Optional[float]:
    """An HTTP date as a POSIX timestamp, or None for anything else (RFC 9110 section 5.6.7)."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        # A date out of datetime's range or with an absurd zone offset overflows.
        return None
