"""The OAuth 2.1 building blocks as pure functions and values, with no socket opened (no server
fixture, no client request): PKCE (the RFC 7636 appendix B vector, code verifiers and their
validation, state), the exact grant bodies, HTTP Basic client authentication, the authorize URL,
Token round trips, expiry and hidden repr, token_from_response, oauth_error_from_response (the
error classes, messages and secrets blanked out) and the redirect URI rules (https, or http on a
loopback address as RFC 8252 allows)."""

from __future__ import annotations

import copy
import json
import pickle
from urllib.parse import parse_qsl, urlsplit

import pytest

import soundcloud
from soundcloud.auth import (
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

from support.clients import UNRESERVED


# -- PKCE and grant bodies (pure) ----------------------------------------------------------


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


# -- Token ---------------------------------------------------------------------------------


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


def test_a_token_pickles_and_copies_pure_and_compiled() -> None:
    # mypyc's classes rebuild through __new__ without arguments unless __reduce__ says how.
    token = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "x", "bearer", "authorization_code")
    for again in (pickle.loads(pickle.dumps(token)), copy.copy(token), copy.deepcopy(token)):
        assert type(again) is Token and again == token and again is not token


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


# -- OAuth error responses (pure) ----------------------------------------------------------


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


# -- redirect URIs -------------------------------------------------------------------------


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
