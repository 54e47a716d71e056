"""The OAuth 2.1 protocol as pure functions: no I/O, no state.

- PKCE (RFC 7636): :func:`generate_code_verifier`, :func:`validate_code_verifier`,
  :func:`create_s256_code_challenge`.
- ``state`` (RFC 6749 10.12): :func:`generate_state` and the constant-time check
  :func:`states_equal`.
- Redirect URIs (RFC 8252 7.3, RFC 6749 3.1.2): :func:`validate_redirect_uri`; the address
  the browser ended on, as a user pastes it (a headless login): :func:`parse_callback_url`.
- The authorization request (RFC 6749 4.1.1, RFC 7636 4.3): :func:`build_authorize_url`.
- Grant bodies (RFC 6749 4.1.3, 4.4, 6) and client authentication (2.3.1):
  :func:`authorization_code_body`, :func:`refresh_token_body`,
  :func:`client_credentials_body`, :func:`basic_authorization`.
- Error responses (RFC 6749 5.2, 4.1.2.1): :func:`oauth_error_from_response`,
  :func:`oauth_error_from_redirect`, one exception class per error code, with advice.
- The protocol's constants: endpoint paths, grant names, limits.

No secret given to these functions ever appears in a message they build.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Callable, Dict, Final, List, Optional, Tuple, Type, cast
from urllib.parse import SplitResult, parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from .._json import loads
from .._redact import redact_text, redact_url
from ..errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    RateLimitedTokenError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)

__all__ = [
    "AUTHORIZATION_CODE",
    "AUTHORIZE_PATH",
    "AUTH_SCHEME",
    "CLIENT_CREDENTIALS",
    "LOOPBACK_HOSTS",
    "LOOPBACK_PATH",
    "MAX_TOKEN_RESPONSE",
    "REFRESH_TOKEN",
    "SIGN_OUT_PATH",
    "TOKEN_PATH",
    "authorization_code_body",
    "basic_authorization",
    "build_authorize_url",
    "client_credentials_body",
    "create_s256_code_challenge",
    "generate_code_verifier",
    "generate_state",
    "oauth_error_from_redirect",
    "oauth_error_from_response",
    "parse_callback_url",
    "password_grant_removed",
    "refresh_token_body",
    "states_equal",
    "validate_code_verifier",
    "validate_redirect_uri",
]

AUTHORIZE_PATH: Final = "/authorize"
TOKEN_PATH: Final = "/oauth/token"
SIGN_OUT_PATH: Final = "/sign-out"
AUTH_SCHEME: Final = "OAuth "

# RFC 7636 4.1: 43 to 128 characters of the unreserved set [A-Z a-z 0-9 - . _ ~].
VERIFIER_MIN_LENGTH: Final = 43
VERIFIER_MAX_LENGTH: Final = 128
DEFAULT_VERIFIER_LENGTH: Final = 64
UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
STATE_BYTES: Final = 24

CLIENT_CREDENTIALS: Final = "client_credentials"
AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"

MAX_TOKEN_RESPONSE: Final = 1024 * 1024
MAX_DESCRIPTION: Final = 500
# RFC 8252 7.3: plain http redirect URIs only on a loopback address.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
LOOPBACK_PATH: Final = "/callback"
# What a user may paste as the address the browser ended on: longer is not a login redirect
# (a code and a state are tens of characters), and it bounds the work on whatever was pasted.
MAX_CALLBACK_URL: Final = 8192
MAX_CALLBACK_FIELDS: Final = 50
# Parameters of the authorization request (RFC 6749 4.1.1, RFC 7636 4.3), never of its answer:
# an address carrying them is the login page's, pasted instead of where the browser ended.
AUTHORIZE_ONLY_PARAMS: Final = ("response_type", "client_id", "code_challenge")
# Around an address copied from a terminal, a chat or a mail: quotes, and the <> that RFC 3986
# appendix C suggests as the delimiters of a URI in text.
_URL_WRAPPERS: Final = (("<", ">"), ('"', '"'), ("'", "'"), ("`", "`"))
_DEFAULT_PORTS: Final[Dict[str, int]] = {"http": 80, "https": 443}

OAUTH_ERRORS: Final[Dict[str, Type[OAuthError]]] = {
    "invalid_request": InvalidRequestError,
    "invalid_client": InvalidClientError,
    "invalid_grant": InvalidGrantError,
    "unauthorized_client": UnauthorizedClientError,
    "unsupported_grant_type": UnsupportedGrantTypeError,
    "invalid_scope": InvalidScopeError,
    "access_denied": AccessDeniedError,
    "rate_limit_exceeded": RateLimitedTokenError,
}


# --------------------------------------------------------------------------- PKCE and grants


def _secure_random_bytes() -> Callable[[int], bytes]:
    # secrets (and the random module it loads) is imported on first use, not with the package.
    import secrets

    return secrets.token_bytes


def generate_code_verifier(
    length: int = DEFAULT_VERIFIER_LENGTH, token_bytes: Optional[Callable[[int], bytes]] = None
) -> str:
    """A PKCE code verifier (RFC 7636 4.1): ``length`` random base64url characters.

    ``token_bytes`` is the random source (default ``secrets.token_bytes``); every character
    carries 6 random bits, so the default 64 characters hold 384 bits.
    """
    if token_bytes is None:
        token_bytes = _secure_random_bytes()
    if not VERIFIER_MIN_LENGTH <= length <= VERIFIER_MAX_LENGTH:
        raise ValueError(
            f"a code verifier has {VERIFIER_MIN_LENGTH} to {VERIFIER_MAX_LENGTH} characters, not {length}"
        )
    verifier = base64.urlsafe_b64encode(token_bytes(length)).decode("ascii").rstrip("=")[:length]
    if len(verifier) != length:
        raise ValueError(f"the random source gave too few bytes for a {length}-character verifier")
    return verifier


def validate_code_verifier(verifier: str) -> str:
    """Return ``verifier`` if it is 43-128 unreserved characters (RFC 7636 4.1), else ValueError."""
    if (
        not isinstance(verifier, str)
        or not VERIFIER_MIN_LENGTH <= len(verifier) <= VERIFIER_MAX_LENGTH
        or not UNRESERVED.issuperset(verifier)
    ):
        # The value itself is never shown: it is a secret until the exchange.
        raise ValueError(
            f"code_verifier must be {VERIFIER_MIN_LENGTH} to {VERIFIER_MAX_LENGTH} characters of"
            " A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1); pass the client.code_verifier of the login"
        )
    return verifier


def create_s256_code_challenge(verifier: str) -> str:
    """The S256 code challenge: BASE64URL(SHA-256(ASCII(verifier))) without padding (RFC 7636 4.2).

        >>> create_s256_code_challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def generate_state(token_bytes: Optional[Callable[[int], bytes]] = None) -> str:
    """A random, URL-safe ``state`` value (RFC 6749 10.12: CSRF protection of the callback)."""
    if token_bytes is None:
        token_bytes = _secure_random_bytes()
    return base64.urlsafe_b64encode(token_bytes(STATE_BYTES)).decode("ascii").rstrip("=")


def validate_redirect_uri(uri: str) -> str:
    """Return ``uri`` if it is https, or http on a loopback address (RFC 8252 7.3), else ValueError."""
    if not isinstance(cast(object, uri), str):
        raise TypeError(f"redirect_uri must be a str URL, not {type(uri).__name__}")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - parsed for its ValueError on a bad port
    except ValueError:
        raise ValueError(f"redirect_uri {redact_url(uri)!r} is not a valid URL") from None
    if parts.fragment:
        raise ValueError("redirect_uri must not contain a fragment (RFC 6749 3.1.2)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("redirect_uri must not contain user info")
    scheme = parts.scheme.lower()
    if scheme == "https" and host:
        return uri
    if scheme == "http" and host in LOOPBACK_HOSTS:
        return uri
    raise ValueError(
        f"redirect_uri {redact_url(uri)!r} is not allowed: use https, or http on a loopback"
        " address only (http://127.0.0.1:<port>/callback, http://[::1]:<port>/..., http://localhost:<port>/...)"
    )


def _unwrap(text: str) -> str:
    text = text.strip()
    changed = True
    while changed and len(text) >= 2:
        changed = False
        for opening, closing in _URL_WRAPPERS:
            if text.startswith(opening) and text.endswith(closing):
                text = text[1:-1].strip()
                changed = True
    return text


def parse_callback_url(text: str, redirect_uri: str) -> Dict[str, str]:
    """The parameters of the redirect the browser ended on, from what a user pasted.

    Takes the whole address (``http://127.0.0.1:8765/callback?code=...&state=...``), the
    address without its scheme (``127.0.0.1:8765/callback?code=...``), or its query alone
    (``?code=...&state=...`` or ``code=...&state=...``), with whitespace, quotes or angle
    brackets around it. Where it names a host or a path, they must be ``redirect_uri``'s
    (scheme, host, port and path). Returns the query's parameters (``code``, ``state``,
    ``error``, ``error_description``); the ``state`` is left for the caller to check.

    Raises ValueError saying what to paste instead, and never showing what was pasted (it
    may hold a code): for the login page's own address, another address, no code.
    """
    if not isinstance(cast(object, text), str):
        raise TypeError(f"the callback URL must be a str, not {type(text).__name__}")
    expected = urlsplit(redirect_uri)
    shown = redact_url(urlunsplit((expected.scheme, expected.netloc, expected.path or "/", "", "")))
    paste_this = f"paste the address the browser ended on after you approved (like {shown}?code=...&state=...)"
    pasted = _unwrap(text)
    if not pasted:
        raise ValueError("nothing was pasted: " + paste_this)
    if len(pasted) > MAX_CALLBACK_URL:
        raise ValueError(f"that is over {MAX_CALLBACK_URL} characters, too long for a login redirect: {paste_this}")
    # A fragment is the browser's own, never the server's (RFC 6749 4.1.2 answers in the query).
    address = pasted.partition("#")[0]
    location, question, query = address.partition("?")
    if not question:
        equals, slash = location.find("="), location.find("/")
        if "://" in location or equals < 0 or 0 <= slash < equals:
            raise ValueError(f"that address carries no code (nothing after '?'): {paste_this}")
        location, query = "", location  # the query alone, without its '?'
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_CALLBACK_FIELDS)
    except ValueError:
        raise ValueError(f"that address has too many parameters for a login redirect: {paste_this}") from None
    names = [name for name, _ in pairs]
    own = {name for name, _ in parse_qsl(expected.query)}  # a redirect URI may carry a query
    if any(name in names and name not in own for name in AUTHORIZE_ONLY_PARAMS):
        raise ValueError("that is the login page's address; " + paste_this)
    if location and not _same_location(location, expected):
        raise ValueError(f"that address is not this login's redirect: {paste_this}")
    for name in ("code", "state", "error"):
        if names.count(name) > 1:
            # RFC 6749 3.1: parameters must not be included more than once.
            raise ValueError(f"that address carries {name} more than once (RFC 6749 3.1): {paste_this}")
    params = dict(pairs)
    if "code" not in params and "error" not in params:
        raise ValueError(f"that address carries no code: {paste_this}")
    return params


def _same_location(location: str, expected: SplitResult) -> bool:
    """Whether the part of a pasted address before '?' is the redirect URI's (RFC 3986 6.2.3)."""
    if location.startswith("/") and not location.startswith("//"):
        return location == (expected.path or "/")  # a path alone
    if "://" not in location:
        location = expected.scheme + "://" + location.lstrip("/")  # the address without its scheme
    try:
        parts = urlsplit(location)
        port = parts.port
        expected_port = expected.port
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    expected_scheme = expected.scheme.lower()
    return (
        scheme == expected_scheme
        and parts.hostname == expected.hostname
        and (port or _DEFAULT_PORTS.get(scheme)) == (expected_port or _DEFAULT_PORTS.get(expected_scheme))
        and (parts.path or "/") == (expected.path or "/")
    )


def build_authorize_url(
    auth_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    state: str,
    scope: Optional[str] = None,
) -> str:
    """The authorization request URL (RFC 6749 4.1.1 with RFC 7636 4.3, method S256)."""
    params = [
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("code_challenge", code_challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
    ]
    if scope:
        params.append(("scope", scope))
    return auth_url.rstrip("/") + AUTHORIZE_PATH + "?" + urlencode(params)


def authorization_code_body(
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    code_verifier: str,
    client_secret: Optional[str] = None,
) -> List[Tuple[str, str]]:
    """Form fields of the code exchange (RFC 6749 4.1.3, RFC 7636 4.5)."""
    body = [
        ("grant_type", AUTHORIZATION_CODE),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", code_verifier),
    ]
    if client_secret:
        body.append(("client_secret", client_secret))
    return body


def refresh_token_body(
    *, refresh_token: str, client_id: str, client_secret: Optional[str] = None
) -> List[Tuple[str, str]]:
    """Form fields of a refresh (RFC 6749 6); SoundCloud takes the client credentials in the body."""
    body = [("grant_type", REFRESH_TOKEN), ("client_id", client_id), ("refresh_token", refresh_token)]
    if client_secret:
        body.append(("client_secret", client_secret))
    return body


def client_credentials_body() -> List[Tuple[str, str]]:
    """Form fields of the client-credentials grant: the grant type only (the client goes in Basic)."""
    return [("grant_type", CLIENT_CREDENTIALS)]


def basic_authorization(client_id: str, client_secret: str) -> str:
    """``Basic`` client authentication (RFC 6749 2.3.1): both parts form-urlencoded first."""
    pair = quote_plus(client_id, safe="") + ":" + quote_plus(client_secret, safe="")
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def states_equal(given: str, expected: str) -> bool:
    """Whether the callback's ``state`` is the login's (RFC 6749 10.12), in constant time.

    False for anything but a non-empty string equal to a non-empty ``expected``.
    """
    import hmac
    if not isinstance(cast(object, given), str) or not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def _scrub(text: str, secrets_: List[str]) -> str:
    cleaned = "".join(ch if ch.isprintable() else " " for ch in redact_text(text, secrets_))
    if len(cleaned) > MAX_DESCRIPTION:
        cleaned = cleaned[:MAX_DESCRIPTION] + "..."
    return cleaned


def oauth_error_from_response(
    status_code: int,
    body: bytes,
    *,
    action: str = "",
    redact: Optional[List[str]] = None,
) -> OAuthError:
    """The OAuthError subclass for an error response of the authorization server.

    ``{"error": "invalid_grant", "error_description": ...}`` gives InvalidGrantError, and so
    on (one class per RFC 6749 5.2 code); a 429 gives RateLimitedTokenError; a body that is
    not OAuth error JSON (an HTML error page, say) gives an OAuthError naming the status.
    ``action`` (like ``'refreshing the access token'``) goes into the message; any of
    ``redact`` echoed by the server is blanked out.
    """
    hidden = redact or []
    data: Any = None
    try:
        # soundcloud._json: JSON nested past the recursion limit is a ValueError there.
        data = loads(body) if body else None
    except ValueError:
        data = None
    code: Optional[str] = None
    description: Optional[str] = None
    if isinstance(data, dict):
        raw_code = data.get("error")
        if isinstance(raw_code, str) and raw_code:
            code = _scrub(raw_code, hidden)
        raw_description = data.get("error_description")
        if isinstance(raw_description, str) and raw_description:
            description = _scrub(raw_description, hidden)
    cls = OAUTH_ERRORS.get(code or "", OAuthError)
    if status_code == 429:
        cls = RateLimitedTokenError
    elif code is None and status_code == 401:
        cls = InvalidClientError
    doing = f" {action}" if action else ""
    if code is None:
        said = "an error response that is not OAuth error JSON"
    else:
        said = code + (f": {description}" if description else "")
    message = f"SoundCloud's authorization server refused{doing} ({status_code}, {said})"
    advice = _ADVICE.get(cls.error, "")
    if advice:
        message += "; " + advice
    return cls(message, error=code, error_description=description, status_code=status_code)


def oauth_error_from_redirect(error: str, description: str) -> OAuthError:
    """The OAuthError for an error redirect to the callback (RFC 6749 4.1.2.1).

    ``error`` and ``description`` are the redirect's ``error`` and ``error_description``
    (``''`` when absent); both are cleaned of unprintable characters and shortened.
    """
    cls = OAUTH_ERRORS.get(error, OAuthError)
    said = _scrub(error, []) + (": " + _scrub(description, []) if description else "")
    return cls(
        f"the login was not authorized ({said})", error=error, error_description=description or None
    )


def password_grant_removed() -> DeprecationWarning:
    """The error for ``username=``/``password=``: the password grant is gone (OAuth 2.1)."""
    # Raised, not warned: the password grant is gone from SoundCloud (OAuth 2.1), so going on
    # would only fail later with a less helpful message.
    return DeprecationWarning(
        "the username/password (password grant) flow was removed from SoundCloud with"
        " OAuth 2.1; use the Authorization Code flow with PKCE instead:"
        " Client(client_id=..., redirect_uri=...).authorize_url(), then exchange_token(code)"
        " (or client.login() for command-line apps)"
    )


_ADVICE: Final[Dict[str, str]] = {
    "invalid_grant": (
        "the authorization code or refresh token is invalid, expired or already used (both are"
        " single-use): authorize again (client.authorize_url() and exchange_token(), or client.login())"
    ),
    "invalid_client": "check client_id and client_secret",
    "rate_limit_exceeded": (
        "SoundCloud allows 50 app tokens per 12 h per app and 30 per hour per IP address: reuse"
        " the token (a token_store keeps it across runs) and try again later"
    ),
    "unsupported_grant_type": "the password grant was removed; use the Authorization Code flow with PKCE",
}
