"""parse_callback_url, the pure half of a headless login: what a user pastes as the address the
browser ended on (the whole URL, without its scheme, the query alone, wrapped in quotes or angle
brackets) gives the redirect's parameters; the login page's own address, another address, one
without a code, or too much text is a ValueError saying what to paste, never what was pasted."""

from __future__ import annotations

from typing import Dict

import pytest

from soundcloud.auth.oauth import MAX_CALLBACK_URL, parse_callback_url

REDIRECT = "http://127.0.0.1:8765/callback"
CODE = "c0de-Only-The-Server-Knows_42"
STATE = "st4te-0f-this-login~x"
QUERY = f"code={CODE}&state={STATE}"
EXPECTED: Dict[str, str] = {"code": CODE, "state": STATE}


@pytest.mark.parametrize(
    "pasted",
    [
        f"{REDIRECT}?{QUERY}",
        f"127.0.0.1:8765/callback?{QUERY}",  # the address bar without its scheme
        f"?{QUERY}",
        QUERY,
        f"/callback?{QUERY}",
        f"  {REDIRECT}?{QUERY}\r\n",
        f"<{REDIRECT}?{QUERY}>",
        f"\"{REDIRECT}?{QUERY}\"",
        f"'<{REDIRECT}?{QUERY}>'",
        f"`{REDIRECT}?{QUERY}`",
        f"HTTP://127.0.0.1:8765/callback?{QUERY}#_=_",  # scheme case; a fragment the browser added
    ],
    ids=repr,
)
def test_what_a_user_pastes_gives_the_redirects_parameters(pasted: str) -> None:
    assert parse_callback_url(pasted, REDIRECT) == EXPECTED


def test_an_error_redirect_gives_its_error_and_description() -> None:
    pasted = f"{REDIRECT}?error=access_denied&error_description=the+user+said+no&state={STATE}"
    assert parse_callback_url(pasted, REDIRECT) == {
        "error": "access_denied",
        "error_description": "the user said no",
        "state": STATE,
    }


def test_default_ports_and_the_redirects_own_query_match() -> None:
    assert parse_callback_url(f"https://app.example/cb?{QUERY}", "https://app.example:443/cb") == EXPECTED
    own = "https://app.example/cb?client_id=mine"  # a redirect URI may carry a query of its own
    assert parse_callback_url(f"{own}&{QUERY}", own) == {"client_id": "mine", **EXPECTED}
    ipv6 = "http://[::1]:8765/callback"
    assert parse_callback_url(f"[::1]:8765/callback?{QUERY}", ipv6) == EXPECTED


@pytest.mark.parametrize(
    "pasted, says",
    [
        (f"http://127.0.0.1:8766/callback?{QUERY}", "not this login's redirect"),  # another port
        (f"http://localhost:8765/callback?{QUERY}", "not this login's redirect"),  # another host
        (f"https://127.0.0.1:8765/callback?{QUERY}", "not this login's redirect"),  # another scheme
        (f"http://127.0.0.1:8765/other?{QUERY}", "not this login's redirect"),  # another path
        (f"127.0.0.1:8765/other?{QUERY}", "not this login's redirect"),
        (f"/other?{QUERY}", "not this login's redirect"),
        (f"http://127.0.0.1:99999/callback?{QUERY}", "not this login's redirect"),  # a bad port
        (f"http://[::1/callback?{QUERY}", "not this login's redirect"),  # unparsable
        (REDIRECT, "no code"),
        ("127.0.0.1:8765/callback", "no code"),
        (f"{REDIRECT}?state={STATE}", "no code"),
        (f"{REDIRECT}#{QUERY}", "no code"),  # in the fragment: not where a redirect puts it
        ("just some words", "no code"),
        ("", "nothing was pasted"),
        (" <> ", "nothing was pasted"),
        (f"?{QUERY}&code=another", "code more than once"),
        (f"?{QUERY}&state=another", "state more than once"),
        ("?" + "&".join(f"p{i}=v" for i in range(60)) + "&" + QUERY, "too many parameters"),
        (f"?{QUERY}&pad=" + "x" * MAX_CALLBACK_URL, f"over {MAX_CALLBACK_URL} characters"),
    ],
    ids=lambda value: value[:60] if isinstance(value, str) else value,
)
def test_anything_else_says_what_to_paste_and_never_what_was_pasted(pasted: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_callback_url(pasted, REDIRECT)
    message = str(info.value)
    assert says in message
    assert "paste the address the browser ended on after you approved" in message
    assert f"{REDIRECT}?code=...&state=..." in message  # what it looks like
    assert CODE not in message and STATE not in message


@pytest.mark.parametrize(
    "authorize_url",
    [
        "https://secure.soundcloud.com/authorize?client_id=abc&redirect_uri=http%3A%2F%2F127.0.0.1"
        f"%3A8765%2Fcallback&response_type=code&code_challenge=xyz&code_challenge_method=S256&state={STATE}",
        f"secure.soundcloud.com/authorize?response_type=code&state={STATE}",
        f"?client_id=abc&state={STATE}",
        # Even at the redirect's own address: those parameters belong to the request, not its answer.
        f"{REDIRECT}?code_challenge=xyz&{QUERY}",
    ],
    ids=["the authorize URL", "without scheme", "its query", "at the redirect"],
)
def test_the_login_pages_own_address_gets_the_hint(authorize_url: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_callback_url(authorize_url, REDIRECT)
    assert str(info.value).startswith(
        "that is the login page's address; paste the address the browser ended on after you approved"
    )
    assert STATE not in str(info.value)


def test_only_a_str_is_taken() -> None:
    # Compiled, the argument check at the call says it in its own words.
    with pytest.raises(TypeError, match="str.*bytes|bytes.*str"):
        parse_callback_url(QUERY.encode(), REDIRECT)  # type: ignore[arg-type]
