"""Nothing secret anywhere: one session against the fake SoundCloud goes through an app token,
the code exchange, a proactive refresh, a 401 refresh, refused grants, a forged state, a wrong
client secret and sign-out, and no client secret, code, verifier, access or refresh token shows
up in any repr, str, exception or log line it produced."""

from __future__ import annotations

import logging
from typing import Any, List

import pytest

import soundcloud
from soundcloud.auth import Token, basic_authorization

from support.clients import authorize, make_client
from support.fake_calls import Clock


# -- nothing secret anywhere ---------------------------------------------------------------


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
