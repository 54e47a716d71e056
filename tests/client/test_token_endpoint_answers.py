"""What a client does with a token endpoint's answer that is not a usable token, against real
servers on loopback: JSON nested 200,000 deep (as a token or as an error) is an OAuthError, not a
RecursionError; a token holding a line break or another control character is refused without
being shown; Infinity, 1e400, NaN, ``"²"``, negative or boolean ``expires_in`` is an OAuthError
naming the field, not an OverflowError or ValueError. A token given to the constructor with the
newline of the file it was read from is refused before anything is sent, without being shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

import soundcloud

from support.clients import ScriptedAuthServer, make_client, token_requests

NESTED = b"[" * 200_000 + b"]" * 200_000
SECRET = "SECRETtok9f8e7d"


def app_token_error(fake: Any, status: int, body: bytes) -> soundcloud.OAuthError:
    """The error of an app-token request answered ``status`` with ``body`` (JSON)."""
    with ScriptedAuthServer(status, body, "application/json") as server:
        client = make_client(fake, client_secret=fake.client_secret, auth_url=server.url)
        with pytest.raises(soundcloud.OAuthError) as info:
            client.get("/tracks", limit=1)
        assert len(server.requests) == 1 and client.token is None
    assert fake.requests_to("api") == []  # nothing went to the API without a token
    return info.value


@pytest.mark.parametrize("status", [200, 400, 401, 500])
def test_deeply_nested_json_from_the_token_endpoint_is_an_oauth_error(fake: Any, status: int) -> None:
    error = app_token_error(fake, status, NESTED)
    assert error.status_code == status and str(status) in str(error)


def test_deeply_nested_json_inside_a_token_answer(fake: Any) -> None:
    body = b'{"access_token": "a", "scope": ' + NESTED + b"}"
    error = app_token_error(fake, 200, body)
    assert error.status_code == 200


@pytest.mark.parametrize("bad", [SECRET + "\n", SECRET + "\r\n", SECRET + "\x00", SECRET + "\u2028"])
@pytest.mark.parametrize("field", ["access_token", "refresh_token"])
def test_a_token_answer_with_a_control_character_is_refused_unshown(fake: Any, field: str, bad: str) -> None:
    answer = {"access_token": "fine-access", "refresh_token": "fine-refresh", "expires_in": 3600, field: bad}
    error = app_token_error(fake, 200, json.dumps(answer).encode())
    assert field.replace("_", " ") in str(error) and error.error == "invalid_response"
    assert SECRET not in str(error) and SECRET not in repr(error.args)


@pytest.mark.parametrize("raw", ["Infinity", "-Infinity", "NaN", "1e400", '"\u00b2"', "-1", "true", '"36OO"'])
def test_odd_expires_in_from_the_token_endpoint(fake: Any, raw: str) -> None:
    body = ('{"access_token": "A-%s", "refresh_token": "R", "expires_in": %s}' % (SECRET, raw)).encode()
    error = app_token_error(fake, 200, body)
    assert "expires_in" in str(error) and error.error == "invalid_response"
    assert SECRET not in str(error)


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " \x00"])
def test_a_token_read_with_its_newline_is_refused_before_sending(fake: Any, suffix: str) -> None:
    token = fake.issue_token()
    with pytest.raises(ValueError, match="access token") as info:
        make_client(fake, access_token=token + suffix)
    assert token not in str(info.value) and "newline" in str(info.value)
    refresh = fake.issue_token_response()["refresh_token"]
    with pytest.raises(ValueError, match="refresh token") as info:
        make_client(fake, refresh_token=refresh + suffix)
    assert refresh not in str(info.value)
    with pytest.raises(ValueError, match="refresh token"):
        make_client(fake, access_token=token, refresh_token=refresh + suffix)
    assert fake.requests == [] and token_requests(fake) == []
    # The same tokens without the newline work.
    assert make_client(fake, access_token=token).get("/me").id == fake.user_id
