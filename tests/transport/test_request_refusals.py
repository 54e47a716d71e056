"""Requests the transport refuses to write, against a real server that counts what arrives: a
header value with a line break, a NUL, obsolete line folding or a character outside Latin-1,
an invalid header name, a URL with a space, a control character or a character outside
ASCII. Each is a plain ValueError that says what was wrong and names the header, never
showing its value or the URL's secrets (nor in a chained cause), and nothing is sent."""

from __future__ import annotations

import traceback
from typing import Any, Dict

import pytest

import soundcloud

from support.faults import FaultServer
from support.transport_calls import fetch, send

SECRET = "s3cr3t-t0ken-never-shown"


def _all_text(error: BaseException) -> str:
    """The error as a traceback prints it, chained causes and contexts included, and its repr."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__)) + repr(error)


@pytest.mark.parametrize(
    "headers, says",
    [
        ({"Authorization": "OAuth " + SECRET + "\n"}, "'Authorization' has a line break"),
        ({"Authorization": "OAuth " + SECRET + "\r\nX-Injected: 1"}, "'Authorization' has a line break"),
        ({"X-Token": SECRET + "\x00"}, "'X-Token' has a NUL"),
        ({"X-Token": SECRET + "\r\n folded"}, "'X-Token' has a line break"),
        ({"X-Token": "a\n\tb" + SECRET}, "'X-Token' has a line break"),
        ({"X-Token": SECRET + "\r"}, "'X-Token' has a line break"),
        ({"X-Token": SECRET + "\u2019"}, "'X-Token' has a character outside Latin-1"),
        ({"X-Token\r\nX-Injected": SECRET}, "a header name"),
        ({"X Token:" + SECRET: "v"}, "a header name"),
    ],
    ids=["lf", "crlf-injection", "nul", "fold-space", "fold-tab", "cr", "not-latin-1", "name-crlf", "name-colon"],
)
def test_a_header_that_cannot_be_sent_is_a_value_error_naming_it_without_its_value(
    make_transport: Any, fault_server: FaultServer, headers: Dict[str, str], says: str
) -> None:
    transport, waits = make_transport()
    with pytest.raises(ValueError) as caught:
        send(transport, "GET", fault_server.url + "/json", headers=headers)
    error = caught.value
    assert says in str(error)
    assert SECRET not in _all_text(error)
    assert not isinstance(error, soundcloud.SoundCloudError)
    assert fault_server.count() == 0  # nothing went out
    assert waits.waits == []
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200


@pytest.mark.parametrize(
    "suffix, says",
    [
        ("/me?access_token=" + SECRET + " x", "a space or a control character"),
        ("/me?access_token=" + SECRET + "\n", "a space or a control character"),
        ("/me?access_token=" + SECRET + "\x7f", "a space or a control character"),
        ("/caf\u00e9?access_token=" + SECRET, "outside ASCII"),
    ],
    ids=["space", "line-break", "del", "not-ascii"],
)
def test_a_url_that_cannot_be_sent_is_a_value_error_without_its_secrets(
    make_transport: Any, fault_server: FaultServer, suffix: str, says: str
) -> None:
    transport, _ = make_transport()
    with pytest.raises(ValueError) as caught:
        send(transport, "GET", fault_server.url + suffix)
    assert says in str(caught.value)
    assert SECRET not in _all_text(caught.value)
    assert fault_server.count() == 0


def test_the_client_reports_a_header_with_a_line_break_without_showing_it(
    fault_server: FaultServer, make_transport: Any
) -> None:
    transport, _ = make_transport()
    client = soundcloud.Client(access_token="token", api_url=fault_server.url, transport=transport)
    with pytest.raises(ValueError, match="'X-Token' has a line break") as caught:
        client.get("/json", headers={"X-Token": SECRET + "\r\n\tfolded"})
    assert SECRET not in _all_text(caught.value)
    assert fault_server.count() == 0


@pytest.mark.parametrize("cached", [False, True], ids=["new-route", "cached-route"])
def test_a_url_is_refused_the_same_way_whether_its_route_is_cached_or_not(
    make_transport: Any, fault_server: FaultServer, cached: bool
) -> None:
    transport, _ = make_transport()
    if cached:
        assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    with pytest.raises(ValueError, match="a space or a control character") as caught:
        send(transport, "GET", fault_server.url + "/me?access_token=" + SECRET + "\n")
    assert SECRET not in _all_text(caught.value)
    assert fault_server.count("/me") == 0
