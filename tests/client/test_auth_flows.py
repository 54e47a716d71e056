"""OAuth 2.1 Authorization Code with PKCE against the fake SoundCloud over loopback, nothing
mocked: the README flow as written, public and confidential clients, the verifier and state each
login gets (and the web-app pattern that carries them in a session), state and verifier checks,
single-use codes and verifiers, the password grant refused, sign-out (revoking, and forgetting
the token even when the server fails) and token endpoint errors that are not OAuth JSON."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

import soundcloud
from soundcloud.auth import create_s256_code_challenge, generate_code_verifier

from support.clients import UNRESERVED, ScriptedAuthServer, authorize, form_of, logged_in, make_client, token_requests


# -- Authorization Code with PKCE ----------------------------------------------------------


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


# -- sign out ------------------------------------------------------------------------------


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


# -- token endpoint errors -----------------------------------------------------------------


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
