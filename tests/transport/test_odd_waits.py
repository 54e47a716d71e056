"""Odd waits a real server asks for on a 429: ``Retry-After: ²`` (which ``str.isdigit`` takes),
a number too long to read, ``x-ratelimit-reset: Infinity``, ``NaN`` or ``1e400``. Each is
ignored as if absent: the ordinary backoff applies, and the client's error carries no
``retry_after``; never an OverflowError or ValueError from the package."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import soundcloud

from support.faults import FaultServer
from support.framing import head, raw_answer
from support.transport_calls import fetch

ODD_FIELDS = [
    "Retry-After: \xb2",
    "Retry-After: " + "9" * 5000,
    "Retry-After: 1e400",
    "x-ratelimit-reset: Infinity",
    "x-ratelimit-reset: NaN",
    "x-ratelimit-reset: 1e400",
    "x-ratelimit-reset: " + "9" * 400,
]
IDS = ["superscript", "5000-digits", "1e400", "reset-infinity", "reset-nan", "reset-1e400", "reset-400-digits"]


def _limited(field: str) -> Any:
    body = b'{"code": 429, "message": "429 - Too Many Requests"}'
    fields = (field, "Content-Type: application/json", "Content-Length: %d" % len(body))
    return raw_answer(head("HTTP/1.1 429 Too Many Requests", *fields) + body)


@pytest.mark.parametrize("field", ODD_FIELDS, ids=IDS)
def test_an_odd_wait_falls_back_to_the_backoff(make_transport: Any, fault_server: FaultServer, field: str) -> None:
    transport, waits = make_transport()
    fault_server.enqueue(_limited(field), "json")
    status, _, retries = fetch(transport, "GET", fault_server.url + "/limited")
    assert (status, retries) == (200, 1)
    assert waits.waits == [0.375]  # backoff_factor 0.5 with the fixed jitter, not the server's wait


@pytest.mark.parametrize("field", ODD_FIELDS, ids=IDS)
def test_the_client_error_of_an_odd_wait_has_no_retry_after(
    client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, field: str
) -> None:
    client = client_factory(max_retries=0)
    fault_server.enqueue(_limited(field))
    with pytest.raises(soundcloud.TooManyRequestsError) as caught:
        client.get("/limited")
    assert caught.value.retry_after is None
