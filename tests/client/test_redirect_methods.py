"""Which methods follow which redirects, seen on loopback servers that record every request:
301, 302, 307 and 308 are followed for GET, HEAD, PUT, DELETE (and OPTIONS); PUT and DELETE
keep their method and replayable body; a streamed upload is not replayed (the redirect comes
back with ``.location``); POST and PATCH are never followed; 303 is followed for GET and HEAD
only. Every hop obeys the rules GET has: credentials never cross origins, no https to http,
at most 10 hops, loops named, and the caller's ``retry`` choice holds on every hop."""

from __future__ import annotations

import io
from typing import Any, Dict, Iterator
from urllib.parse import quote

import pytest

import soundcloud
from soundcloud.transport import HTTPTransport

from support.clients import TIMEOUT, opened
from support.request_server import FaultContext, RequestServer

FOLLOWED = [301, 302, 307, 308]


def router(ctx: FaultContext) -> bool:
    """``/hop?code=307&to=URL`` redirects; anything else answers 200 with the method."""
    request = ctx.request
    if request.path == "/hop":
        return ctx.respond(int(ctx.param("code", "307")), b"", [("Location", ctx.param("to", "/landed"))])
    return ctx.respond_json(200, {"method": request.method, "path": request.path})


@pytest.fixture
def api() -> Iterator[RequestServer]:
    with RequestServer(router) as server:
        yield server


@pytest.fixture
def other() -> Iterator[RequestServer]:
    """Another origin (a CDN, say)."""
    with RequestServer(router) as server:
        yield server


def client_of(server: Any, **kwargs: Any) -> soundcloud.Client:
    kwargs.setdefault("access_token", "t0ken")
    return opened(soundcloud.Client(api_url=server.url, timeout=TIMEOUT, **kwargs))


def hop(code: int, to: str = "/landed") -> str:
    return f"/hop?code={code}&to={quote(to, safe='')}"


@pytest.mark.parametrize("code", FOLLOWED)
def test_put_follows_with_its_method_and_body(api: RequestServer, code: int) -> None:
    result = client_of(api).put(hop(code), user={"description": "new"})
    assert result.status_code == 200 and result["method"] == "PUT"
    first, second = api.requests
    assert (second.method, second.path) == ("PUT", "/landed")
    assert second.body == first.body == b"user%5Bdescription%5D=new"
    assert second.headers["content-type"] == "application/x-www-form-urlencoded"
    assert second.headers["content-length"] == str(len(first.body))
    assert second.headers["authorization"] == "OAuth t0ken"  # same origin: kept


@pytest.mark.parametrize("code", FOLLOWED)
def test_delete_follows_with_its_method(api: RequestServer, code: int) -> None:
    result = client_of(api).delete(hop(code))
    assert result["method"] == "DELETE"
    assert [(r.method, r.path) for r in api.requests] == [("DELETE", "/hop"), ("DELETE", "/landed")]


def test_a_json_body_follows_a_put(api: RequestServer) -> None:
    client_of(api).put(hop(308), json={"track": {"title": "x"}})
    first, second = api.requests
    assert second.method == "PUT" and second.body == first.body == b'{"track":{"title":"x"}}'
    assert second.headers["content-type"] == "application/json"


def test_options_follows(api: RequestServer) -> None:
    # No verb of its own: sent through the request path the verbs share.
    client = client_of(api)
    result = client._request("OPTIONS", hop(307), {}, None, True, TIMEOUT, None, None, None, None)
    assert result["method"] == "OPTIONS" and [r.path for r in api.requests] == ["/hop", "/landed"]


def test_a_streamed_upload_is_not_replayed(api: RequestServer) -> None:
    result = client_of(api).put(hop(307), track={"asset_data": ("a.mp3", io.BytesIO(b"ID3 audio"))})
    assert result.status_code == 307
    assert result.location == "/landed"
    assert [r.path for r in api.requests] == ["/hop"]


@pytest.mark.parametrize("verb", ["post", "patch"])
@pytest.mark.parametrize("code", FOLLOWED + [303])
def test_post_and_patch_are_not_followed(api: RequestServer, verb: str, code: int) -> None:
    result = getattr(client_of(api), verb)(hop(code), a="1")
    assert result.status_code == code and result.location == "/landed"
    assert [r.path for r in api.requests] == ["/hop"]


@pytest.mark.parametrize("verb", ["put", "delete"])
def test_303_is_returned_to_put_and_delete(api: RequestServer, verb: str) -> None:
    result = getattr(client_of(api), verb)(hop(303))
    assert result.status_code == 303 and result.location == "/landed"
    assert [r.path for r in api.requests] == ["/hop"]


@pytest.mark.parametrize("verb", ["get", "head"])
def test_303_is_followed_by_get_and_head(api: RequestServer, verb: str) -> None:
    result = getattr(client_of(api), verb)(hop(303))
    assert result.status_code == 200
    assert [(r.method, r.path) for r in api.requests] == [(verb.upper(), "/hop"), (verb.upper(), "/landed")]


def test_allow_redirects_false_returns_the_put_redirect(api: RequestServer) -> None:
    result = client_of(api).put(hop(308), allow_redirects=False)
    assert result.status_code == 308 and result.location == "/landed"
    assert len(api.requests) == 1


@pytest.mark.parametrize("verb", ["put", "delete"])
def test_credentials_do_not_cross_origins(api: RequestServer, other: RequestServer, verb: str) -> None:
    headers = {"cookie": "session=1", "X-Kept": "yes"}
    result = getattr(client_of(api), verb)(hop(307, other.url + "/landed"), headers=headers)
    assert result["method"] == verb.upper()
    assert api.requests[0].headers["authorization"] == "OAuth t0ken"
    landed = other.requests[0]
    assert landed.method == verb.upper() and landed.path == "/landed"
    assert "authorization" not in landed.headers and "cookie" not in landed.headers
    assert landed.headers["x-kept"] == "yes"


def test_client_id_does_not_cross_origins(api: RequestServer, other: RequestServer) -> None:
    client = opened(soundcloud.Client(client_id="my-app", api_url=api.url, timeout=TIMEOUT))
    client.delete(hop(307, other.url + "/landed"))
    assert "client_id=my-app" in api.requests[0].target
    assert "client_id" not in other.requests[0].target


def test_put_https_to_http_is_refused(tls_server: Any, other: RequestServer) -> None:
    client = client_of(tls_server, verify_ssl=tls_server.ca_path)
    with pytest.raises(soundcloud.InsecureRedirectError, match="https"):
        client.put(tls_server.url + "/redirect?status=308&to=" + quote(other.url + "/x", safe=""), a="1")
    assert other.requests == [] and other.connections == 0


def test_put_redirect_loop_is_named() -> None:
    def looping(ctx: FaultContext) -> bool:
        return ctx.respond(307, b"", [("Location", "/b" if ctx.request.path == "/a" else "/a")])

    with RequestServer(looping) as server:
        with pytest.raises(soundcloud.TooManyRedirectsError, match="loop"):
            client_of(server).put("/a", x="1")
        assert [(r.method, r.body) for r in server.requests] == [("PUT", b"x=1"), ("PUT", b"x=1")]


def test_put_hop_limit() -> None:
    def onward(ctx: FaultContext) -> bool:
        return ctx.respond(308, b"", [("Location", "/hop%d" % ctx.hit)])

    with RequestServer(onward) as server:
        with pytest.raises(soundcloud.TooManyRedirectsError, match="more than 10"):
            client_of(server).delete("/start")
        assert server.count() == 11 and {r.method for r in server.requests} == {"DELETE"}


def test_retry_false_holds_on_every_hop() -> None:
    # Each landing answers 503 (Retry-After: 0) the first time, then 200: a hop that forgot
    # the caller's retry=False would be retried, as a GET is by default, and succeed.
    seen: Dict[str, int] = {}

    def answer(ctx: FaultContext) -> bool:
        path = ctx.request.path
        if path.startswith("/start"):
            return ctx.respond(302, b"", [("Location", "/landed" + path[len("/start"):])])
        seen[path] = seen.get(path, 0) + 1
        if seen[path] == 1:
            return ctx.respond_json(503, {"error": "busy"}, [("Retry-After", "0")])
        return ctx.respond_json(200, {"ok": True})

    with RequestServer(answer) as server:
        transport = HTTPTransport(max_retries=2)
        client = opened(soundcloud.Client(access_token="t", api_url=server.url, timeout=TIMEOUT,
                                          transport=transport))
        try:
            with pytest.raises(soundcloud.ServerError):
                client.get("/start1", retry=False)
            assert [r.path for r in server.requests] == ["/start1", "/landed1"]
            assert client.get("/start2").status_code == 200  # retried by default, as before
            assert [r.path for r in server.requests][2:] == ["/start2", "/landed2", "/landed2"]
        finally:
            transport.close()
