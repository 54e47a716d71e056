"""OAuth 2.1 against the fake SoundCloud over loopback: PKCE, the grants, the token
lifecycle (expiry, 401, single-use refresh tokens across threads), client credentials,
sign-out, redirect URI rules, token stores and the loopback login (RFC 8252).

Nothing is mocked: the client talks HTTP to soundcloud.testing.FakeSoundCloud, time is a
Clock the test moves, and failures are injected through parameters."""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import socket
import stat
import threading
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlsplit

import pytest

import soundcloud
from soundcloud.auth import (
    Authenticator,
    FileTokenStore,
    Token,
    authorization_code_body,
    basic_authorization,
    build_authorize_url,
    client_credentials_body,
    create_s256_code_challenge,
    generate_code_verifier,
    generate_state,
    oauth_error_from_response,
    refresh_token_body,
    token_from_response,
    validate_code_verifier,
    validate_redirect_uri,
)
from soundcloud.testing import FakeSoundCloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from servers import FaultContext, RequestServer

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

TIMEOUT = 5.0

_open: List[Any] = []


@pytest.fixture(autouse=True)
def _close_everything() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


class Clock:
    """A clock the test moves by hand, shared by the fake server and the client."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def transport() -> HTTPTransport:
    made = HTTPTransport()
    _open.append(made)
    return made


def make_client(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client of ``fake``, closed after the test (its transport too, even when it fails)."""
    kwargs.setdefault("client_id", fake.client_id)
    kwargs.setdefault("api_url", fake.api_url)
    kwargs.setdefault("auth_url", fake.auth_url)
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("transport", transport())
    client = soundcloud.Client(**kwargs)
    _open.append(client)
    return client


def authorize(url: str) -> Tuple[str, str]:
    """Play the browser at the fake's /authorize; return the code and state it redirects with."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            raise AssertionError(f"/authorize answered {response.status}, not a redirect")
    except urllib.error.HTTPError as redirect:
        with redirect:
            assert redirect.code == 302, redirect.read()
            location = redirect.headers["Location"]
    query = dict(parse_qsl(urlsplit(location).query))
    assert "error" not in query, query
    return query["code"], query["state"]


def logged_in(fake: Any, **kwargs: Any) -> soundcloud.Client:
    """A client that went through authorize and exchange (the README flow)."""
    kwargs.setdefault("redirect_uri", fake.redirect_uri)
    client = make_client(fake, **kwargs)
    code, state = authorize(client.authorize_url())
    client.exchange_token(code, state=state)
    return client


def form_of(request: Any) -> Dict[str, str]:
    return dict(parse_qsl(request.body.decode("ascii"), keep_blank_values=True))


def token_requests(fake: Any) -> List[Any]:
    return [r for r in fake.requests_to("auth") if r.path == "/oauth/token"]


def sender(through: HTTPTransport, timeout: Timeout, user_agent: str) -> Callable[[Any], Any]:
    """What a Client gives its Authenticator as ``send``: its timeout and User-Agent, one request."""

    def send(request: Any) -> Any:
        request.timeout = timeout
        request.headers["User-Agent"] = user_agent
        return through.handle_request(request)

    return send


def make_authenticator(fake: Any, **kwargs: Any) -> Authenticator:
    options: Dict[str, Any] = {
        "client_id": fake.client_id,
        "client_secret": None,
        "redirect_uri": None,
        "scope": None,
        "token": None,
        "refresh_token": None,
        "code_verifier": None,
        "state": None,
        "auth_url": fake.auth_url,
        "send": sender(transport(), Timeout(TIMEOUT), "test"),
        "on_token": None,
        "token_store": None,
    }
    options.update(kwargs)
    return Authenticator(**options)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_fake(clock: Clock) -> Iterator[FakeSoundCloud]:
    """A fake SoundCloud driven by the test's clock (tokens live 3600 s)."""
    with FakeSoundCloud(clock=clock) as server:
        yield server


# -- PKCE and grant bodies (pure) ---------------------------------------------------------


def test_s256_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert create_s256_code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_code_verifier_is_random_unreserved_and_in_bounds() -> None:
    verifier = generate_code_verifier()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= UNRESERVED
    assert generate_code_verifier() != verifier
    assert len(generate_code_verifier(43)) == 43 and len(generate_code_verifier(128)) == 128
    # The random source is injectable: fixed bytes give a fixed verifier.
    fixed = generate_code_verifier(43, token_bytes=lambda n: bytes(range(n)))
    assert fixed == generate_code_verifier(43, token_bytes=lambda n: bytes(range(n)))
    assert validate_code_verifier(fixed) == fixed
    for bad_length in (42, 129):
        with pytest.raises(ValueError):
            generate_code_verifier(bad_length)
    with pytest.raises(ValueError, match="too few bytes"):
        generate_code_verifier(64, token_bytes=lambda n: b"x")


@pytest.mark.parametrize("bad", ["short", "x" * 129, "a" * 42 + "!", "a" * 50 + " "])
def test_invalid_code_verifier_is_refused_without_echo(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_code_verifier(bad)
    assert bad not in str(info.value)
    with pytest.raises(ValueError):
        soundcloud.Client(client_id="id", code_verifier=bad)


def test_state_is_random_and_url_safe() -> None:
    state = generate_state()
    assert len(state) >= 32 and set(state) <= UNRESERVED and generate_state() != state


def test_grant_bodies_are_exact() -> None:
    assert authorization_code_body(
        code="C", redirect_uri="https://a.example/cb", client_id="I", code_verifier="V"
    ) == [
        ("grant_type", "authorization_code"),
        ("code", "C"),
        ("redirect_uri", "https://a.example/cb"),
        ("client_id", "I"),
        ("code_verifier", "V"),
    ]
    assert ("client_secret", "S") in authorization_code_body(
        code="C", redirect_uri="https://a.example/cb", client_id="I", code_verifier="V", client_secret="S"
    )
    assert refresh_token_body(refresh_token="R", client_id="I", client_secret="S") == [
        ("grant_type", "refresh_token"),
        ("client_id", "I"),
        ("refresh_token", "R"),
        ("client_secret", "S"),
    ]
    assert refresh_token_body(refresh_token="R", client_id="I") == [
        ("grant_type", "refresh_token"),
        ("client_id", "I"),
        ("refresh_token", "R"),
    ]
    assert client_credentials_body() == [("grant_type", "client_credentials")]


def test_basic_authorization_form_encodes_both_parts() -> None:
    import base64

    header = basic_authorization("my id", "p:ss/w+rd")
    assert header.startswith("Basic ")
    # RFC 6749 2.3.1: application/x-www-form-urlencoded, then base64.
    assert base64.b64decode(header[6:]).decode() == "my+id:p%3Ass%2Fw%2Brd"


def test_build_authorize_url_sends_scope_only_when_given() -> None:
    url = build_authorize_url(
        "https://secure.example/", client_id="I", redirect_uri="https://a.example/cb", code_challenge="X", state="S"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "secure.example", "/authorize")
    assert dict(parse_qsl(parts.query)) == {
        "client_id": "I",
        "redirect_uri": "https://a.example/cb",
        "response_type": "code",
        "code_challenge": "X",
        "code_challenge_method": "S256",
        "state": "S",
    }
    scoped = build_authorize_url(
        "https://secure.example", client_id="I", redirect_uri="https://a.example/cb", code_challenge="X",
        state="S", scope="non-expiring",
    )
    assert dict(parse_qsl(urlsplit(scoped).query))["scope"] == "non-expiring"


# -- Token ----------------------------------------------------------------------------


def test_token_round_trip_equality_and_hidden_repr() -> None:
    token = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "", "bearer", "authorization_code")
    assert Token.from_dict(token.to_dict()) == token
    assert Token.from_dict(json.loads(json.dumps(token.to_dict()))) == token
    assert token != Token("other", "refresh-SECRET", 3599, 1_700_003_599.0)
    assert token != "access-SECRET"
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert "SECRET" not in text
    assert "***" in repr(token)
    assert not token.is_app_token and Token("a", grant_type="client_credentials").is_app_token
    assert token.expires_within(60, now=1_700_003_540.0)
    assert not token.expires_within(60, now=1_700_003_538.0)
    assert not Token("a").expires_within(60, now=0.0)


def test_token_from_dict_accepts_the_minimum_and_refuses_garbage() -> None:
    assert Token.from_dict({"access_token": "a"}) == Token("a")
    for bad in ({}, {"access_token": ""}, {"access_token": 5}, {"access_token": "a", "expires_at": "soon"},
                {"access_token": "a", "refresh_token": 7}, {"access_token": "a", "expires_in": True}):
        with pytest.raises(ValueError):
            Token.from_dict(bad)
    with pytest.raises(ValueError):
        Token.from_dict([("access_token", "a")])  # type: ignore[arg-type]


def test_token_from_response_stamps_expiry_and_keeps_a_missing_refresh_token() -> None:
    token = token_from_response(
        {"access_token": "A", "expires_in": 3599, "refresh_token": "R", "scope": "", "token_type": "bearer"},
        now=1000.0,
        grant_type="authorization_code",
    )
    assert (token.expires_in, token.expires_at, token.refresh_token) == (3599, 4599.0, "R")
    # RFC 6749 6: no new refresh token in a refresh response means the old one lives on.
    again = token_from_response({"access_token": "B", "expires_in": 10}, now=0.0, grant_type="refresh_token",
                                previous=token)
    assert again.refresh_token == "R" and again.expires_at == 10.0
    for bad in (None, [], {"access_token": ""}, {"token": "x"}):
        with pytest.raises(soundcloud.OAuthError):
            token_from_response(bad, now=0.0, grant_type="refresh_token")


# -- OAuth error responses (pure) -------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, cls, error",
    [
        (400, b'{"error": "invalid_grant", "error_description": "used"}', soundcloud.InvalidGrantError,
         "invalid_grant"),
        (401, b'{"error": "invalid_client"}', soundcloud.InvalidClientError, "invalid_client"),
        (429, b'{"error": "rate_limit_exceeded"}', soundcloud.RateLimitedTokenError, "rate_limit_exceeded"),
        (429, b"Too Many Requests", soundcloud.RateLimitedTokenError, "rate_limit_exceeded"),
        (400, b'{"error": "invalid_request"}', soundcloud.errors.InvalidRequestError, "invalid_request"),
        (400, b'{"error": "unsupported_grant_type"}', soundcloud.errors.UnsupportedGrantTypeError,
         "unsupported_grant_type"),
        (400, b'{"error": "invalid_scope"}', soundcloud.errors.InvalidScopeError, "invalid_scope"),
        (400, b'{"error": "unauthorized_client"}', soundcloud.errors.UnauthorizedClientError, "unauthorized_client"),
        (400, b'{"error": "slow_down", "error_description": "later"}', soundcloud.OAuthError, "slow_down"),
        (502, b"<html><body>Bad Gateway</body></html>", soundcloud.OAuthError, "oauth_error"),
        (500, b"\xff\xfe not utf-8", soundcloud.OAuthError, "oauth_error"),
        (401, b"", soundcloud.InvalidClientError, "invalid_client"),
        (400, b'["error"]', soundcloud.OAuthError, "oauth_error"),
    ],
)
def test_oauth_error_from_response(status: int, body: bytes, cls: type, error: str) -> None:
    exc = oauth_error_from_response(status, body, action="refreshing")
    assert type(exc) is cls
    assert exc.error == error and exc.status_code == status
    assert str(status) in str(exc) and "refreshing" in str(exc)
    if cls is soundcloud.InvalidGrantError:
        assert "authorize again" in str(exc) and exc.error_description == "used"


def test_oauth_error_blanks_out_echoed_secrets() -> None:
    body = b'{"error": "invalid_grant", "error_description": "refresh token R-SECRET-42 already used"}'
    exc = oauth_error_from_response(400, body, redact=["R-SECRET-42"])
    assert "R-SECRET-42" not in str(exc) and "R-SECRET-42" not in repr(exc)
    assert "R-SECRET-42" not in (exc.error_description or "")


# -- redirect URIs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://yourapp.com/callback",
        "https://yourapp.com:8443/oauth/callback?x=1",
        "http://127.0.0.1:8765/callback",
        "http://127.0.0.1/callback",
        "http://[::1]:9000/cb",
        "http://localhost:3000/cb",
        "HTTP://LOCALHOST:3000/cb",
    ],
)
def test_allowed_redirect_uris(uri: str) -> None:
    assert validate_redirect_uri(uri) == uri
    soundcloud.Client(client_id="id", redirect_uri=uri).close()


@pytest.mark.parametrize(
    "uri",
    [
        "http://yourapp.com/callback",  # plain http off loopback
        "http://192.168.1.2/callback",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "ftp://yourapp.com/cb",
        "com.example.app:/oauth",  # custom schemes are not accepted here
        "https://yourapp.com/cb#fragment",
        "https://user:pw@yourapp.com/cb",
        "https:///nohost",
        "http://127.0.0.1:99999/cb",
        "/callback",
    ],
)
def test_refused_redirect_uris(uri: str) -> None:
    with pytest.raises(ValueError):
        validate_redirect_uri(uri)
    with pytest.raises(ValueError):
        soundcloud.Client(client_id="id", redirect_uri=uri)


# -- Authorization Code with PKCE -------------------------------------------------------


def test_readme_example_works_as_written(fake: Any) -> None:
    client = make_client(fake, client_secret=fake.client_secret, redirect_uri="http://127.0.0.1:8765/callback")
    url = client.authorize_url()
    print_target = urlsplit(url)
    assert print_target.path == "/authorize"
    query = {key: values[0] for key, values in parse_qs(print_target.query).items()}
    assert query == {
        "client_id": fake.client_id,
        "redirect_uri": fake.redirect_uri,
        "response_type": "code",
        "code_challenge": create_s256_code_challenge(client.code_verifier),
        "code_challenge_method": "S256",
        "state": client.state,
    }
    verifier = client.code_verifier
    assert 43 <= len(verifier) <= 128 and set(verifier) <= UNRESERVED
    code, state = authorize(url)
    assert state == client.state

    token = client.exchange_token(code=code)
    assert token.access_token and token.refresh_token and token.expires_in == 3600
    assert client.token is token and client.access_token == token.access_token
    assert client.get("/me").username == fake.user["username"]

    (exchange,) = token_requests(fake)
    assert exchange.path == "/oauth/token" and exchange.query == {}
    assert exchange.header("content-type") == "application/x-www-form-urlencoded"
    assert exchange.header("authorization") is None
    assert form_of(exchange) == {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": fake.redirect_uri,
        "client_id": fake.client_id,
        "code_verifier": verifier,
        "client_secret": fake.client_secret,
    }
    me = [r for r in fake.requests_to("api") if r.path == "/me"][-1]
    assert me.header("authorization") == "OAuth " + token.access_token


def test_public_client_exchanges_without_a_secret(fake: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    token = client.exchange_token(*authorize(client.authorize_url()))
    assert "client_secret" not in form_of(token_requests(fake)[-1])
    assert client.get("/me").id == fake.user_id and token.refresh_token


def test_each_client_has_its_own_verifier_and_state(fake: Any) -> None:
    one = make_client(fake, redirect_uri=fake.redirect_uri)
    two = make_client(fake, redirect_uri=fake.redirect_uri)
    assert one.code_verifier != two.code_verifier and one.state != two.state
    # authorize_url() keeps the login's verifier and state until an exchange completes.
    assert one.authorize_url() == one.authorize_url()


def test_caller_state_and_scope(fake: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri, scope="non-expiring")
    query = dict(parse_qsl(urlsplit(client.authorize_url(state="my-own-state")).query))
    assert query["state"] == "my-own-state" == client.state and query["scope"] == "non-expiring"
    query = dict(parse_qsl(urlsplit(client.authorize_url(scope="other")).query))
    assert query["scope"] == "other"
    plain = make_client(fake, redirect_uri=fake.redirect_uri)
    assert "scope" not in dict(parse_qsl(urlsplit(plain.authorize_url()).query))
    with pytest.raises(ValueError):
        plain.authorize_url(state="")


def test_web_app_pattern_state_and_verifier_travel_in_the_session(fake: Any) -> None:
    login = make_client(fake, client_secret=fake.client_secret, redirect_uri=fake.redirect_uri)
    url = login.authorize_url()
    session = {"state": login.state, "code_verifier": login.code_verifier}
    login.close()
    code, state = authorize(url)

    callback = make_client(fake, client_secret=fake.client_secret, redirect_uri=fake.redirect_uri, **session)
    assert callback.state == session["state"] and callback.code_verifier == session["code_verifier"]
    token = callback.exchange_token(code, state=state)
    assert callback.get("/me").username == fake.user["username"] and token is callback.token


def test_wrong_state_fails_before_anything_is_sent(fake: Any) -> None:
    client = make_client(fake, client_secret=fake.client_secret, redirect_uri=fake.redirect_uri)
    code, state = authorize(client.authorize_url())
    before = len(fake.requests)
    with pytest.raises(soundcloud.StateMismatchError) as info:
        client.exchange_token(code, state=state + "x")
    assert isinstance(info.value, ValueError) and isinstance(info.value, soundcloud.OAuthError)
    assert state not in str(info.value) and code not in str(info.value)
    assert len(fake.requests) == before and client.token is None
    # The right state still works afterwards: nothing was spent.
    assert client.exchange_token(code, state=state).access_token


def test_reused_code_is_refused(fake: Any) -> None:
    first = make_client(fake, redirect_uri=fake.redirect_uri)
    code, state = authorize(first.authorize_url())
    first.exchange_token(code, state=state)
    replay = make_client(
        fake, redirect_uri=fake.redirect_uri, state=first.state, code_verifier=first.code_verifier
    )
    with pytest.raises(soundcloud.InvalidGrantError) as info:
        replay.exchange_token(code, state=state)
    assert "authorize again" in str(info.value) and code not in str(info.value)
    assert info.value.status_code == 400 and replay.token is None


def test_wrong_verifier_is_refused(fake: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    code, state = authorize(client.authorize_url())
    other = make_client(fake, redirect_uri=fake.redirect_uri, state=client.state,
                        code_verifier=generate_code_verifier())
    with pytest.raises(soundcloud.InvalidGrantError) as info:
        other.exchange_token(code, state=state)
    assert other.code_verifier not in str(info.value)


def test_a_verifier_is_used_once_then_a_new_login_gets_a_new_one(fake: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    code, _ = authorize(client.authorize_url())
    client.exchange_token(code)
    old_verifier, old_state = client.code_verifier, client.state
    sent = len(token_requests(fake))
    with pytest.raises(soundcloud.OAuthError, match="already used") as info:
        client.exchange_token("another-code")
    assert info.value.error == "code_verifier_used" and len(token_requests(fake)) == sent
    url = client.authorize_url()
    assert client.code_verifier != old_verifier and client.state != old_state
    code, state = authorize(url)
    assert client.exchange_token(code, state=state).access_token


def test_exchange_needs_redirect_uri_and_client_id(fake: Any) -> None:
    client = make_client(fake)
    with pytest.raises(ValueError, match="redirect_uri"):
        client.authorize_url()
    with pytest.raises(ValueError, match="redirect_uri"):
        client.exchange_token("code")
    anonymous = make_client(fake, client_id=None, access_token="x", redirect_uri=fake.redirect_uri)
    with pytest.raises(ValueError, match="client_id"):
        anonymous.authorize_url()
    with pytest.raises(ValueError, match="code"):
        make_client(fake, redirect_uri=fake.redirect_uri).exchange_token("")
    assert token_requests(fake) == []


def test_password_grant_is_refused_and_nothing_is_sent(fake: Any) -> None:
    with pytest.raises(DeprecationWarning, match="PKCE"):
        soundcloud.Client(client_id=fake.client_id, client_secret=fake.client_secret, username="me",
                          password="pw", api_url=fake.api_url, auth_url=fake.auth_url)
    assert fake.requests == []


# -- refresh: on init, rotation, expiry, 401 ----------------------------------------------


def test_refresh_on_init_rotates_and_reports_the_new_token(fake: Any) -> None:
    first = logged_in(fake)
    old_refresh = first.token.refresh_token
    seen: List[Token] = []
    client = make_client(fake, client_secret=fake.client_secret, refresh_token=old_refresh, on_token=seen.append)
    assert fake.grant_counts.get("refresh_token") == 1
    (refresh,) = [r for r in token_requests(fake) if form_of(r)["grant_type"] == "refresh_token"]
    assert form_of(refresh) == {
        "grant_type": "refresh_token",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "refresh_token": old_refresh,
    }
    assert seen == [client.token] and client.token.refresh_token not in (None, old_refresh)
    assert client.get("/me").username == fake.user["username"]

    # The old refresh token is dead (single use): a second component using it is refused.
    with pytest.raises(soundcloud.InvalidGrantError) as info:
        make_client(fake, client_secret=fake.client_secret, refresh_token=old_refresh)
    assert "authorize again" in str(info.value) and old_refresh not in str(info.value)
    # ...and the rotated one works.
    again = make_client(fake, client_secret=fake.client_secret, refresh_token=client.token.refresh_token)
    assert again.get("/me").id == fake.user_id


def test_explicit_refresh_and_its_refusal(fake: Any) -> None:
    seen: List[Token] = []
    client = logged_in(fake, on_token=seen.append)
    before = client.token
    seen.clear()
    token = client.refresh()
    assert token is client.token and token.access_token != before.access_token and seen == [token]
    fake.revoke_tokens()
    with pytest.raises(soundcloud.InvalidGrantError):
        client.refresh()
    # The dead refresh token is dropped, never sent again.
    assert client.token is not None and client.token.refresh_token is None
    with pytest.raises(soundcloud.OAuthError, match="no refresh token"):
        client.refresh()
    assert fake.grant_counts["refresh_token"] == 1


def test_proactive_refresh_before_expiry(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    seen: List[Token] = []
    client = logged_in(fake, clock=clock, on_token=seen.append)
    first = client.token
    assert first.expires_at == clock.now + 3600
    clock.advance(3600 - 61)  # outside the margin: no refresh yet
    client.get("/me")
    assert fake.grant_counts.get("refresh_token") is None
    clock.advance(2)  # 59 s before expiry: inside the 60 s margin
    fake.clear_requests()
    assert client.get("/me").username == fake.user["username"]
    assert [(r.server, r.path) for r in fake.requests] == [("auth", "/oauth/token"), ("api", "/me")]
    assert client.token is not first and seen == [first, client.token]
    assert fake.requests[-1].header("authorization") == "OAuth " + client.token.access_token


def test_short_lived_tokens_are_not_refreshed_on_every_request(clock: Clock) -> None:
    with FakeSoundCloud(clock=clock, expires_in=30) as fake:
        client = logged_in(fake, clock=clock)
        client.get("/me")
        client.get("/me")
        assert fake.grant_counts.get("refresh_token") is None  # margin capped at half the lifetime
        clock.advance(16)
        client.get("/me")
        assert fake.grant_counts.get("refresh_token") == 1


def test_401_refreshes_once_and_replays_once(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    client = logged_in(fake, clock=clock)
    old = client.token
    fake.expire_tokens()  # the server says expired; the client's clock does not know yet
    fake.clear_requests()
    assert client.get("/me").username == fake.user["username"]
    assert [(r.server, r.path) for r in fake.requests] == [
        ("api", "/me"),
        ("auth", "/oauth/token"),
        ("api", "/me"),
    ]
    first, _, replay = fake.requests
    assert first.header("authorization") == "OAuth " + old.access_token
    assert replay.header("authorization") == "OAuth " + client.token.access_token != "OAuth " + old.access_token


def test_401_without_a_refresh_token_is_raised(fake: Any) -> None:
    client = make_client(fake, client_id=None, access_token="not-a-valid-token")
    with pytest.raises(soundcloud.UnauthorizedError):
        client.get("/me")
    assert len(fake.requests) == 1


def test_401_with_a_dead_refresh_token_never_loops(fake: Any) -> None:
    client = logged_in(fake)
    fake.revoke_tokens()
    fake.clear_requests()
    with pytest.raises(soundcloud.InvalidGrantError):
        client.get("/me")
    gc.collect()  # the 401 response was closed: collecting finds no open socket
    assert [(r.server, r.path) for r in fake.requests] == [("api", "/me"), ("auth", "/oauth/token")]
    # Next time: nothing left to refresh with, so a plain 401 and no token request.
    fake.clear_requests()
    with pytest.raises(soundcloud.UnauthorizedError):
        client.get("/me")
    assert [(r.server, r.path) for r in fake.requests] == [("api", "/me")]


def test_401_twice_replays_only_once(fake: Any) -> None:
    # An app token on /me: the fake answers 401 even to a fresh token. One renewal, one
    # replay, then the 401 is raised.
    client = make_client(fake, client_secret=fake.client_secret)
    fake.clear_requests()
    with pytest.raises(soundcloud.UnauthorizedError):
        client.get("/me")
    assert [(r.server, r.path) for r in fake.requests] == [
        ("auth", "/oauth/token"),
        ("api", "/me"),
        ("auth", "/oauth/token"),
        ("api", "/me"),
    ]
    # The renewal used the app token's refresh token, not the rate-limited grant.
    assert fake.grant_counts == {"client_credentials": 1, "refresh_token": 1}


def test_eight_threads_on_an_expired_token_cause_one_refresh(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    client = logged_in(fake, clock=clock)
    clock.advance(3600)  # expired for the client and the server
    workers = 8
    barrier = threading.Barrier(workers, timeout=TIMEOUT)
    names: List[str] = []
    errors: List[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            name = client.get("/me").username
            with lock:
                names.append(name)
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [] and names == [fake.user["username"]] * workers
    assert fake.grant_counts == {"authorization_code": 1, "refresh_token": 1}
    me = [r for r in fake.requests_to("api") if r.path == "/me"]
    assert len(me) == workers and {r.header("authorization") for r in me} == {"OAuth " + client.token.access_token}


def test_a_failed_renewal_is_reported_to_those_who_waited_for_it(fake: Any) -> None:
    clock = Clock()
    with ScriptedAuthServer(503, b"<html>down</html>", "text/html") as down:
        stale = Token("a", "r", 3600, clock.now + 10)  # inside the expiry margin
        auth = make_authenticator(fake, auth_url=down.url, token=stale, clock=clock)
        # Played in one thread, deterministically: a second thread reads the attempt count
        # on entry, then queues for the lock while the first one's refresh fails.
        seen = auth._attempts
        with pytest.raises(soundcloud.OAuthError, match="503"):
            auth.authorization()  # the first thread's refresh fails...
        assert len(down.requests) == 1
        with pytest.raises(soundcloud.OAuthError, match="503") as info:
            auth._renew(stale, seen)  # ...and the waiting one reports it, without a request
        assert len(down.requests) == 1 and info.value.__traceback__ is not None
        with pytest.raises(soundcloud.OAuthError):
            auth.authorization()  # a later call tries again
        assert len(down.requests) == 2


def test_authenticator_edges(fake: Any) -> None:
    with pytest.raises(TypeError):
        make_authenticator(fake, token={"access_token": "a"})
    with pytest.raises(ValueError):
        make_authenticator(fake, state="")
    merged = make_authenticator(fake, token=Token("a", scope="s"), refresh_token="r")
    assert merged.token == Token("a", "r", scope="s")
    auth = make_authenticator(fake)
    assert auth.handle_unauthorized("OAuth gone") is False  # no token at all
    assert "test-client-id" in repr(auth) and "no token" in repr(auth)
    unready = make_authenticator(fake, refresh_token=logged_in(fake).token.refresh_token)
    assert unready.refresh().access_token  # a lone refresh token, before prepare()
    assert unready.token is not None and unready.token.grant_type == "refresh_token"


def test_refresh_without_a_user_token_fetches_an_app_token(fake: Any) -> None:
    client = make_client(fake, client_secret=fake.client_secret)
    assert client.refresh().is_app_token and fake.grant_counts == {"client_credentials": 1}
    public = make_client(fake)
    with pytest.raises(soundcloud.OAuthError, match="no refresh token"):
        public.refresh()


def test_a_token_replaced_by_another_thread_is_not_refreshed_again(fake: Any) -> None:
    token = fake.issue_token_response()
    auth = make_authenticator(
        fake, client_secret=fake.client_secret, token=Token(token["access_token"], token["refresh_token"], 3600)
    )
    sent = auth.authorization()
    assert sent == "OAuth " + token["access_token"]
    auth.refresh()  # another thread refreshed after our request left
    fake.clear_requests()
    assert auth.handle_unauthorized(sent) is True  # replay with the new token...
    assert fake.requests == []  # ...without refreshing again
    assert auth.handle_unauthorized(None) is True  # sent without a token, one is there now
    assert fake.requests == []


def test_a_failed_refresh_is_not_repeated_by_the_waiting_threads(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    client = logged_in(fake, clock=clock)
    fake.revoke_tokens()
    clock.advance(3600)
    workers = 4
    barrier = threading.Barrier(workers, timeout=TIMEOUT)
    errors: List[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        try:
            client.get("/me")
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert len(errors) == workers
    assert {type(e) for e in errors} <= {soundcloud.InvalidGrantError, soundcloud.UnauthorizedError}
    refreshes = [r for r in token_requests(fake) if form_of(r)["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1


def test_on_token_sees_every_change(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    seen: List[Token] = []
    client = make_client(fake, client_secret=fake.client_secret, redirect_uri=fake.redirect_uri, clock=clock,
                         on_token=seen.append)
    client.get("/tracks", limit=1)  # app token
    assert len(seen) == 1 and seen[0].is_app_token
    code, _ = authorize(client.authorize_url())
    user_token = client.exchange_token(code)
    assert seen[-1] is user_token and user_token.grant_type == "authorization_code"
    clock.advance(3600)
    client.get("/me")
    assert seen[-1] is client.token and seen[-1].grant_type == "refresh_token"
    assert seen[-1].refresh_token != user_token.refresh_token and len(seen) == 3


def test_restoring_a_saved_session(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    saved = logged_in(fake, clock=clock).token.to_dict()
    restored = make_client(fake, client_secret=fake.client_secret, token=json.loads(json.dumps(saved)), clock=clock)
    assert restored.token == Token.from_dict(saved)
    assert restored.get("/me").username == fake.user["username"]
    from_object = make_client(fake, token=Token.from_dict(saved), clock=clock)
    assert from_object.get("/me").id == fake.user_id
    clock.advance(3600)  # an expired saved session is refreshed on first use
    assert restored.get("/me").id == fake.user_id and fake.grant_counts["refresh_token"] == 1


def test_access_token_with_a_separate_refresh_token(fake: Any) -> None:
    response = fake.issue_token_response()
    client = make_client(fake, access_token=response["access_token"], refresh_token=response["refresh_token"])
    assert client.token.refresh_token == response["refresh_token"]
    fake.expire_tokens()
    assert client.get("/me").id == fake.user_id and fake.grant_counts["refresh_token"] == 1


# -- client credentials ------------------------------------------------------------------


def test_client_credentials_basic_only_and_cached(fake: Any) -> None:
    client = make_client(fake, client_secret=fake.client_secret)
    assert client.token is None  # fetched on first use, not at construction
    assert fake.requests == []
    for _ in range(5):
        client.get("/tracks", limit=1)
    (grant,) = token_requests(fake)
    assert form_of(grant) == {"grant_type": "client_credentials"}
    assert grant.header("authorization") == basic_authorization(fake.client_id, fake.client_secret)
    assert fake.grant_counts == {"client_credentials": 1}
    api = fake.requests_to("api")
    assert len(api) == 5 and {r.header("authorization") for r in api} == {"OAuth " + client.token.access_token}
    assert all("client_id" not in r.query for r in api)
    assert client.token.is_app_token


def test_app_token_renewed_before_expiry(timed_fake: Any, clock: Clock) -> None:
    fake = timed_fake
    client = make_client(fake, client_secret=fake.client_secret, clock=clock)
    client.get("/tracks", limit=1)
    first = client.token
    clock.advance(3600 - 30)
    client.get("/tracks", limit=1)
    assert client.token is not first and client.token.is_app_token
    # Renewed by its refresh token, which does not count against the token rate limit.
    assert fake.grant_counts == {"client_credentials": 1, "refresh_token": 1}
    # When that refresh token is refused, a new app token is fetched instead.
    fake.revoke_tokens()
    clock.advance(3600)
    client.get("/tracks", limit=1)
    assert fake.grant_counts == {"client_credentials": 2, "refresh_token": 1}
    assert fake.requests_to("api")[-1].header("authorization") == "OAuth " + client.token.access_token


def test_revoked_app_token_is_replaced_after_a_401(fake: Any) -> None:
    client = make_client(fake, client_secret=fake.client_secret)
    client.get("/tracks", limit=1)
    fake.revoke_tokens()
    fake.clear_requests()
    assert client.get("/tracks", limit=1)
    assert [(r.server, r.path) for r in fake.requests] == [
        ("api", "/tracks"),
        ("auth", "/oauth/token"),  # refresh: refused (revoked)
        ("auth", "/oauth/token"),  # client credentials
        ("api", "/tracks"),
    ]
    assert fake.grant_counts == {"client_credentials": 2}


def test_new_app_token_without_refresh_token_is_not_replaced_on_401(fake: Any) -> None:
    # A 401 on a brand-new app token is about the endpoint (it needs a user): fetching
    # another would only spend SoundCloud's token rate limit.
    clock = Clock()
    fresh = Token("app", None, 3600, clock.now + 3600, grant_type="client_credentials")
    auth = make_authenticator(fake, client_secret=fake.client_secret, token=fresh, clock=clock)
    assert auth.handle_unauthorized("OAuth app") is False and auth.token is fresh
    old = Token("app2", None, 3600, clock.now + 3000, grant_type="client_credentials")
    auth = make_authenticator(fake, client_secret=fake.client_secret, token=old, clock=clock)
    assert auth.handle_unauthorized("OAuth app2") is True  # 600 s old: may be revoked, replaced
    assert auth.token is not old and fake.grant_counts == {"client_credentials": 1}


def test_token_rate_limit() -> None:
    with FakeSoundCloud(token_rate_limit=1) as limited:
        make_client(limited, client_secret=limited.client_secret).get("/tracks", limit=1)
        second = make_client(limited, client_secret=limited.client_secret)
        with pytest.raises(soundcloud.RateLimitedTokenError) as info:
            second.get("/tracks", limit=1)
        assert info.value.status_code == 429 and info.value.error == "rate_limit_exceeded"
        assert "50 app tokens per 12 h" in str(info.value)
        assert limited.client_secret not in str(info.value) and limited.client_secret not in repr(info.value)
        assert limited.grant_counts == {"client_credentials": 1}


def test_wrong_client_secret(fake: Any) -> None:
    client = make_client(fake, client_secret="wrong-secret-value")
    with pytest.raises(soundcloud.InvalidClientError) as info:
        client.get("/tracks", limit=1)
    assert info.value.status_code == 401 and "wrong-secret-value" not in str(info.value)
    assert fake.requests_to("api") == []


def test_client_id_only_uses_the_query_parameter(fake: Any) -> None:
    assert make_authenticator(fake).authorization() is None
    client = make_client(fake)
    client.get("/tracks", limit=1)
    (request,) = fake.requests
    assert request.server == "api" and request.query["client_id"] == [fake.client_id]
    assert request.header("authorization") is None


# -- sign out ---------------------------------------------------------------------------


def test_sign_out_revokes_and_forgets(fake: Any) -> None:
    client = logged_in(fake)
    token = client.token
    fake.clear_requests()
    client.sign_out()
    (request,) = fake.requests
    assert (request.server, request.method, request.path) == ("auth", "POST", "/sign-out")
    assert request.header("content-type") == "application/json"
    assert json.loads(request.body) == {"access_token": token.access_token}
    assert client.token is None and client.access_token is None
    # The session is dead at SoundCloud too.
    with pytest.raises(soundcloud.UnauthorizedError):
        make_client(fake, access_token=token.access_token).get("/me")
    with pytest.raises(soundcloud.InvalidGrantError):
        make_client(fake, refresh_token=token.refresh_token)
    # The client goes on with its client_id (no secret: no app token).
    fake.clear_requests()
    client.get("/tracks", limit=1)
    assert fake.requests[-1].query["client_id"] == [fake.client_id]
    client.sign_out()  # nothing to revoke: no request
    assert len(fake.requests) == 1


def test_sign_out_forgets_even_when_the_server_fails(fake: Any) -> None:
    with ScriptedAuthServer(502, b"<html>bad gateway</html>", "text/html") as broken:
        client = make_client(fake, access_token="tok-SECRET", auth_url=broken.url)
        with pytest.raises(soundcloud.OAuthError) as info:
            client.sign_out()
        assert "502" in str(info.value) and "tok-SECRET" not in str(info.value)
        assert client.token is None


def test_non_json_token_endpoint_errors(fake: Any) -> None:
    with ScriptedAuthServer(503, b"<html><h1>Service Unavailable</h1></html>", "text/html") as broken:
        client = make_client(fake, client_secret=fake.client_secret, auth_url=broken.url)
        with pytest.raises(soundcloud.OAuthError) as info:
            client.get("/tracks", limit=1)
        assert type(info.value) is soundcloud.OAuthError and info.value.status_code == 503
        assert "not OAuth error JSON" in str(info.value)
    with ScriptedAuthServer(200, b"<html>surprise</html>", "text/html") as odd:
        client = make_client(fake, client_secret=fake.client_secret, auth_url=odd.url)
        with pytest.raises(soundcloud.OAuthError, match="not JSON"):
            client.get("/tracks", limit=1)


# -- token stores ---------------------------------------------------------------------


class MemoryStore(soundcloud.TokenStore):
    """A token store of the application's own (subclassing TokenStore is optional)."""

    def __init__(self, token: Optional[Token] = None) -> None:
        self.token = token
        self.saves: List[Token] = []
        self.clears = 0

    def load(self) -> Optional[Token]:
        return self.token

    def save(self, token: Token) -> None:
        self.token = token
        self.saves.append(token)

    def clear(self) -> None:
        self.token = None
        self.clears += 1


SAMPLE = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "", "bearer", "authorization_code")


def mode_of(path: Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_store_is_private_even_with_a_permissive_umask(tmp_path: Any) -> None:
    path = tmp_path / "config" / "app" / "token.json"
    store = FileTokenStore(path)
    assert store.load() is None
    previous = os.umask(0)
    try:
        store.save(SAMPLE)
    finally:
        os.umask(previous)
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700
    assert json.loads(path.read_text()) == SAMPLE.to_dict()
    assert store.load() == SAMPLE
    assert os.listdir(path.parent) == ["token.json"]  # no temporary file left behind
    assert "SECRET" not in repr(store) and str(path) in repr(store)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_store_tightens_an_existing_file(tmp_path: Any) -> None:
    path = tmp_path / "token.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    FileTokenStore(str(path)).save(SAMPLE)
    assert mode_of(path) == 0o600 and FileTokenStore(path).load() == SAMPLE


def test_file_store_write_is_atomic(tmp_path: Any) -> None:
    path = tmp_path / "token.json"
    FileTokenStore(path).save(SAMPLE)
    newer = Token("newer-access", "newer-refresh", 3599, 1_700_007_199.0)

    def disk_full(fd: int, data: bytes) -> int:
        os.write(fd, data[:10])  # part of it reached the temporary file...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk filled up

    with pytest.raises(OSError, match="No space"):
        FileTokenStore(path, write=disk_full).save(newer)
    assert FileTokenStore(path).load() == SAMPLE  # the old token is intact
    assert os.listdir(tmp_path) == ["token.json"]  # and the temporary file is gone

    def one_byte_at_a_time(fd: int, data: bytes) -> int:
        return os.write(fd, data[:1])

    FileTokenStore(path, write=one_byte_at_a_time).save(newer)  # short writes are continued
    assert FileTokenStore(path).load() == newer


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[]", b'{"refresh_token": "r"}', b"null"])
def test_corrupt_token_file_is_a_clear_error(tmp_path: Any, content: bytes, fake: Any) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(content)
    with pytest.raises(soundcloud.errors.TokenStoreError) as info:
        FileTokenStore(path).load()
    message = str(info.value)
    assert str(path) in message and "log in again" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, soundcloud.SoundCloudError)
    if len(content) > 4:
        assert content.decode("latin-1") not in message
    with pytest.raises(soundcloud.errors.TokenStoreError):
        make_client(fake, token_store=FileTokenStore(path))
    FileTokenStore(path).clear()
    assert not path.exists()
    FileTokenStore(path).clear()  # clearing nothing is fine


def test_store_is_loaded_at_start_and_saved_on_every_change(timed_fake: Any, clock: Clock, tmp_path: Any) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    client = logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    assert FileTokenStore(path).load() == client.token  # saved after the exchange
    clock.advance(3600)
    client.get("/me")
    assert FileTokenStore(path).load() == client.token  # saved after the refresh
    assert client.token.grant_type == "refresh_token"

    fake.clear_requests()
    later = make_client(fake, token_store=FileTokenStore(path), clock=clock)  # a new process
    assert later.token == client.token and fake.requests == []
    assert later.get("/me").username == fake.user["username"]
    later.sign_out()
    assert not path.exists() and later.token is None


def test_store_wins_over_a_spent_refresh_token(fake: Any) -> None:
    first = logged_in(fake)
    spent = first.token.refresh_token
    first.refresh()  # the refresh token given at the first run is dead now...
    store = MemoryStore(first.token)  # ...and the store holds its successor
    client = make_client(fake, client_secret=fake.client_secret, refresh_token=spent, token_store=store)
    assert client.token == first.token and fake.grant_counts.get("refresh_token") == 1


def test_a_corrupt_store_does_not_stop_a_renewal(timed_fake: Any, clock: Clock, tmp_path: Any) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    client = logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    path.write_text("{garbage")  # damaged while the client runs
    clock.advance(3600)
    assert client.get("/me").id == fake.user_id  # refreshed all the same...
    assert FileTokenStore(path).load() == client.token  # ...and the file is whole again


def test_store_keeps_one_app_token_across_clients(fake: Any, tmp_path: Any) -> None:
    path = tmp_path / "app-token.json"
    one = make_client(fake, client_secret=fake.client_secret, token_store=FileTokenStore(path))
    one.get("/tracks", limit=1)
    assert FileTokenStore(path).load() == one.token and one.token.is_app_token
    two = make_client(fake, client_secret=fake.client_secret, token_store=FileTokenStore(path))
    two.get("/tracks", limit=1)
    assert fake.grant_counts == {"client_credentials": 1}
    assert fake.requests_to("api")[-1].header("authorization") == "OAuth " + one.token.access_token
    # Two clients built before either fetched one: the second finds the first's in the store.
    store = MemoryStore()
    three = make_client(fake, client_secret=fake.client_secret, token_store=store)
    four = make_client(fake, client_secret=fake.client_secret, token_store=store)
    three.get("/tracks", limit=1)
    four.get("/tracks", limit=1)
    assert fake.grant_counts == {"client_credentials": 2} and four.token == three.token


def test_clients_sharing_a_store_do_not_spend_each_others_refresh_token(
    timed_fake: Any, clock: Clock, tmp_path: Any
) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    one = make_client(fake, token_store=FileTokenStore(path), clock=clock)
    two = make_client(fake, token_store=FileTokenStore(path), clock=clock)  # another process
    clock.advance(3600)
    one.get("/me")  # refreshes, rotating the shared refresh token
    assert two.get("/me").username == fake.user["username"]  # adopts the stored successor
    assert fake.grant_counts["refresh_token"] == 1 and two.token == one.token


def test_refused_refresh_adopts_a_token_another_process_stored(fake: Any) -> None:
    class RacingStore(MemoryStore):
        """Another process saves its rotated token between our look and our refresh."""

        def __init__(self) -> None:
            super().__init__()
            self.answers: List[Optional[Token]] = []

        def load(self) -> Optional[Token]:
            return self.answers.pop(0) if self.answers else self.token

    store = RacingStore()
    client = logged_in(fake, token_store=store)
    other = make_client(fake, token=client.token)  # another process, same session
    other.refresh()  # spends the shared refresh token
    store.answers = [None, other.token]
    assert client.refresh() == other.token  # refused, then the stored successor is adopted
    assert client.token == other.token and fake.grant_counts["refresh_token"] == 1
    assert client.get("/me").id == fake.user_id


# -- loopback login (RFC 8252) ------------------------------------------------------------


class Browser:
    """Plays the user's browser: opens the authorize URL with urllib and follows the fake's
    redirect to the loopback callback, keeping each page it was shown."""

    def __init__(self, before: Optional[List[str]] = None) -> None:
        self.pages: List[Tuple[int, str]] = []
        self.before = before or []
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch(self, url: str) -> None:
        try:
            with self.opener.open(url, timeout=TIMEOUT) as response:
                self.pages.append((response.status, response.read().decode()))
        except urllib.error.HTTPError as error:
            with error:
                self.pages.append((error.code, error.read().decode()))

    def __call__(self, url: str) -> None:
        callback = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
        for path in self.before:  # what else a browser may ask the loopback server first
            self.fetch(urljoin(callback, path))
        self.fetch(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_loopback_login_end_to_end(caplog: pytest.LogCaptureFixture) -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:  # registered: http://127.0.0.1:8765/callback
        client = make_client(fake)  # no redirect_uri: http://127.0.0.1:<free port>/callback
        browser = Browser(before=["/favicon.ico", "/callback"])
        caplog.set_level(logging.DEBUG, logger="soundcloud")
        token = client.login(open_browser=browser, timeout=TIMEOUT)
        assert token is client.token and token.grant_type == "authorization_code"
        assert client.get("/me").username == fake.user["username"]
        favicon, empty, done = browser.pages
        assert favicon[0] == 404 and empty[0] == 400  # neither ends the login
        assert done[0] == 200 and "You can close this window" in done[1]
        (exchange,) = token_requests(fake)
        redirect_uri = form_of(exchange)["redirect_uri"]
        parts = urlsplit(redirect_uri)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "127.0.0.1", "/callback")
        assert parts.port not in (None, 0, 8765)
        assert token.access_token not in done[1]
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "/callback" in logged  # the callback is logged, without its query
        for secret in (form_of(exchange)["code"], form_of(exchange)["code_verifier"], token.access_token):
            assert secret not in logged
        # A second login on the same client: a new verifier, a new state, a new token.
        verifier = client.code_verifier
        again = client.login(open_browser=Browser(), timeout=TIMEOUT)
        assert again.access_token != token.access_token and client.code_verifier != verifier


def test_loopback_login_listens_on_the_configured_port() -> None:
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth/cb"
    with FakeSoundCloud(redirect_uri=redirect_uri) as fake:  # strict: exactly this URI
        client = make_client(fake, client_secret=fake.client_secret, redirect_uri=redirect_uri)
        with pytest.raises(ValueError, match="differs"):
            client.login(port=port + 1 if port < 65535 else port - 1, open_browser=Browser(), timeout=TIMEOUT)
        token = client.login(port=port, open_browser=Browser(), timeout=TIMEOUT)
        assert client.get("/me").id == fake.user_id and token.refresh_token
        assert form_of(token_requests(fake)[-1])["redirect_uri"] == redirect_uri


def test_loopback_login_user_denies() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        fake.approve_authorizations = False
        client = make_client(fake)
        browser = Browser()
        with pytest.raises(soundcloud.errors.AccessDeniedError) as info:
            client.login(open_browser=browser, timeout=TIMEOUT)
        assert isinstance(info.value, soundcloud.OAuthError) and info.value.error == "access_denied"
        assert "denied" in str(info.value) and info.value.error_description == "the user denied the request"
        assert "Login refused" in browser.pages[-1][1]
        assert token_requests(fake) == [] and client.token is None


def test_loopback_login_times_out_cleanly() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)
        urls: List[str] = []
        with pytest.raises(soundcloud.TimeoutError) as info:
            client.login(open_browser=urls.append, timeout=0.2)
        assert isinstance(info.value, TimeoutError) and "0.2 s" in str(info.value)
        assert len(urls) == 1 and fake.requests == []
        # The one-shot server is gone: nothing listens on its port any more.
        callback = urlsplit(dict(parse_qsl(urlsplit(urls[0]).query))["redirect_uri"])
        with socket.socket() as sock:
            sock.settimeout(TIMEOUT)
            assert sock.connect_ex(("127.0.0.1", int(callback.port or 0))) != 0


def test_loopback_login_refuses_a_forged_state() -> None:
    with FakeSoundCloud(loopback_any_port=True) as fake:
        client = make_client(fake)
        forger = Browser()

        def forge(url: str) -> None:
            callback = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
            forger.fetch(callback + "?" + urlencode({"code": "attacker-code", "state": "forged"}))

        with pytest.raises(soundcloud.StateMismatchError):
            client.login(open_browser=forge, timeout=TIMEOUT)
        assert token_requests(fake) == [] and "attacker-code" not in forger.pages[0][1]


def test_loopback_login_needs_a_loopback_redirect_uri(fake: Any) -> None:
    client = make_client(fake, redirect_uri="https://yourapp.com/callback")
    opened: List[str] = []
    with pytest.raises(ValueError, match="loopback|127.0.0.1"):
        client.login(open_browser=opened.append, timeout=TIMEOUT)
    assert opened == [] and fake.requests == []
    with pytest.raises(ValueError):
        make_client(fake).login(port=70000, open_browser=opened.append, timeout=TIMEOUT)
    with pytest.raises(ValueError):
        make_client(fake).login(open_browser=opened.append, timeout=0)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_loopback_login_on_ipv6() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not available")
    with FakeSoundCloud(redirect_uri="http://[::1]/callback", loopback_any_port=True) as fake:
        client = make_client(fake, redirect_uri="http://[::1]/callback")
        client.login(open_browser=Browser(), timeout=TIMEOUT)
        redirect_uri = form_of(token_requests(fake)[-1])["redirect_uri"]
        assert redirect_uri.startswith("http://[::1]:") and client.get("/me").id == fake.user_id


# -- nothing secret anywhere --------------------------------------------------------------


def test_no_secret_in_any_repr_str_exception_or_log_line(
    timed_fake: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake = timed_fake
    caplog.set_level(logging.DEBUG, logger="soundcloud")
    secrets_seen: List[str] = [fake.client_secret]
    shown: List[str] = []
    seen: List[Token] = []

    client = make_client(fake, client_secret=fake.client_secret, redirect_uri=fake.redirect_uri, clock=clock,
                         on_token=seen.append)
    client.get("/tracks", limit=1)  # app token
    secrets_seen.append(client.code_verifier)
    code, state = authorize(client.authorize_url())
    secrets_seen.append(code)
    client.exchange_token(code, state=state)
    clock.advance(3600)
    client.get("/me")  # proactive refresh
    fake.expire_tokens()
    client.get("/me")  # 401, refresh, replay
    errors: List[BaseException] = []
    try:
        make_client(fake, client_secret=fake.client_secret, refresh_token=seen[1].refresh_token)
    except soundcloud.InvalidGrantError as exc:
        errors.append(exc)
    try:
        client.exchange_token(code, state=state)
    except soundcloud.OAuthError as exc:
        errors.append(exc)
    try:
        client.exchange_token(code, state="forged")
    except soundcloud.StateMismatchError as exc:
        errors.append(exc)
    try:
        make_client(fake, client_secret="wrong-" + fake.client_secret).get("/tracks")
    except soundcloud.InvalidClientError as exc:
        errors.append(exc)
        secrets_seen.append("wrong-" + fake.client_secret)
    secrets_seen.append(basic_authorization(fake.client_id, fake.client_secret))
    shown += [repr(client), str(client), repr(client.token), str(client.token)]
    client.sign_out()
    assert len(errors) == 4 and len(seen) == 4
    for token in seen:
        secrets_seen += [token.access_token, token.refresh_token or ""]
        shown += [repr(token), str(token)]
    for exc in errors:
        shown += [str(exc), repr(exc), str(exc.args)]
    shown += [record.getMessage() for record in caplog.records]
    assert any("refreshed" in record.getMessage() for record in caplog.records)
    text = "\n".join(shown)
    for secret in filter(None, secrets_seen):
        assert secret not in text


# -- helpers ------------------------------------------------------------------------------


class ScriptedAuthServer(RequestServer):
    """An authorization server that answers every request with one fixed response, then
    closes the connection. ``requests`` records what it received."""

    kind = "auth"

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.content_type = content_type

    def answer(self, ctx: FaultContext) -> bool:
        return ctx.respond(self.status, self.body, [("Content-Type", self.content_type)], keep_alive=False)
