"""The token lifecycle against the fake SoundCloud over loopback, time being a Clock the test
moves: refresh on init with single-use rotating refresh tokens, explicit and proactive refresh,
401 handling (one refresh, one replay, never a loop), threads sharing one refresh (and its
failure), the Authenticator's edges, on_token seeing every change, restored sessions, and app
tokens by client credentials (HTTP Basic, cached, renewed, replaced, rate limited, a wrong
secret) next to the client_id-only client that has none."""

from __future__ import annotations

import gc
import json
import threading
from typing import Any, Callable, Dict, List

import pytest

import soundcloud
from soundcloud.auth import Authenticator, Token, basic_authorization
from soundcloud.testing import FakeSoundCloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from support.clients import (
    TIMEOUT,
    ScriptedAuthServer,
    authorize,
    form_of,
    logged_in,
    make_client,
    token_requests,
    transport,
)
from support.fake_calls import Clock


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


# -- refresh: on init, rotation, expiry, 401 -----------------------------------------------


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


# -- client credentials --------------------------------------------------------------------


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
