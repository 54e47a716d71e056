"""What a Token may hold, checked wherever one comes from (no socket opened): the access and
refresh tokens are printable ASCII (RFC 6749 A.12, A.17: VSCHAR), so a newline read with a
token from a file is refused with a message that never shows the token; ``expires_in`` is a
whole number of seconds in range and ``expires_at`` a finite timestamp, so Infinity, 1e400,
NaN, ``"²"``, negatives and booleans become the package's errors (ValueError for a Token built
by hand, OAuthError for a token endpoint's answer, TokenStoreError for a token file), never an
OverflowError; and JSON nested 200,000 deep in a token file is a TokenStoreError, not a
RecursionError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

import soundcloud
from soundcloud.auth import FileTokenStore, Token, token_from_response

SECRET = "SECRETtok9f8e7d"

# Characters a token must not contain: line ends (a file read with its newline), other
# control characters, DEL, and anything beyond ASCII (http.client would send it as Latin-1).
BAD_TOKENS = [
    SECRET + "\n",
    SECRET + "\r\n",
    "\n" + SECRET,
    SECRET[:6] + "\x00" + SECRET[6:],
    SECRET + "\t",
    SECRET + "\x7f",
    SECRET + "\x85",
    SECRET + "\u2028",
    SECRET + "é",
]


def hides_the_secret(exc: BaseException) -> bool:
    text = str(exc) + repr(exc.args)
    return SECRET not in text and SECRET[:8] not in text


# -- control characters --------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_a_token_with_a_control_character_is_refused_without_echo(bad: str) -> None:
    with pytest.raises(ValueError, match="access token") as info:
        Token(bad)
    assert hides_the_secret(info.value)
    with pytest.raises(ValueError, match="refresh token") as info:
        Token("fine-access", bad)
    assert hides_the_secret(info.value)
    with pytest.raises(ValueError) as info:
        Token.from_dict({"access_token": bad})
    assert hides_the_secret(info.value)
    with pytest.raises(soundcloud.OAuthError) as oauth:
        token_from_response({"access_token": bad}, now=0.0, grant_type="refresh_token")
    assert hides_the_secret(oauth.value) and oauth.value.error == "invalid_response"
    with pytest.raises(soundcloud.OAuthError) as oauth:
        token_from_response({"access_token": "fine", "refresh_token": bad}, now=0.0, grant_type="refresh_token")
    assert hides_the_secret(oauth.value)


@pytest.mark.parametrize("bad", BAD_TOKENS[:3])
def test_a_token_file_with_a_newline_in_the_token_is_a_clear_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "token.json"
    for field in ("access_token", "refresh_token"):
        saved = {"access_token": "fine-access", field: bad}
        path.write_text(json.dumps(saved))
        with pytest.raises(soundcloud.errors.TokenStoreError) as info:
            FileTokenStore(path).load()
        assert hides_the_secret(info.value) and str(path) in str(info.value)
        assert field.replace("_", " ") in str(info.value)


def test_printable_ascii_tokens_are_kept_as_they_are() -> None:
    # RFC 6749 A.12: VSCHAR is %x20-7E, so spaces and punctuation are allowed as sent.
    odd = "2-290013-1/a+b=c~d.e_f!{}\"'` x"
    token = Token(odd, odd)
    assert (token.access_token, token.refresh_token) == (odd, odd)
    assert Token.from_dict(json.loads(json.dumps(token.to_dict()))) == token


# -- numbers -------------------------------------------------------------------------------

# Raw JSON for expires_in that is not a usable number of seconds (Python's json module
# accepts Infinity, NaN and 1e400, the last one as inf).
BAD_EXPIRES_IN = ["Infinity", "-Infinity", "NaN", "1e400", '"\u00b2"', '"\u0663\u0666"', "-1", '"-5"', "true",
                  "false", '"3600s"', '""', "[3600]", "{}", "1" + "0" * 400, "1e300"]


@pytest.mark.parametrize("raw", BAD_EXPIRES_IN)
def test_odd_expires_in_from_the_token_endpoint_is_an_oauth_error(raw: str) -> None:
    data = json.loads('{"access_token": "A", "refresh_token": "R", "expires_in": %s}' % raw)
    with pytest.raises(soundcloud.OAuthError, match="expires_in") as info:
        token_from_response(data, now=1000.0, grant_type="refresh_token")
    assert info.value.error == "invalid_response"


@pytest.mark.parametrize("raw, seconds", [("3599", 3599), ("3599.9", 3599), ('"3600"', 3600), ("0", 0),
                                          ("null", None)])
def test_usable_expires_in_values(raw: str, seconds: Any) -> None:
    data = json.loads('{"access_token": "A", "expires_in": %s}' % raw)
    token = token_from_response(data, now=1000.0, grant_type="refresh_token")
    assert token.expires_in == seconds
    assert token.expires_at == (None if seconds is None else 1000.0 + seconds)


@pytest.mark.parametrize(
    "field, raw",
    [("expires_in", value) for value in BAD_EXPIRES_IN]
    + [("expires_at", value) for value in ("Infinity", "-Infinity", "NaN", "1e400", "1" + "0" * 400, "-1", "true")],
)
def test_odd_numbers_in_a_token_file_are_a_token_store_error(tmp_path: Path, field: str, raw: str) -> None:
    path = tmp_path / "token.json"
    path.write_text('{"access_token": "%s", "%s": %s}' % (SECRET, field, raw))
    with pytest.raises(soundcloud.errors.TokenStoreError, match=field) as info:
        FileTokenStore(path).load()
    assert hides_the_secret(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"expires_in": -1}, {"expires_in": 10**12}, {"expires_at": float("nan")}, {"expires_at": float("inf")},
     {"expires_at": -1.0}],
)
def test_a_token_built_by_hand_checks_its_numbers(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="expires_"):
        Token("a", **kwargs)
    with pytest.raises(ValueError, match="expires_"):
        soundcloud.Client(token={"access_token": "a", **kwargs})


def test_a_nan_expiry_never_reaches_the_expiry_check() -> None:
    # Before: a NaN expires_at compared False with every time, so the token never expired.
    with pytest.raises(ValueError, match="expires_at"):
        Token.from_dict({"access_token": "a", "expires_at": float("nan")})
    assert Token.from_dict({"access_token": "a", "expires_at": 5}).expires_within(0, now=5.0)


# -- deep nesting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "[" * 200_000 + "]" * 200_000,
        '{"access_token": "a", "scope": ' + "[" * 200_000 + "]" * 200_000 + "}",
        '{"a":' * 100_000 + "1" + "}" * 100_000,
    ],
    ids=["array", "inside-a-token", "objects"],
)
def test_deeply_nested_json_in_a_token_file_is_a_token_store_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token.json"
    path.write_text(content)
    with pytest.raises(soundcloud.errors.TokenStoreError) as info:
        FileTokenStore(path).load()
    assert str(path) in str(info.value) and "log in again" in str(info.value)
