"""Odd numbers in ``Retry-After`` and ``x-ratelimit-reset``, parsed on their own: only ASCII
digits count (RFC 9110 section 10.2.3: delay-seconds = 1*DIGIT), anything non-finite or
unreadable is ignored as if absent, and nothing ever raises (no OverflowError, ValueError or
TypeError from a header a server controls)."""

from __future__ import annotations

import math
from typing import Optional

import pytest

from soundcloud._models import Headers, retry_after_seconds
from soundcloud.errors import TooManyRequestsError
from soundcloud.transport import Retry

NOW = 1_700_000_000.0

ODD_RETRY_AFTER = [
    "\xb2",  # superscript two: str.isdigit() says yes, float() says no
    "\u0661\u0662",  # Arabic-Indic digits: float() would read 12
    "1e400",
    "9" * 400,  # float() makes it inf
    "9" * 5000,  # past int()'s digit limit
    "nan",
    "inf",
    "-inf",
    "-1",
    "+5",
    "1_0",
    "0x10",
    "1.5",
    "",
    "   ",
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Mon, 01 Jan 2024 00:00:00 +99999999999999",
    "Mon, 01 Jan 0000 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 -9999",
]


def _finite_or_none(value: Optional[float]) -> bool:
    return value is None or (math.isfinite(value) and value >= 0)


@pytest.mark.parametrize("value", ODD_RETRY_AFTER)
def test_odd_retry_after_values_never_raise_and_never_give_a_non_finite_wait(value: str) -> None:
    assert _finite_or_none(retry_after_seconds({"Retry-After": value}, now=NOW))
    assert _finite_or_none(Retry().wait_for(Headers([("Retry-After", value)]), 503))


@pytest.mark.parametrize(
    "value", ["\xb2", "\u0661\u0662", "1e400", "9" * 400, "9" * 5000, "nan", "inf", "-1", "+5", "1_0", "0x10", "1.5"]
)
def test_only_ascii_digits_are_delay_seconds(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}, now=NOW) is None


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "Infinity", "inf", "-inf", "1e400", "9" * 400, "9" * 5000, "\u0661\u0662", "\xb2", "1_0", "0x10",
     "-5", "+5", "1.2.3", "", "."],
)
def test_odd_ratelimit_resets_are_ignored(value: str) -> None:
    assert retry_after_seconds({"x-ratelimit-reset": value}, now=NOW) is None
    assert Retry().wait_for({"x-ratelimit-reset": value}, 429) is None


def test_ordinary_values_still_count() -> None:
    assert retry_after_seconds({"Retry-After": " 7 "}, now=NOW) == 7.0
    assert retry_after_seconds({"Retry-After": "0"}, now=NOW) == 0.0
    assert retry_after_seconds({"Retry-After": "007"}, now=NOW) == 7.0
    assert retry_after_seconds({"x-ratelimit-reset": "20"}, now=NOW) == 20.0
    assert retry_after_seconds({"x-ratelimit-reset": "2.5"}, now=NOW) == 2.5
    assert retry_after_seconds({"x-ratelimit-reset": str(int(NOW) + 30)}, now=NOW) == 30.0
    # An odd Retry-After falls through to x-ratelimit-reset, as an absent one does.
    assert retry_after_seconds({"Retry-After": "\xb2", "x-ratelimit-reset": "9"}, now=NOW) == 9.0


@pytest.mark.parametrize("value", ["\xb2", "1e400", "9" * 5000, "Infinity"])
def test_the_error_of_a_429_with_an_odd_wait_has_no_retry_after(value: str) -> None:
    headers = Headers([("Retry-After", value), ("x-ratelimit-reset", value)])
    error = TooManyRequestsError(429, reason="Too Many Requests", headers=headers, body=b"{}")
    assert error.retry_after is None
