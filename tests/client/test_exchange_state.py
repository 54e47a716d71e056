"""The CSRF check of exchange_token (RFC 6749 10.12) against the fake SoundCloud: whenever a
``state`` is given it is compared with the login's, an empty or non-string one included, and a
mismatch sends nothing and spends nothing; ``exchange_token(code)`` without a state skips the
check, as it always did (the README says so and why to pass it)."""

from __future__ import annotations

from typing import Any

import pytest

import soundcloud

from support.clients import authorize, make_client, token_requests


@pytest.mark.parametrize("given", ["", " ", "\x00", b"state", 0, ["state"]], ids=repr)
def test_any_given_state_is_checked(fake: Any, given: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    code, state = authorize(client.authorize_url())
    with pytest.raises((soundcloud.StateMismatchError, TypeError)) as info:
        client.exchange_token(code, state=given)
    assert code not in str(info.value) and state not in str(info.value)
    assert token_requests(fake) == [] and client.token is None
    assert client.exchange_token(code, state=state).access_token  # nothing was spent


def test_the_state_the_callback_brought_back_must_be_this_logins(fake: Any) -> None:
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    code, state = authorize(client.authorize_url())
    other = make_client(fake, redirect_uri=fake.redirect_uri)
    with pytest.raises(soundcloud.StateMismatchError):
        client.exchange_token(code, state=other.state)
    with pytest.raises(soundcloud.StateMismatchError):
        client.exchange_token(code, state=state.upper() if state != state.upper() else state.lower())
    assert token_requests(fake) == []


def test_without_a_state_the_check_is_skipped_for_compatibility(fake: Any) -> None:
    # The seed README exchanged the code alone; that still works (the caller then owns the check).
    client = make_client(fake, redirect_uri=fake.redirect_uri)
    code, _ = authorize(client.authorize_url())
    assert client.exchange_token(code).access_token and len(token_requests(fake)) == 1
