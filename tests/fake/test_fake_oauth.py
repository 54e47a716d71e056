"""The fake SoundCloud's OAuth origin, over real sockets with http.client: ``/authorize``
(authorization code + PKCE S256, which errors redirect and which never do, user denial,
loopback redirect ports), ``/oauth/token`` (single-use expiring codes, code exchange
rejections, public clients, refresh rotation, client credentials by Basic only and their
rate limit, grant and encoding rejections, client authentication rules, settings changed
on a running fake), ``/sign-out``, and that no token or secret reaches the output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from support.fake_calls import Clock, Reply, call, form

from soundcloud.testing import FakeSoundCloud, s256_challenge


def basic(client_id: str, secret: str) -> Dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def pkce_pair() -> Tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(sc: FakeSoundCloud, **overrides: Optional[str]) -> Reply:
    params: Dict[str, Optional[str]] = {
        "client_id": sc.client_id,
        "redirect_uri": sc.redirect_uri,
        "response_type": "code",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        "state": "xyz-state",
    }
    params.update(overrides)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return call(f"{sc.auth_url}/authorize?{query}")


def login(sc: FakeSoundCloud) -> Tuple[str, str, Dict[str, Any]]:
    """Run authorization code + PKCE by hand; return code, verifier and the token JSON."""
    verifier, challenge = pkce_pair()
    reply = authorize(sc, code_challenge=challenge)
    assert reply.status == 302
    code = parse_qs(urlsplit(reply.headers["location"]).query)["code"][0]
    token = exchange(sc, code, verifier)
    assert token.status == 200, token.body
    return code, verifier, token.json()


def exchange(sc: FakeSoundCloud, auth_code: str, verifier: str, **overrides: str) -> Reply:
    """POST an authorization_code grant; ``overrides`` replace fields ("<omit>" drops one)."""
    fields = {
        "grant_type": "authorization_code",
        "client_id": sc.client_id,
        "client_secret": sc.client_secret,
        "redirect_uri": sc.redirect_uri,
        "code": auth_code,
        "code_verifier": verifier,
    }
    fields.update(overrides)
    return form(f"{sc.auth_url}/oauth/token", {k: v for k, v in fields.items() if v != "<omit>"})


def refresh(sc: FakeSoundCloud, refresh_token: str) -> Reply:
    return form(
        f"{sc.auth_url}/oauth/token",
        {
            "grant_type": "refresh_token",
            "client_id": sc.client_id,
            "client_secret": sc.client_secret,
            "refresh_token": refresh_token,
        },
    )


# --------------------------------------------------------------------------- OAuth: /authorize


def test_full_pkce_flow_by_hand(fake: FakeSoundCloud) -> None:
    verifier = secrets.token_urlsafe(64)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == s256_challenge(verifier)
    reply = authorize(fake, code_challenge=challenge, state="s-123")
    assert reply.status == 302
    location = urlsplit(reply.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == fake.redirect_uri
    params = parse_qs(location.query)
    assert params["state"] == ["s-123"] and len(params["code"][0]) > 20
    token = exchange(fake, params["code"][0], verifier)
    assert token.status == 200
    assert token.headers["cache-control"] == "no-store"
    payload = token.json()
    assert set(payload) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert payload["expires_in"] == 3600 and payload["token_type"] == "bearer" and payload["scope"] == ""
    me = call(f"{fake.api_url}/me", token=payload["access_token"])
    assert me.status == 200 and me.json()["id"] == fake.user_id
    assert fake.tokens_issued == 1 and fake.grant_counts == {"authorization_code": 1}


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "unknown"}, {"client_id": None}, {"redirect_uri": "http://evil.example/cb"}, {"redirect_uri": None}],
    ids=["unknown-client", "no-client", "foreign-redirect", "no-redirect"],
)
def test_authorize_never_redirects_for_bad_client_or_redirect_uri(
    fake: FakeSoundCloud, overrides: Dict[str, Optional[str]]
) -> None:
    reply = authorize(fake, **overrides)
    assert reply.status == 400 and "location" not in reply.headers
    assert reply.json()["error"] in ("invalid_client", "invalid_request")


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
    ids=["token-response", "no-challenge", "plain", "no-method", "malformed-challenge"],
)
def test_authorize_redirects_other_errors_with_state(
    fake: FakeSoundCloud, overrides: Dict[str, Optional[str]], error: str
) -> None:
    reply = authorize(fake, **overrides)
    assert reply.status == 302
    params = parse_qs(urlsplit(reply.headers["location"]).query)
    assert params["error"] == [error] and params["state"] == ["xyz-state"]
    assert params["error_description"][0] and "code" not in params


def test_user_denial_and_kept_redirect_query(fake: FakeSoundCloud) -> None:
    fake.approve_authorizations = False
    params = parse_qs(urlsplit(authorize(fake).headers["location"]).query)
    assert params["error"] == ["access_denied"]


def test_loopback_any_port_is_opt_in() -> None:
    with FakeSoundCloud(tracks=0, redirect_uri="http://127.0.0.1/cb?app=1", loopback_any_port=True) as sc:
        reply = authorize(sc, redirect_uri="http://127.0.0.1:51234/cb?app=1")
        assert reply.status == 302
        assert reply.headers["location"].startswith("http://127.0.0.1:51234/cb?app=1&code=")
        assert authorize(sc, redirect_uri="http://127.0.0.1:51234/other").status == 400


# --------------------------------------------------------------------------- OAuth: /oauth/token


def test_code_is_single_use_and_reuse_revokes(fake: FakeSoundCloud) -> None:
    code, verifier, tokens = login(fake)
    again = exchange(fake, code, verifier)
    assert again.status == 400 and again.json()["error"] == "invalid_grant"
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 401
    assert refresh(fake, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_expires_by_the_injected_clock(timed: FakeSoundCloud, clock: Clock) -> None:
    verifier, challenge = pkce_pair()
    location = authorize(timed, code_challenge=challenge).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    clock.now += 61
    reply = exchange(timed, code, verifier)
    assert reply.status == 400 and reply.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "overrides, status, error",
    [
        ({"code_verifier": "w" * 43}, 400, "invalid_grant"),
        ({"code_verifier": "<omit>"}, 400, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:8765/other"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
    ids=["wrong-verifier", "no-verifier", "other-redirect", "wrong-secret", "other-client", "unknown-code"],
)
def test_code_exchange_rejections(
    fake: FakeSoundCloud, overrides: Dict[str, str], status: int, error: str
) -> None:
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(fake, code_challenge=challenge).headers["location"]).query)["code"][0]
    reply = exchange(fake, code, verifier, **overrides)
    assert reply.status == status and reply.json()["error"] == error
    assert reply.json()["error_description"]
    assert fake.tokens_issued == 0


def test_public_client_without_secret_unless_required(fake: FakeSoundCloud) -> None:
    verifier, challenge = pkce_pair()
    code = parse_qs(urlsplit(authorize(fake, code_challenge=challenge).headers["location"]).query)["code"][0]
    assert exchange(fake, code, verifier, client_secret="<omit>").status == 200
    with FakeSoundCloud(tracks=0, require_secret=True) as strict:
        verifier, challenge = pkce_pair()
        location = authorize(strict, code_challenge=challenge).headers["location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        reply = exchange(strict, code, verifier, client_secret="<omit>")
        assert reply.status == 401 and reply.json()["error"] == "invalid_client"


def test_refresh_rotates_and_old_token_is_dead(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    first = refresh(fake, tokens["refresh_token"])
    assert first.status == 200 and first.headers["cache-control"] == "no-store"
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    reused = refresh(fake, tokens["refresh_token"])
    assert reused.status == 400
    assert reused.json()["error"] == "invalid_grant" and reused.json()["error_description"]
    assert refresh(fake, rotated["refresh_token"]).status == 200
    assert fake.refresh_tokens_used == 2
    assert call(f"{fake.api_url}/me", token=rotated["access_token"]).status == 200


def test_refresh_with_basic_and_mixed_client_authentication(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    url = f"{fake.auth_url}/oauth/token"
    auth = basic(fake.client_id, fake.client_secret)
    mixed = form(url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                       "client_secret": fake.client_secret}, headers=auth)  # fmt: skip
    assert mixed.status == 400 and mixed.json()["error"] == "invalid_request"
    by_basic = form(url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, headers=auth)
    assert by_basic.status == 200
    # A stray bearer token on the token endpoint is not client authentication; body credentials count.
    stray = {"Authorization": f"OAuth {by_basic.json()['access_token']}"}
    fields = {"grant_type": "refresh_token", "refresh_token": by_basic.json()["refresh_token"],
              "client_id": fake.client_id, "client_secret": fake.client_secret}  # fmt: skip
    assert form(url, fields, headers=stray).status == 200
    app = form(url, {"grant_type": "client_credentials"}, headers=stray)
    assert app.status == 401 and app.json()["error"] == "invalid_client"


def test_client_credentials_only_with_basic(fake: FakeSoundCloud) -> None:
    url = f"{fake.auth_url}/oauth/token"
    ok = form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, fake.client_secret))
    assert ok.status == 200 and ok.headers["cache-control"] == "no-store"
    app_token = ok.json()["access_token"]
    assert call(f"{fake.api_url}/tracks/293", token=app_token).status == 200
    assert call(f"{fake.api_url}/me", token=app_token).status == 401
    in_body = form(
        url, {"grant_type": "client_credentials", "client_id": fake.client_id, "client_secret": fake.client_secret}
    )
    assert in_body.status == 401 and in_body.json()["error"] == "invalid_client"
    both = form(
        url, {"grant_type": "client_credentials", "client_id": fake.client_id},
        headers=basic(fake.client_id, fake.client_secret),
    )  # fmt: skip
    assert both.status == 401
    wrong = form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, "nope"))
    assert wrong.status == 401 and "www-authenticate" in wrong.headers
    assert fake.grant_counts == {"client_credentials": 1}


def test_client_credentials_rate_limit_per_window() -> None:
    clock = Clock()
    with FakeSoundCloud(tracks=0, token_rate_limit=2, clock=clock) as sc:
        url = f"{sc.auth_url}/oauth/token"
        auth = basic(sc.client_id, sc.client_secret)
        statuses = [form(url, {"grant_type": "client_credentials"}, headers=auth).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = form(url, {"grant_type": "client_credentials"}, headers=auth)
        assert limited.json() == {"error": "rate_limit_exceeded"}
        assert sc.tokens_issued == 2
        clock.now += 12 * 3600 + 1
        assert form(url, {"grant_type": "client_credentials"}, headers=auth).status == 200


def test_settings_apply_to_a_running_server(fake: FakeSoundCloud) -> None:
    fake.expires_in = 5
    assert fake.issue_token_response()["expires_in"] == 5
    fake.token_rate_limit = 0
    url = f"{fake.auth_url}/oauth/token"
    assert form(url, {"grant_type": "client_credentials"}, headers=basic(fake.client_id, fake.client_secret)).status == 429


@pytest.mark.parametrize(
    "fields, status, error",
    [
        ({"grant_type": "password", "username": "u", "password": "p"}, 400, "unsupported_grant_type"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": "nobody", "refresh_token": "x"}, 401, "invalid_client"),
    ],
    ids=["password", "unknown-grant", "no-grant", "unknown-client"],
)
def test_token_endpoint_rejections(fake: FakeSoundCloud, fields: Dict[str, str], status: int, error: str) -> None:
    reply = form(f"{fake.auth_url}/oauth/token", fields)
    assert reply.status == status and reply.json()["error"] == error


def test_token_endpoint_wants_form_encoding_once(fake: FakeSoundCloud) -> None:
    url = f"{fake.auth_url}/oauth/token"
    as_json = call(url, "POST", headers={"Content-Type": "application/json"}, body=b'{"grant_type":"client_credentials"}')
    assert as_json.status == 400 and as_json.json()["error"] == "invalid_request"
    repeated = call(
        url, "POST", headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"grant_type=refresh_token&grant_type=refresh_token",
    )  # fmt: skip
    assert repeated.status == 400 and repeated.json()["error"] == "invalid_request"
    assert call(url).status == 405


def test_secret_in_the_url_is_refused(fake: FakeSoundCloud) -> None:
    reply = form(f"{fake.auth_url}/oauth/token?client_secret={fake.client_secret}", {"grant_type": "client_credentials"})
    assert reply.status == 400 and reply.json()["error"] == "invalid_request"


def test_sign_out_revokes_access_and_refresh(fake: FakeSoundCloud) -> None:
    _, _, tokens = login(fake)
    body = json.dumps({"access_token": tokens["access_token"]}).encode()
    out = call(f"{fake.auth_url}/sign-out", "POST", headers={"Content-Type": "application/json"}, body=body)
    assert out.status == 200
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 401
    assert refresh(fake, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert call(f"{fake.auth_url}/sign-out", "POST", body=b"nope").status == 400


def test_issue_token_response_refreshes_like_the_endpoint(fake: FakeSoundCloud) -> None:
    tokens = fake.issue_token_response()
    assert call(f"{fake.api_url}/me", token=tokens["access_token"]).status == 200
    assert refresh(fake, tokens["refresh_token"]).status == 200
    assert fake.tokens_issued == 1  # the refresh, not the minting


def test_secrets_never_reach_the_output(fake: FakeSoundCloud, capfd: pytest.CaptureFixture[str]) -> None:
    _, _, tokens = login(fake)
    refresh(fake, tokens["refresh_token"])
    call(f"{fake.api_url}/me", token=tokens["access_token"])
    captured = capfd.readouterr()
    for secret in (tokens["access_token"], tokens["refresh_token"], fake.client_secret):
        assert secret not in captured.out and secret not in captured.err
