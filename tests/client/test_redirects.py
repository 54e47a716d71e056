"""The client's redirects over loopback: /resolve's 302 followed (or not, on request), a loop
named, POST redirects not followed, Authorization dropped on a cross-origin hop, an https to
http redirect refused before anything reaches the plain server, and the limit of 10 hops."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import soundcloud

from support.clients import TIMEOUT, client_for, last, opened, user_client
from support.request_server import FaultContext, RequestServer


# -- redirects -----------------------------------------------------------------------------


def test_resolve_follows_the_302(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    track = client.get("/resolve", url="http://soundcloud.com/forss/flickermood")
    hops = [r.path for r in fake.requests if r.server == "api"]
    assert hops[0] == "/resolve" and hops[1].startswith("/tracks/")
    assert track.title
    unresolved = client.get("/resolve", url="http://soundcloud.com/forss/flickermood",
                            allow_redirects=False)
    assert unresolved.status_code == 302
    assert unresolved.location.startswith(fake.api_url + "/tracks/")


def test_redirect_loop_is_named(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    with pytest.raises(soundcloud.TooManyRedirectsError, match="loop"):
        client.get("/_test/loop")


def test_post_redirects_are_not_followed(fake: Any) -> None:
    client = user_client(fake)
    result = client.post("/_test/redirect?code=302&to=" + fake.api_url + "/me")
    assert result.status_code == 302
    assert result.location == fake.api_url + "/me"
    assert [r.path for r in fake.requests if r.server == "api"] == ["/_test/redirect"]


def test_authorization_dropped_on_cross_origin_redirect(fake: Any) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token)
    media_url = client.get("/tracks/293/stream", allow_redirects=False).location
    with client.get("/_test/redirect", to=media_url, code="307") as media:
        media.read()
    assert "authorization" in [r for r in fake.requests if r.server == "api"][-1].headers
    assert "authorization" not in last(fake, "cdn").headers


@pytest.fixture
def plain_server() -> Iterator[RequestServer]:
    """Plain HTTP that answers every request with 302 to ``/elsewhere``; records what came."""
    with RequestServer(lambda ctx: ctx.respond(302, b"", [("Location", "/elsewhere")])) as server:
        yield server


def test_https_to_http_redirect_is_refused(tls_server: Any, plain_server: RequestServer) -> None:
    client = opened(soundcloud.Client(access_token="t0ken", api_url=tls_server.url,
                                      verify_ssl=tls_server.ca_path, timeout=TIMEOUT))
    with pytest.raises(soundcloud.InsecureRedirectError, match="https"):
        client.get("/redirect", to=plain_server.url + "/x")
    assert plain_server.requests == [] and plain_server.connections == 0


def test_redirect_hop_limit() -> None:
    # Each hop goes to a new URL on the same server: not a loop, just too many.
    def hop(ctx: FaultContext) -> bool:
        return ctx.respond(302, b"", [("Location", "%s/hop%d" % (server.url, ctx.hit))])

    with RequestServer(hop) as server:
        client = opened(soundcloud.Client(client_id="x", api_url=server.url, timeout=TIMEOUT))
        with pytest.raises(soundcloud.TooManyRedirectsError, match="more than 10"):
            client.get("/start")
        assert server.count() == 11
