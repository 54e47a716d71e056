"""Rate-limit values parsed on their own: a 429 body's ``reset_time`` in SoundCloud's layout
(``yyyy/MM/dd HH:mm:ss Z``), ISO 8601 or as a number, and the ``x-ratelimit-*`` headers as a
:class:`RateLimit`. A server controls all of them: odd values are ignored, nothing raises."""

from __future__ import annotations

import calendar
import math
import random
import time
from typing import Any, Optional

import pytest

from soundcloud._models import Headers, RateLimit, read_rate_limit, reset_time_seconds
from soundcloud.errors import TooManyRequestsError

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("2023/11/14 22:13:40 +0000", 20.0),  # SoundCloud's documented layout
        ("2023/11/14 23:13:40 +0100", 20.0),
        ("2023/11/14 17:13:40 -0500", 20.0),
        ("2023-11-14T22:13:40Z", 20.0),
        ("2023-11-14T22:13:40.5z", 20.5),
        ("2023-11-14T22:13:40+00:00", 20.0),
        ("2023-11-14 22:13:40", 20.0),  # no zone: UTC, as SoundCloud's times are
        (" 2023-11-14T22:13:40 UTC ", 20.0),
        ("2015/06/01 09:49:40 +0000", 0.0),  # past: no wait
        (NOW + 75, 75.0),  # epoch number
        (int(NOW) + 5, 5.0),
        ("%d" % (NOW + 9), 9.0),
        ("%.1f" % (NOW + 9.5), 9.5),
        (30, 30.0),  # small numbers are seconds, as in x-ratelimit-reset
        ("45", 45.0),
        (0, 0.0),
    ],
)
def test_reset_times_read(value: object, seconds: float) -> None:
    assert reset_time_seconds(value, now=NOW) == pytest.approx(seconds)


ODD = [
    None, True, False, [], {}, b"2023", -1, -0.5, math.nan, math.inf, -math.inf, 10 ** 20, 1e300,
    253_402_300_800,  # year 10000: no time a server meant (a milliseconds epoch lands past it)
    int(NOW * 1000),
    "", "soon", "1e5", "0x10", "-5", "\u0661\u0662", "9" * 400,
    "2023/13/14 22:13:40 +0000", "2023/02/29 00:00:00 +0000", "2023/11/31 00:00:00 +0000",
    "2023/11/14 24:00:00 +0000", "2023/11/14 22:60:00 +0000", "2023/11/14 22:13:61 +0000",
    "2023/11/14 22:13:40 +2400", "2023/11/14 22:13:40 +0060", "2023/11/14 22:13:40 0000",
    "2023/11/14 22:13:40 +00", "2023-11/14 22:13:40", "2023/11/14X22:13:40", "0000/01/01 00:00:00",
    "2023-11-14T22:13:40.", "2023-11-14T22:13:40.1234567890123", "2023-11-14T22:13:40 PST",
    "２０２３/11/14 22:13:40 +0000", "2023/11/14 22:13:40 +0000" + "0" * 20,
    "1969/12/31 23:59:59 +0000",  # before 1970: a negative time
]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_odd_reset_times_are_ignored(value: Any) -> None:
    assert reset_time_seconds(value, now=NOW) is None


def test_dates_agree_with_calendar() -> None:
    picker = random.Random(11)
    for _ in range(2000):
        moment = picker.randrange(0, 253_402_300_799)  # 1970 to the end of 9999
        parts = time.gmtime(moment)
        text = "%04d/%02d/%02d %02d:%02d:%02d +0000" % parts[:6]
        assert calendar.timegm(parts) == moment
        assert reset_time_seconds(text, now=float(moment) - 1.0) == 1.0, text


def test_leap_days() -> None:
    assert reset_time_seconds("2024/02/29 00:00:00 +0000", now=0.0) == calendar.timegm((2024, 2, 29, 0, 0, 0))
    assert reset_time_seconds("2000-02-29T00:00:00Z", now=0.0) == calendar.timegm((2000, 2, 29, 0, 0, 0))
    assert reset_time_seconds("2100-02-29T00:00:00Z", now=0.0) is None
    assert reset_time_seconds("2100-02-28T23:59:59Z", now=0.0) == calendar.timegm((2100, 2, 28, 23, 59, 59))


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"X-RateLimit-Limit": "15000", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "60"},
         RateLimit(15000, 3, 60.0)),
        ({"x-ratelimit-limit": "-1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},
         RateLimit(-1, 0, 0.0)),  # seen on SoundCloud (soundcloud/api issue 457)
        ({"x-ratelimit-reset": "%d" % (NOW + 30)}, RateLimit(None, None, 30.0)),
        ({"x-ratelimit-limit": "20, 20;w=60"}, RateLimit(20, None, None)),  # IETF draft form
        ({"x-ratelimit-limit": "100;w=3600"}, RateLimit(100, None, None)),
        ({"x-ratelimit-limit": "lots", "x-ratelimit-remaining": " 7 "}, RateLimit(None, 7, None)),
        ({"x-ratelimit-limit": "9" * 19, "x-ratelimit-remaining": "\u0661"}, None),
        ({"x-ratelimit-limit": "", "x-ratelimit-remaining": "-", "x-ratelimit-reset": "nan"}, None),
        ({"Retry-After": "5"}, None),
        ({}, None),
    ],
)
def test_rate_limit_headers(headers: Any, expected: Optional[RateLimit]) -> None:
    assert read_rate_limit(Headers(list(headers.items())), now=NOW) == expected
    assert read_rate_limit(headers, now=NOW) == expected  # any mapping


def test_rate_limit_value() -> None:
    limit = RateLimit(10, 2, 1.5)
    assert repr(limit) == "RateLimit(limit=10, remaining=2, reset=1.5)"
    assert limit != RateLimit(10, 2, None) and limit != (10, 2, 1.5)


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_a_429_with_an_odd_body_never_raises(value: Any) -> None:
    import json

    try:
        body = json.dumps({"errors": [{"meta": {"reset_time": value, "rate_limit": {"reset_time": value}}}]})
    except TypeError:  # bytes: not JSON
        body = '{"errors": [{"meta": {"reset_time": "x"}}]}'
    error = TooManyRequestsError(429, body=body.encode())
    assert error.retry_after is None
