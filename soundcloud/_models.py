"""The vocabulary every layer shares: Request, Timeout, Headers, Retry-After and rate limits.

Like httpx's models module, this sits at the bottom of the package: the client builds a
:class:`Request`, the transport sends it and answers with :class:`Headers`, and the errors
and the retry policy read ``Retry-After`` through :func:`retry_after_seconds`. Responses
and errors describe the ``x-ratelimit-*`` headers as a :class:`RateLimit`
(:func:`read_rate_limit`); a 429 body's ``reset_time`` is read by :func:`reset_time_seconds`.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Final, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._redact import REDACTED, SECRET_HEADERS

__all__ = [
    "Body",
    "DEFAULT_TIMEOUT",
    "Headers",
    "RateLimit",
    "Request",
    "Timeout",
    "as_timeout",
    "header_value",
    "ratelimit_reset_seconds",
    "read_rate_limit",
    "reset_time_seconds",
    "retry_after_header",
    "retry_after_seconds",
]

Body = Union[None, bytes, Iterable[bytes]]

INFINITY: Final = float("inf")
# A reset time above this (10**9 s, September 2001) is a POSIX time, below it seconds to wait.
EPOCH_THRESHOLD: Final = 1_000_000_000
# The end of year 9999: a reset time at or past it is no time a server meant (a value in
# milliseconds lands here too), and is ignored.
LATEST_TIME: Final = 253_402_300_800.0


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
    seconds = retry_after_header(headers, now)
    return seconds if seconds is not None else ratelimit_reset_seconds(headers, now)


def retry_after_header(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from ``Retry-After`` alone (delta-seconds or an HTTP date), or None."""
    value = header_value(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    # RFC 9110 section 10.2.3: delay-seconds = 1*DIGIT, ASCII digits only (str.isdigit()
    # alone also takes "²", which float() refuses).
    if value.isascii() and value.isdigit():
        return _finite(value)
    when = _http_date(value)
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when - current)


def ratelimit_reset_seconds(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds until the window of ``x-ratelimit-reset`` resets, or None.

    Seen both as an epoch timestamp and as seconds to wait, with an optional fraction: a
    number above 10**9 (September 2001) is read as a time, a smaller one as seconds.
    """
    reset = header_value(headers, "x-ratelimit-reset")
    if reset is None:
        return None
    reset = reset.strip()
    if not (reset.isascii() and reset.replace(".", "", 1).isdigit()):
        return None
    number = _finite(reset)
    if number is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, number - current) if number > EPOCH_THRESHOLD else number


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


# -- rate limits ------------------------------------------------------------------------------


class RateLimit:
    """What a response's ``x-ratelimit-*`` headers said: ``limit`` and ``remaining`` (request
    counts, as sent: SoundCloud has sent ``-1``) and ``reset``, the seconds from the response
    until the window resets. Each is None when its header is absent or not a number.

    SoundCloud does not document these headers; they have been seen on its answers::

        page = client.get('/tracks', q='ambient')
        if page.rate_limit is not None and page.rate_limit.remaining == 0:
            time.sleep(page.rate_limit.reset or 60)
    """

    __slots__ = ("limit", "remaining", "reset")

    def __init__(self, limit: Optional[int], remaining: Optional[int], reset: Optional[float]) -> None:
        self.limit = limit
        self.remaining = remaining
        self.reset = reset

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RateLimit):
            return NotImplemented
        return (self.limit, self.remaining, self.reset) == (other.limit, other.remaining, other.reset)

    def __repr__(self) -> str:
        return f"RateLimit(limit={self.limit}, remaining={self.remaining}, reset={self.reset})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (RateLimit, (self.limit, self.remaining, self.reset))


def read_rate_limit(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[RateLimit]:
    """The :class:`RateLimit` of ``x-ratelimit-limit``, ``-remaining`` and ``-reset``; None
    when none of them is there as a number. Never raises: a server controls these values."""
    limit = _count(header_value(headers, "x-ratelimit-limit"))
    remaining = _count(header_value(headers, "x-ratelimit-remaining"))
    reset = ratelimit_reset_seconds(headers, now)
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit, remaining, reset)


def _count(value: Optional[str]) -> Optional[int]:
    """A request count: an integer (maybe negative), the first item of a list (the IETF
    RateLimit draft's ``20, 20;w=60`` form), or None."""
    if value is None:
        return None
    for separator in (",", ";"):
        value = value.split(separator, 1)[0]
    value = value.strip()
    digits = value[1:] if value.startswith("-") else value
    # 18 digits fit a 64-bit int: anything longer is no count a server meant.
    if not (0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()):
        return None
    return int(value)


def reset_time_seconds(value: object, now: Optional[float] = None) -> Optional[float]:
    """Seconds until ``value``, a rate limit's ``reset_time`` from a 429 body, or None.

    SoundCloud documents ``yyyy/MM/dd HH:mm:ss Z`` ("2015/06/01 09:49:40 +0000", its rate
    limits page); ISO 8601 (``2015-06-01T09:49:40Z``) and numbers are read too: above
    :data:`EPOCH_THRESHOLD` a POSIX time, below it seconds to wait (as ``x-ratelimit-reset``
    is read). Anything else, a time past year 9999 included, is None; never raises.
    """
    current = time.time() if now is None else now
    when: Optional[float] = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.replace(".", "", 1).isdigit() and len(text) <= 32:
            number = float(text)
        else:
            when = _timestamp(text)
            if when is None:
                return None
            number = when
    else:
        return None
    if not 0.0 <= number < LATEST_TIME:  # also refuses NaN
        return None
    if when is None and number <= EPOCH_THRESHOLD:
        return number
    return max(0.0, number - current)


def _timestamp(text: str) -> Optional[float]:
    """A POSIX time from ``yyyy/MM/dd HH:mm:ss Z`` or ISO 8601 ``yyyy-mm-ddThh:mm:ss[.f]``
    with ``Z``, ``+hh:mm``, ``+hhmm`` or no zone (read as UTC, as SoundCloud's times are);
    None for anything else. By hand: datetime is not loaded by ``import soundcloud``."""
    if not 19 <= len(text) <= 40 or not text.isascii():
        return None
    separator = text[4]
    if separator not in "-/" or text[7] != separator or text[10] not in "Tt " or text[13] != ":" or text[16] != ":":
        return None
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not digits.isdigit():
        return None
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
    rest = text[19:]
    fraction = 0.0
    if rest.startswith(".") or rest.startswith(","):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        if end == 1 or end > 10:
            return None
        fraction = float("0." + rest[1:end])
        rest = rest[end:]
    rest = rest.strip()
    offset = 0
    if rest not in ("", "Z", "z", "UTC", "GMT"):
        sign = rest[0]
        digits = rest[1:].replace(":", "", 1)
        if sign not in "+-" or len(digits) != 4 or not digits.isdigit():
            return None
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 3600 + minutes * 60) * (-1 if sign == "-" else 1)
    if not (1 <= year and 1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second (RFC 3339 section 5.6)
        return None
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return seconds + fraction - offset


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    year -= 1 if month <= 2 else 0
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
