"""Which requests carry credentials, over loopback: header names matched in any case when
the caller's headers meet the client's (one Authorization, one Content-Type), credentials
(Authorization, Cookie, Proxy-Authorization in any spelling) stripped on a redirect to
another origin, and the token or client_id only on requests the caller addressed to the
API: a redirect from elsewhere back to the API arrives without them, while /resolve's own
redirect within the API keeps working for a client_id-only client."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import pytest

import soundcloud

from support.clients import TIMEOUT, client_for, last, opened
from support.request_server import FaultContext, RequestServer

SECRET_SPELLINGS = [
    {"authorization": "OAuth caller-secret"},
    {"AUTHORIZATION": "OAuth caller-secret"},
    {"cookie": "session=caller-secret"},
    {"COOKIE": "session=caller-secret"},
    {"proxy-authorization": "Basic caller-secret"},
    {"Proxy-Authorization": "Basic caller-secret"},
]


@pytest.fixture
def other_origin() -> Iterator[RequestServer]:
    """Another origin (not the API) that records what reaches it and answers 200 JSON."""
    with RequestServer(lambda ctx: ctx.respond_json(200, {"ok": True})) as server:
        yield server


def raw_names(server: RequestServer) -> List[List[str]]:
    """The header names of each request as they came on the wire, lower-cased."""
    return [[name.lower() for name, _ in r.raw_headers] for r in server.requests]


@pytest.mark.parametrize("secret", SECRET_SPELLINGS, ids=lambda s: next(iter(s)))
def test_caller_credentials_in_any_case_stay_off_another_origin(
    fake: Any, other_origin: RequestServer, secret: Dict[str, str]
) -> None:
    client = client_for(fake, client_id=fake.client_id)
    client.get("/_test/redirect", to=other_origin.url + "/landing", code="302", headers=secret)
    assert other_origin.count("/landing") == 1
    sent = other_origin.requests[0]
    assert [v for v in sent.headers.values() if "caller-secret" in v] == []
    # The API itself did get the caller's header (same origin as addressed).
    assert "caller-secret" in last(fake).headers[next(iter(secret)).lower()]


def test_the_api_gets_one_authorization_when_the_caller_spells_it_in_lower_case(fake: Any) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token)
    echo = client.get("/_test/echo", headers={"authorization": "OAuth caller-secret"})
    # The fake joins repeated headers with ", ": exactly one value means one header.
    assert echo["headers"]["authorization"] == "OAuth " + token


def test_caller_headers_replace_defaults_in_any_case() -> None:
    with RequestServer(lambda ctx: ctx.respond_json(200, {"ok": True})) as api:
        client = opened(soundcloud.Client(access_token="t0ken", api_url=api.url, timeout=TIMEOUT))
        client.get("/x", headers={"accept": "text/plain", "user-agent": "mine/1", "AUTHORIZATION": "x"})
        client.post("/y", json={"a": 1}, headers={"content-type": "text/plain", "content-length": "1"})
        names = raw_names(api)
        for name in ("accept", "user-agent", "authorization"):
            assert names[0].count(name) == 1, (name, api.requests[0].raw_headers)
        for name in ("content-type", "content-length", "authorization"):
            assert names[1].count(name) == 1, (name, api.requests[1].raw_headers)
        first, second = api.requests
        assert first.headers["accept"] == "text/plain" and first.headers["user-agent"] == "mine/1"
        assert first.headers["authorization"] == "OAuth t0ken"
        assert second.headers["content-type"] == "application/json"
        assert second.headers["content-length"] == str(len(second.body))


@pytest.fixture
def bouncer(fake: Any) -> Iterator[RequestServer]:
    """Another origin that redirects every request to the API's echo."""
    def answer(ctx: FaultContext) -> bool:
        return ctx.respond(302, b"", [("Location", fake.api_url + "/_test/echo?via=bouncer")])

    with RequestServer(answer) as server:
        yield server


def test_a_redirect_from_another_origin_to_the_api_carries_no_token(fake: Any, bouncer: RequestServer) -> None:
    client = client_for(fake, access_token=fake.issue_token())
    echo = client.get(bouncer.url + "/start")
    assert bouncer.count("/start") == 1
    assert echo["path"] == "/_test/echo" and echo["query"]["via"] == ["bouncer"]
    assert "authorization" not in echo["headers"]


def test_a_redirect_from_another_origin_to_the_api_carries_no_client_id(fake: Any, bouncer: RequestServer) -> None:
    client = client_for(fake, client_id=fake.client_id)
    echo = client.get(bouncer.url + "/start")
    assert "client_id" not in echo["query"]


def test_api_to_another_origin_and_back_loses_the_token(fake: Any, bouncer: RequestServer) -> None:
    client = client_for(fake, access_token=fake.issue_token())
    echo = client.get("/_test/redirect", to=bouncer.url + "/bounce", code="302")
    first = [r for r in fake.requests if r.server == "api"][0]
    assert first.path == "/_test/redirect" and first.header("authorization")
    assert "authorization" not in bouncer.requests[0].headers
    assert "authorization" not in echo["headers"]


def test_resolve_for_a_client_id_only_client_carries_the_id_to_the_resource(fake: Any) -> None:
    client = client_for(fake, client_id=fake.client_id)
    track = client.get("/resolve", url="https://soundcloud.com/forss/flickermood")
    hops = [r for r in fake.requests if r.server == "api"]
    assert [r.path for r in hops][0] == "/resolve" and hops[1].path.startswith("/tracks/")
    assert [r.query.get("client_id") for r in hops] == [[fake.client_id], [fake.client_id]]
    assert track.title


def test_resolve_with_a_token_keeps_the_token_within_the_api(fake: Any) -> None:
    token = fake.issue_token()
    client = client_for(fake, access_token=token)
    client.get("/resolve", url="https://soundcloud.com/forss/flickermood")
    hops: List[Tuple[str, Any]] = [(r.path, r.header("authorization")) for r in fake.requests if r.server == "api"]
    assert [auth for _, auth in hops] == ["OAuth " + token] * 2
