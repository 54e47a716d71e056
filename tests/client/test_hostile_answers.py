"""Answers a hostile or broken server can give, over loopback, and the errors they become:
JSON nested 200,000 levels deep (a DecodeError for a body; for an error body the status
error, with the raw body kept), a Location or next_href that is not a usable URL (a bad
port, an unclosed IPv6 literal, control characters: RedirectError and DecodeError, never
a bare ValueError), a next_href from an https page to plain http (refused like a
redirect), and control characters in reason phrases and error messages (escaped in
``str(error)``, kept raw on the error)."""

from __future__ import annotations

import json
import pickle
from typing import Any, Iterator, List

import pytest

import soundcloud

from support.clients import TIMEOUT, opened
from support.request_server import FaultContext, RequestServer
from support.tls import TLSServer
from support.wire import WireRequest

DEEP = 200_000
DEEP_JSON = b"[" * DEEP + b"]" * DEEP
# OSC 52 (write the clipboard), a CSI sequence, a bell and C1 controls.
NASTY = "\x1b]52;c;cHduZWQ=\x07 \x1b[2J \x9b31m \x85 \x00 \r\n\t\x7f done"
CONTROLS = [chr(c) for c in list(range(0x20)) + list(range(0x7F, 0xA0))]


def served(answer: Any) -> Iterator[RequestServer]:
    with RequestServer(answer) as server:
        yield server


def client_of(server: RequestServer, **kwargs: Any) -> soundcloud.Client:
    kwargs.setdefault("client_id", "cid")
    return opened(soundcloud.Client(api_url=server.url, timeout=TIMEOUT, **kwargs))


def no_controls(text: str) -> bool:
    return not any(c in text for c in CONTROLS)


# -- deep JSON -----------------------------------------------------------------------------


def test_deeply_nested_json_body_is_a_decode_error() -> None:
    answer = lambda ctx: ctx.respond(200, DEEP_JSON, [("Content-Type", "application/json")])  # noqa: E731
    for server in served(answer):
        client = client_of(server)
        with pytest.raises(soundcloud.DecodeError, match="nested too deeply") as caught:
            client.get("/deep")
        assert isinstance(caught.value, ValueError)
        assert caught.value.body == DEEP_JSON[: len(caught.value.body)]


@pytest.mark.parametrize("status, error", [(404, soundcloud.NotFoundError), (500, soundcloud.ServerError)])
def test_deeply_nested_json_error_body_keeps_the_status_error(status: int, error: type) -> None:
    answer = lambda ctx: ctx.respond(status, DEEP_JSON, [("Content-Type", "application/json")])  # noqa: E731
    for server in served(answer):
        client = client_of(server, max_retries=0)
        with pytest.raises(error) as caught:
            client.get("/deep")
        assert caught.value.status_code == status
        assert caught.value.body.startswith(b"[[[[") and caught.value.message == ""
        copy = pickle.loads(pickle.dumps(caught.value))
        assert copy.status_code == status and copy.body == caught.value.body


def test_a_nested_but_decodable_body_is_still_served() -> None:
    doc = {"a": [[[[{"b": 1}]]]]}
    answer = lambda ctx: ctx.respond_json(200, doc)  # noqa: E731
    for server in served(answer):
        assert client_of(server).get("/x").fields() == doc


# -- Location and next_href --------------------------------------------------------------------

BAD_URLS = [":99999/x", "[::1/x"]


@pytest.mark.parametrize("suffix", BAD_URLS, ids=["port", "ipv6"])
def test_a_bad_location_is_a_redirect_error(suffix: str) -> None:
    def answer(ctx: FaultContext) -> bool:
        host = "http://127.0.0.1" if suffix.startswith(":") else "http://"
        return ctx.respond(302, b"", [("Location", host + suffix)])

    for server in served(answer):
        with pytest.raises(soundcloud.RedirectError, match="invalid URL") as caught:
            client_of(server).get("/start")
        assert no_controls(str(caught.value))


def test_a_location_with_control_characters_is_a_redirect_error() -> None:
    answer = lambda ctx: ctx.respond(302, b"", [("Location", "/next\x1b]52;c;x\x07")])  # noqa: E731
    for server in served(answer):
        with pytest.raises(soundcloud.RedirectError) as caught:
            client_of(server).get("/start")
        assert no_controls(str(caught.value))
        assert server.count() == 1


def test_spaces_and_non_ascii_in_a_location_are_percent_encoded() -> None:
    def answer(ctx: FaultContext) -> bool:
        if ctx.request.path == "/start":
            # The header's bytes are latin-1 on the wire: 0xe9 is sent as is.
            return ctx.respond(302, b"", [("Location", "/next step/\u00e9")])
        return ctx.respond_json(200, {"path": ctx.request.target})

    for server in served(answer):
        assert client_of(server).get("/start")["path"].startswith("/next%20step/%E9")


def paged(next_href: str) -> Any:
    def answer(ctx: FaultContext) -> bool:
        if ctx.request.path == "/tracks":
            return ctx.respond_json(200, {"collection": [{"id": 1}], "next_href": next_href})
        return ctx.respond_json(200, {"collection": [{"id": 2}], "next_href": None})

    return answer


@pytest.mark.parametrize(
    "next_href",
    ["http://127.0.0.1:99999/tracks?page=2", "http://[::1/tracks?page=2", "ftp://127.0.0.1/x", "http://:80/x",
     "http://127.0.0.1/x\x1b[2J"],
    ids=["port", "ipv6", "scheme", "no-host", "controls"],
)
def test_a_bad_next_href_is_a_decode_error(next_href: str) -> None:
    for server in served(paged(next_href)):
        items = client_of(server).paginate("/tracks", limit=1)
        assert next(items)["id"] == 1
        with pytest.raises(soundcloud.DecodeError, match="next_href") as caught:
            next(items)
        assert no_controls(str(caught.value))
        assert server.count() == 1


def test_a_relative_next_href_is_followed_on_the_same_origin() -> None:
    for server in served(paged("/tracks2?page=2")):
        assert [t["id"] for t in client_of(server).paginate("/tracks", limit=1)] == [1, 2]
        assert [r.path for r in server.requests] == ["/tracks", "/tracks2"]


def test_non_ascii_in_a_next_href_is_sent_as_utf_8() -> None:
    for server in served(paged("/tracks2?q=caf\u00e9 au lait")):
        assert [t["id"] for t in client_of(server).paginate("/tracks", limit=1)] == [1, 2]
        assert server.requests[1].target.startswith("/tracks2?q=caf%C3%A9%20au%20lait")


@pytest.fixture
def tls_pages(tls_ca: Any) -> Iterator[TLSServer]:
    def first(request: WireRequest) -> Any:
        page = {"collection": [{"id": 1}], "next_href": plain_url[0] + "/tracks?page=2"}
        return 200, [("Content-Type", "application/json")], json.dumps(page).encode()

    plain_url: List[str] = []
    with TLSServer(ca=tls_ca, routes={"/tracks": first}) as server:
        plain = RequestServer(lambda ctx: ctx.respond_json(200, {"collection": [], "next_href": None}))
        with plain:
            plain_url.append(plain.url)
            server.plain = plain  # type: ignore[attr-defined]
            yield server


def test_a_next_href_from_https_to_http_is_refused(tls_pages: Any) -> None:
    client = opened(soundcloud.Client(access_token="t0ken", api_url=tls_pages.url,
                                      verify_ssl=tls_pages.ca_path, timeout=TIMEOUT))
    items = client.paginate("/tracks", limit=1)
    assert next(items)["id"] == 1
    with pytest.raises(soundcloud.InsecureRedirectError, match="plain http"):
        next(items)
    assert tls_pages.plain.requests == []


# -- control characters ----------------------------------------------------------------------


def test_control_characters_in_an_error_message_are_escaped() -> None:
    body = json.dumps({"errors": [{"error_message": NASTY}], "message": NASTY}).encode()
    answer = lambda ctx: ctx.respond(404, body, [("Content-Type", "application/json")])  # noqa: E731
    for server in served(answer):
        with pytest.raises(soundcloud.NotFoundError) as caught:
            client_of(server).get("/x")
        error = caught.value
        assert no_controls(str(error)) and no_controls(error.message)
        assert "\\x1b]52;c;cHduZWQ=\\x07" in str(error) and "done" in str(error)
        assert error.errors == [NASTY] and error.body == body
        assert no_controls(str(pickle.loads(pickle.dumps(error))))


def test_control_characters_in_a_reason_phrase_are_escaped() -> None:
    reason = "Nope \x1b]52;c;cHduZWQ=\x07\x9b2J"
    answer = lambda ctx: ctx.respond(403, b"<html></html>", [("Content-Type", "text/html")], reason=reason)  # noqa: E731
    for server in served(answer):
        with pytest.raises(soundcloud.ForbiddenError) as caught:
            client_of(server).get("/x")
        assert no_controls(str(caught.value)) and "Nope" in str(caught.value)
        assert caught.value.reason == reason


def test_control_characters_in_an_oauth_error_are_escaped() -> None:
    error = soundcloud.InvalidGrantError("refused: " + NASTY, error_description=NASTY)
    assert no_controls(str(error)) and error.error_description == NASTY
