"""OAuth 2.1 for SoundCloud: PKCE, the grants, tokens, their storage and their lifecycle.

The pieces, from pure to stateful:

- PKCE (RFC 7636) and grant bodies (RFC 6749) as small pure functions:
  :func:`generate_code_verifier`, :func:`create_s256_code_challenge`,
  :func:`build_authorize_url`, :func:`authorization_code_body`,
  :func:`refresh_token_body`, :func:`client_credentials_body`, :func:`basic_authorization`.
- :class:`Token`, the token response with its absolute expiry; ``repr`` hides its secrets.
- :class:`TokenStore` and :class:`FileTokenStore`: where a Token is kept between runs.
- :class:`Authenticator`: the token lifecycle behind a :class:`~soundcloud.Client` (code
  exchange, refresh before expiry and after a 401, app tokens from the client-credentials
  grant, one refresh at a time, persistence, sign-out).
- :func:`loopback_login`: the RFC 8252 login for scripts and command-line tools.

Web apps build a new Client per request, so the PKCE verifier and the ``state`` of a login
travel in the user's session between the two requests::

    # /login
    client = soundcloud.Client(client_id=ID, client_secret=SECRET, redirect_uri=CALLBACK)
    url = client.authorize_url()
    session['oauth'] = {'state': client.state, 'code_verifier': client.code_verifier}
    return redirect(url)

    # /callback
    saved = session.pop('oauth')
    client = soundcloud.Client(client_id=ID, client_secret=SECRET, redirect_uri=CALLBACK,
                               state=saved['state'], code_verifier=saved['code_verifier'])
    token = client.exchange_token(request.args['code'], state=request.args['state'])

No token, refresh token, client secret, authorization code or verifier ever appears in a
``repr``, an exception message or a log line of this module.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import threading
import time
from typing import (
    Any,
    Callable,
    Dict,
    Final,
    List,
    Mapping,
    Optional,
    Protocol,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

from . import _log
from .errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    RateLimitedTokenError,
    SoundCloudError,
    StateMismatchError,
    TimeoutError,
    TokenStoreError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,

)
from ._fs import atomic_write
from ._models import Request, Timeout
from ._redact import redact_text, redact_url
from .transport import Transport

__all__ = [
    "AUTHORIZE_PATH",
    "Authenticator",
    "EXPIRY_MARGIN",
    "FileTokenStore",
    "SIGN_OUT_PATH",
    "TOKEN_PATH",
    "Token",
    "TokenStore",
    "authorization_code_body",
    "basic_authorization",
    "build_authorize_url",
    "client_credentials_body",
    "create_s256_code_challenge",
    "generate_code_verifier",
    "generate_state",
    "loopback_login",
    "oauth_error_from_response",
    "refresh_token_body",
    "token_from_response",
    "validate_code_verifier",
    "validate_redirect_uri",
]


_C = TypeVar("_C")

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

# Renew a token this many seconds before it expires, so that a request never leaves with a
# token that dies on the way (at most half the token's lifetime, for short-lived tokens).
EXPIRY_MARGIN: Final = 60.0
# A 401 on an app token younger than this is about the endpoint (it needs a user), not the
# token: a new client-credentials token would not help and would use up SoundCloud's token
# rate limit (50 per 12 h per app).
APP_TOKEN_MIN_AGE: Final = 60.0

CLIENT_CREDENTIALS: Final = "client_credentials"
AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"

MAX_TOKEN_RESPONSE: Final = 1024 * 1024
MAX_DESCRIPTION: Final = 500
MAX_STORE_SIZE: Final = 1024 * 1024
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
LOOPBACK_PATH: Final = "/callback"
# How long the loopback server's threads wait on one browser connection.
LOOPBACK_CONNECTION_TIMEOUT: Final = 10.0
LOOPBACK_POLL: Final = 0.05

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


# --------------------------------------------------------------------------- Token


class Token:
    """An OAuth token as issued by SoundCloud; ``repr`` and ``str`` never show its secrets.

    ``expires_at`` is the absolute expiry (seconds since the epoch, by the clock of the client
    that received it), or None when unknown. ``grant_type`` is the grant that issued it
    (``'client_credentials'`` marks an app token, which is renewed without a user). Save it
    with :meth:`to_dict` and restore it with :meth:`from_dict` or ``Client(token=...)``::

        json.dump(client.token.to_dict(), file)
        client = soundcloud.Client(client_id=ID, client_secret=SECRET, token=json.load(file))
    """

    __slots__ = ("access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type", "grant_type")

    def __init__(
        self,
        access_token: str,
        refresh_token: Optional[str] = None,
        expires_in: Optional[int] = None,
        expires_at: Optional[float] = None,
        scope: str = "",
        token_type: str = "bearer",
        grant_type: Optional[str] = None,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.expires_at = expires_at
        self.scope = scope
        self.token_type = token_type
        self.grant_type = grant_type

    @property
    def is_app_token(self) -> bool:
        """True for a token of the client-credentials grant (no user behind it)."""
        return self.grant_type == CLIENT_CREDENTIALS

    def expires_within(self, seconds: float, now: Optional[float] = None) -> bool:
        """True when the token expires within ``seconds`` from ``now`` (False when unknown)."""
        if self.expires_at is None:
            return False
        current = time.time() if now is None else now
        return current >= self.expires_at - seconds

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores it."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
            "grant_type": self.grant_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Rebuild a Token saved with :meth:`to_dict`; ValueError when it is not one."""
        if not isinstance(cast(object, data), Mapping):
            raise ValueError(f"a saved token is a dict (from Token.to_dict()), not {type(data).__name__}")
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("a saved token needs a non-empty 'access_token' string")
        refresh_token = data.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise ValueError("the saved token's 'refresh_token' must be a string or null")
        expires_in = data.get("expires_in")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))):
            raise ValueError("the saved token's 'expires_in' must be a number of seconds or null")
        expires_at = data.get("expires_at")
        if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, (int, float))):
            raise ValueError("the saved token's 'expires_at' must be a timestamp or null")
        scope = data.get("scope")
        token_type = data.get("token_type")
        grant_type = data.get("grant_type")
        if grant_type is not None and not isinstance(grant_type, str):
            raise ValueError("the saved token's 'grant_type' must be a string or null")
        return cls(
            access_token,
            refresh_token or None,
            int(expires_in) if expires_in is not None else None,
            float(expires_at) if expires_at is not None else None,
            scope if isinstance(scope, str) else "",
            token_type if isinstance(token_type, str) and token_type else "bearer",
            grant_type or None,
        )

    def _fields(self) -> Tuple[object, ...]:
        return (
            self.access_token,
            self.refresh_token,
            self.expires_in,
            self.expires_at,
            self.scope,
            self.token_type,
            self.grant_type,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Token):
            return NotImplemented
        return self._fields() != other._fields()

    def __repr__(self) -> str:
        refresh = "'***'" if self.refresh_token else "None"
        return (
            f"Token(access_token='***', refresh_token={refresh}, expires_at={self.expires_at!r},"
            f" scope={self.scope!r}, token_type={self.token_type!r}, grant_type={self.grant_type!r})"
        )

    def __str__(self) -> str:
        return self.__repr__()


def token_from_response(
    data: Any,
    *,
    now: float,
    grant_type: str,
    previous: Optional[Token] = None,
) -> Token:
    """Build a Token from a token endpoint's JSON (RFC 6749 5.1), stamping ``expires_at``.

    A refresh response without a new refresh token keeps ``previous``'s (RFC 6749 6).
    Raises OAuthError (never echoing the body) when the response is not a token.
    """
    if not isinstance(data, dict):
        raise OAuthError("the token endpoint answered with JSON that is not a token response", error="invalid_response")
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthError("the token endpoint's response has no access_token", error="invalid_response")
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = previous.refresh_token if previous is not None else None
    expires_in: Optional[int] = None
    raw_expires = data.get("expires_in")
    if isinstance(raw_expires, (int, float)) and not isinstance(raw_expires, bool):
        expires_in = int(raw_expires)
    elif isinstance(raw_expires, str) and raw_expires.strip().isdigit():
        expires_in = int(raw_expires.strip())
    scope = data.get("scope")
    if not isinstance(scope, str):
        scope = previous.scope if previous is not None else ""
    token_type = data.get("token_type")
    return Token(
        access_token,
        refresh_token,
        expires_in,
        now + expires_in if expires_in is not None else None,
        scope,
        token_type if isinstance(token_type, str) and token_type else "bearer",
        grant_type,
    )


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


def _states_equal(given: str, expected: str) -> bool:
    import hmac
    # Constant time (RFC 6749 10.12 asks for an unguessable, checked value).
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


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
    import json
    hidden = redact or []
    data: Any = None
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
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


# --------------------------------------------------------------------------- token stores


def _python_class(cls: _C) -> _C:
    """Leave a class an ordinary Python class when mypyc compiles this module.

    mypyc compiles a class with a decorator it does not know as a regular class; here that
    lets applications subclass :class:`TokenStore` (interpreted code cannot subclass a
    compiled Protocol, which mypyc makes a trait).
    """
    return cls


@_python_class
class TokenStore(Protocol):
    """Where a Token is kept between runs: ``load``, ``save`` and ``clear``.

    Any object with these three methods will do (it is a Protocol; subclassing it is
    optional). The client loads from it at start when it has no token, saves every new
    token, and clears it on :meth:`~soundcloud.Client.sign_out`. :class:`FileTokenStore`
    is the ready-made one; a store shared by several processes gives each the tokens the
    others saved, since the client looks in it again before every renewal::

        class RedisTokenStore(soundcloud.TokenStore):
            def load(self): ...
            def save(self, token): ...
            def clear(self): ...
    """

    def load(self) -> Optional[Token]:
        """The saved Token, or None when nothing is saved."""
        ...

    def save(self, token: Token) -> None:
        """Save ``token``, replacing what was saved."""
        ...

    def clear(self) -> None:
        """Forget the saved token."""
        ...


class FileTokenStore:
    """A token kept in a JSON file that only its owner can read (mode 0600).

    Every save writes a temporary file beside the target (mode 0600 whatever the umask),
    fsyncs it and renames it over the target, so a crash or a full disk leaves the old token
    intact and an existing file with looser permissions ends up 0600. A missing parent
    directory is created with mode 0700. Loading a corrupt file raises TokenStoreError
    (naming the file, never its contents): delete it, or call :meth:`clear`, and log in
    again. ``write`` is the low-level write call (``os.write``), injectable for tests::

        store = soundcloud.FileTokenStore('~/.config/myapp/soundcloud-token.json')
        client = soundcloud.Client(client_id=ID, client_secret=SECRET, token_store=store)
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        write: Callable[[int, bytes], int] = os.write,
    ) -> None:
        self.path: str = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._write = write

    def load(self) -> Optional[Token]:
        """The saved Token, None when there is no file; TokenStoreError when it is corrupt."""
        import json
        try:
            with open(self.path, "rb") as file:
                data = file.read(MAX_STORE_SIZE + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_STORE_SIZE:
            raise TokenStoreError(f"the token file {self.path} is too large to be a saved token")
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TokenStoreError(
                f"the token file {self.path} is corrupt (not JSON): delete it, or call"
                " store.clear(), and log in again"
            ) from None
        try:
            token = Token.from_dict(parsed)
        except ValueError as exc:
            raise TokenStoreError(
                f"the token file {self.path} does not hold a saved token ({exc}): delete it, or"
                " call store.clear(), and log in again"
            ) from None
        _log.debug("loaded a token from %s", self.path)
        return token

    def save(self, token: Token) -> None:
        """Write ``token`` atomically (temporary file, fsync, rename), mode 0600."""
        import json
        payload = (json.dumps(token.to_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")
        atomic_write(self.path, (payload,), private=True, write=self._write)
        _log.debug("saved a token to %s", self.path)

    def clear(self) -> None:
        """Delete the file (nothing happens when there is none)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __repr__(self) -> str:
        return f"FileTokenStore({self.path!r})"


def _detached(exc: BaseException) -> BaseException:
    """A copy of ``exc`` without traceback, cause or context (the package's errors pickle)."""
    import copy
    try:
        clone = copy.copy(exc)
    except Exception:
        clone = SoundCloudError(f"the token renewal failed: {type(exc).__name__}")
    clone.__traceback__ = None
    return clone


# --------------------------------------------------------------------------- Authenticator


class Authenticator:
    """The token lifecycle behind a Client: what each request carries, and keeping it fresh.

    - A user token (from :meth:`exchange_token`, ``refresh_token=`` or ``token=``) is
      refreshed :data:`EXPIRY_MARGIN` seconds before ``expires_at`` and once after a 401;
      refresh tokens are single-use, so one refresh runs at a time and threads that waited
      for it use its result.
    - With a client secret and no user token, an app token is fetched with the
      client-credentials grant on first use, cached, and renewed before it expires (by its
      refresh token, which SoundCloud issues with it and which does not count against the
      token rate limit; by a new client-credentials grant when that is refused).
    - With only a client id, requests carry ``client_id`` instead (:meth:`authorization` is None).

    Every new token goes to ``token_store`` and ``on_token``, in that order, while the lock is
    held, so saves happen in the order the tokens were issued. A failure of either is raised.
    """

    def __init__(
        self,
        *,
        client_id: Optional[str],
        client_secret: Optional[str],
        redirect_uri: Optional[str],
        scope: Optional[str],
        token: Optional[Token],
        refresh_token: Optional[str],
        code_verifier: Optional[str],
        state: Optional[str],
        auth_url: str,
        transport: Transport,
        timeout: Timeout,
        user_agent: str,
        on_token: Optional[Callable[[Token], None]],
        token_store: Optional[TokenStore],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id: Optional[str] = client_id or None
        self.client_secret: Optional[str] = client_secret or None
        self.redirect_uri: Optional[str] = validate_redirect_uri(redirect_uri) if redirect_uri is not None else None
        self.scope: Optional[str] = scope or None
        self.auth_url: str = auth_url.rstrip("/")
        if token is not None and not isinstance(cast(object, token), Token):
            raise TypeError(f"token must be a Token or a dict from Token.to_dict(), not {type(token).__name__}")
        if state is not None and (not isinstance(state, str) or not state):
            raise ValueError("state must be a non-empty string (the client.state of the login)")
        if token is not None and refresh_token and token.refresh_token is None:
            token = Token(
                token.access_token,
                refresh_token,
                token.expires_in,
                token.expires_at,
                token.scope,
                token.token_type,
                token.grant_type,
            )
            refresh_token = None
        self._token: Optional[Token] = token
        # A refresh token given without an access token: used by prepare().
        self._pending_refresh: Optional[str] = refresh_token or None
        self._code_verifier: str = (
            validate_code_verifier(code_verifier) if code_verifier is not None else generate_code_verifier()
        )
        self._verifier_used = False
        self._state: str = state if state is not None else generate_state()
        self._transport = transport
        self._timeout = timeout
        self._user_agent = user_agent
        self._on_token = on_token
        self._store = token_store
        self._clock = clock
        # One token request at a time (refresh tokens are single-use). Reentrant, so an
        # on_token callback may read the client or even call refresh().
        self._lock = threading.RLock()
        # Counts renewal attempts; a thread that waited on the lock while an attempt failed
        # raises that failure instead of repeating the request.
        self._attempts = 0
        self._last_error: Optional[BaseException] = None

    # -- state the client reads ------------------------------------------------------------

    @property
    def token(self) -> Optional[Token]:
        """The current token, or None."""
        return self._token

    @property
    def state(self) -> str:
        """The ``state`` of the current login (keep it in the user's session for the callback)."""
        return self._state

    @property
    def code_verifier(self) -> str:
        """The PKCE verifier of the current login (keep it in the user's session, secret)."""
        return self._code_verifier

    @property
    def can_fetch_app_token(self) -> bool:
        """Whether app tokens can be had (client-credentials grant: client id and secret)."""
        return self.client_id is not None and self.client_secret is not None

    def __repr__(self) -> str:
        kind = "no token"
        token = self._token
        if token is not None:
            kind = "app token" if token.is_app_token else "user token"
        return f"<soundcloud.auth.Authenticator client_id={self.client_id!r} ({kind})>"

    # -- what the client calls ---------------------------------------------------------------

    def prepare(self) -> None:
        """Finish construction: load a stored token, or redeem a lone refresh token.

        A token in the store wins over ``refresh_token=``: refresh tokens are single-use, so
        the one given at the first run is dead once the store holds its successor.
        """
        with self._lock:
            if self._token is None and self._store is not None:
                loaded = self._store.load()
                if loaded is not None:
                    _log.debug("using the token from the token store")
                    self._token = loaded
                    self._pending_refresh = None
            pending = self._pending_refresh
            if self._token is None and pending is not None:
                _log.debug("refreshing the given refresh token at start")
                self._attempts += 1
                self._refresh_with(pending, None)

    def authorization(self) -> Optional[str]:
        """The ``Authorization`` value for an API request (``'OAuth <token>'``), or None.

        Renews the token first when it expires within the margin, and fetches an app token on
        first use when the client has a secret but no user token.
        """
        seen = self._attempts
        token = self._token
        if token is None:
            if not self.can_fetch_app_token:
                return None
            token = self._renew(None, seen)
        elif self._expiring(token) and self._can_renew(token):
            token = self._renew(token, seen)
        if token is None:
            return None
        return AUTH_SCHEME + token.access_token

    def handle_unauthorized(self, sent_authorization: Optional[str]) -> bool:
        """After a 401 from the API: True when a fresh token is ready and the request may be replayed.

        The client replays at most once. A token already replaced by another thread is
        used as is (no second refresh); otherwise one refresh (or, for an app token, a
        renewal) is attempted. False when there is nothing to renew with.
        """
        seen = self._attempts
        with self._lock:
            current = self._token
            if current is None:
                return False
            if sent_authorization != AUTH_SCHEME + current.access_token:
                # Another thread renewed it (or a token arrived) since the request left.
                return True
            if not self._can_renew(current):
                _log.debug("401 from the API and nothing to renew the token with")
                return False
            if (
                current.is_app_token
                and current.refresh_token is None
                and self._younger_than(current, APP_TOKEN_MIN_AGE)
            ):
                _log.debug("401 on a new app token: the endpoint needs a user token; not fetching another")
                return False
            _log.debug("401 from the API: renewing the token once")
            self._renew_locked(current, seen)
            return True

    def authorize_url(self, *, state: Optional[str] = None, scope: Optional[str] = None) -> str:
        """The URL to send the user to (Authorization Code with PKCE, S256).

        ``state`` defaults to :attr:`state` (random); ``scope`` to the client's, sent only
        when set. After a completed exchange it starts a new login: a new verifier and state.
        """
        return self._authorize_url(state, scope, self._require_redirect_uri("authorize_url()"))

    def _start_login(self, redirect_uri: str) -> Tuple[str, str]:
        """The authorize URL and state of a new login (fresh verifier and state), for login()."""
        with self._lock:
            return self._authorize_url(None, None, redirect_uri, new_login=True), self._state

    def exchange_token(self, code: str, state: Optional[str] = None) -> Token:
        """Exchange the callback's ``code`` for a Token and use it from now on.

        When ``state`` (the callback's) is given, it must equal :attr:`state`, else
        StateMismatchError before anything is sent. A verifier is good for one exchange:
        a second one raises OAuthError until :meth:`authorize_url` starts a new login.
        """
        return self._exchange(code, state, self._require_redirect_uri("exchange_token()"))

    def refresh(self) -> Token:
        """Renew the token now: the refresh grant (or, for an app token, a new app token)."""
        with self._lock:
            self._attempts += 1
            current = self._token
            if current is None and self._pending_refresh is not None:
                return self._refresh_with(self._pending_refresh, None)
            if current is not None and self._can_renew(current):
                return self._obtain(current)
            if current is None and self.can_fetch_app_token:
                return self._obtain(None)
            raise OAuthError(
                "there is no refresh token to refresh with: authorize again (client.authorize_url()"
                " and exchange_token(), or client.login())",
                error="no_refresh_token",
            )

    def sign_out(self) -> None:
        """Revoke the session at SoundCloud (``POST /sign-out``), then forget every token.

        The tokens are forgotten (and the store cleared) even when the request fails; the
        failure is raised afterwards.
        """
        with self._lock:
            token = self._token
            try:
                if token is not None:
                    self._post_sign_out(token.access_token)
            finally:
                self._token = None
                self._pending_refresh = None
                self._attempts += 1
                self._last_error = None
                if self._store is not None:
                    self._store.clear()
                _log.debug("signed out: tokens forgotten")

    # -- renewal -------------------------------------------------------------------------

    def _expiring(self, token: Token) -> bool:
        margin = EXPIRY_MARGIN
        if token.expires_in is not None and token.expires_in > 0:
            margin = min(margin, token.expires_in / 2.0)
        return token.expires_within(margin, self._clock())

    def _younger_than(self, token: Token, seconds: float) -> bool:
        if token.expires_at is None or token.expires_in is None:
            return False
        issued_at = token.expires_at - token.expires_in
        return self._clock() - issued_at < seconds

    def _can_renew(self, token: Token) -> bool:
        if token.is_app_token:
            return token.refresh_token is not None or self.can_fetch_app_token
        return token.refresh_token is not None and self.client_id is not None

    def _renew(self, stale: Optional[Token], seen: int) -> Optional[Token]:
        with self._lock:
            current = self._token
            if current is not stale:
                if current is not None:
                    return current  # renewed by another thread meanwhile: use it
                if not self.can_fetch_app_token:
                    return None  # signed out meanwhile
            return self._renew_locked(current, seen)

    def _renew_locked(self, current: Optional[Token], seen: int) -> Token:
        failure = self._last_error
        if self._attempts != seen and failure is not None:
            # An attempt for this same token failed while this thread waited: do not
            # repeat it (a refresh token is single-use), report it. Each waiter raises its
            # own copy: a shared exception would collect every thread's frames.
            raise _detached(failure)
        self._attempts += 1
        try:
            token = self._obtain(current)
        except Exception as exc:
            # Kept without its traceback, which would keep the caller's frames (and their
            # open responses) alive.
            self._last_error = _detached(exc)
            raise
        self._last_error = None
        return token

    def _obtain(self, current: Optional[Token]) -> Token:
        """A new token in place of ``current`` (None: no token yet). Called with the lock held."""
        stored = self._newer_stored_token(current)
        if stored is not None:
            _log.debug("another client saved a newer token in the store; using it")
            self._token = stored
            self._last_error = None
            return stored
        if current is None:
            return self._fetch_app_token()
        refresh_token = current.refresh_token
        if current.is_app_token:
            if refresh_token is not None:
                try:
                    return self._refresh_with(refresh_token, current)
                except InvalidGrantError:
                    if not self.can_fetch_app_token:
                        raise
                    _log.debug("the app token's refresh token was refused; fetching a new app token")
            return self._fetch_app_token()
        if refresh_token is None:
            raise OAuthError("the token has no refresh token: authorize again", error="no_refresh_token")
        return self._refresh_with(refresh_token, current)

    def _newer_stored_token(self, current: Optional[Token]) -> Optional[Token]:
        """A fresh token that another client or process saved in the store since ours."""
        store = self._store
        if store is None:
            return None
        try:
            stored = store.load()
        except TokenStoreError as exc:
            _log.warning("ignoring the token store while renewing: %s", exc)
            return None
        if stored is None or self._expiring(stored):
            return None
        if current is not None and stored.access_token == current.access_token:
            return None
        return stored

    def _refresh_with(self, refresh_token: str, previous: Optional[Token]) -> Token:
        client_id = self.client_id
        if client_id is None:
            raise ValueError("refreshing a token needs the client_id it was issued to: pass client_id= to Client")
        body = refresh_token_body(refresh_token=refresh_token, client_id=client_id, client_secret=self.client_secret)
        try:
            data = self._post_token(body, None, "the refresh token", [refresh_token])
        except InvalidGrantError:
            # The refresh token is dead. Another process sharing the store may have just
            # rotated it: its successor is as good as ours would have been.
            stored = self._newer_stored_token(previous)
            if stored is not None:
                _log.debug("the refresh token was used by another client; using its token from the store")
                self._token = stored
                self._last_error = None
                return stored
            self._pending_refresh = None
            if previous is not None and self._token is previous:
                # Never send a dead refresh token again; the access token may still work.
                self._token = Token(
                    previous.access_token,
                    None,
                    previous.expires_in,
                    previous.expires_at,
                    previous.scope,
                    previous.token_type,
                    previous.grant_type,
                )
            raise
        grant = CLIENT_CREDENTIALS if previous is not None and previous.is_app_token else REFRESH_TOKEN
        token = token_from_response(data, now=self._clock(), grant_type=grant, previous=previous)
        self._set_token(token, "refreshed the access token")
        return token

    def _fetch_app_token(self) -> Token:
        client_id = self.client_id
        client_secret = self.client_secret
        if client_id is None or client_secret is None:
            raise ValueError("app tokens (client-credentials grant) need client_id and client_secret")
        data = self._post_token(
            client_credentials_body(),
            basic_authorization(client_id, client_secret),
            "the app token request (client credentials)",
            [],
        )
        token = token_from_response(data, now=self._clock(), grant_type=CLIENT_CREDENTIALS)
        self._set_token(token, "obtained an app token (client credentials)")
        return token

    def _set_token(self, token: Token, event: str) -> None:
        self._token = token
        self._pending_refresh = None
        self._last_error = None
        _log.debug(
            "%s (%s, expires in %s s)",
            event,
            "app token" if token.is_app_token else "user token",
            token.expires_in if token.expires_in is not None else "?",
        )
        if self._store is not None:
            self._store.save(token)
        if self._on_token is not None:
            self._on_token(token)

    # -- authorization code --------------------------------------------------------------

    def _require_redirect_uri(self, what: str) -> str:
        if self.redirect_uri is None:
            raise ValueError(f"{what} needs the app's redirect_uri: pass redirect_uri= to Client")
        return self.redirect_uri

    def _require_client_id(self, what: str) -> str:
        if self.client_id is None:
            raise ValueError(f"{what} needs the app's client_id: pass client_id= to Client")
        return self.client_id

    def _authorize_url(
        self, state: Optional[str], scope: Optional[str], redirect_uri: str, new_login: bool = False
    ) -> str:
        client_id = self._require_client_id("authorize_url()")
        if state is not None and (not isinstance(state, str) or not state):
            raise ValueError("state must be a non-empty string")
        with self._lock:
            if self._verifier_used or new_login:
                # The previous login is complete: this is a new one (RFC 7636: one verifier per request).
                self._code_verifier = generate_code_verifier()
                self._verifier_used = False
                if state is None:
                    self._state = generate_state()
            if state is not None:
                self._state = state
            return build_authorize_url(
                self.auth_url,
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=create_s256_code_challenge(self._code_verifier),
                state=self._state,
                scope=scope if scope is not None else self.scope,
            )

    def _exchange(self, code: str, state: Optional[str], redirect_uri: str) -> Token:
        if not isinstance(code, str) or not code:
            raise ValueError("exchange_token() needs the authorization code from the callback's ?code= parameter")
        if state is not None and not _states_equal(state, self._state):
            raise StateMismatchError(
                "the state returned to the redirect URI does not match this login's (a forged or"
                " stale callback): start a new login; web apps pass the session's state= to Client"
            )
        client_id = self._require_client_id("exchange_token()")
        with self._lock:
            if self._verifier_used:
                raise OAuthError(
                    "this login's code_verifier was already used for an exchange (PKCE verifiers and"
                    " codes are single-use): call authorize_url() to start a new login",
                    error="code_verifier_used",
                )
            self._verifier_used = True
            verifier = self._code_verifier
            body = authorization_code_body(
                code=code,
                redirect_uri=redirect_uri,
                client_id=client_id,
                code_verifier=verifier,
                client_secret=self.client_secret,
            )
            data = self._post_token(body, None, "the authorization code", [code, verifier])
            token = token_from_response(data, now=self._clock(), grant_type=AUTHORIZATION_CODE)
            self._attempts += 1
            self._set_token(token, "exchanged the authorization code")
            return token

    # -- wire ----------------------------------------------------------------------------

    def _headers(self, content_type: str, length: int) -> Dict[str, str]:
        return {
            "Accept": "application/json",
            "User-Agent": self._user_agent,
            "Content-Type": content_type,
            "Content-Length": str(length),
            # RFC 6749 5.1: token responses must not be cached; ask intermediaries too.
            "Cache-Control": "no-store",
        }

    def _post_token(
        self, fields: List[Tuple[str, str]], basic: Optional[str], what: str, hidden: List[str]
    ) -> Any:
        import json
        body = urlencode(fields).encode("ascii")
        headers = self._headers("application/x-www-form-urlencoded", len(body))
        if basic is not None:
            headers["Authorization"] = basic
        request = Request("POST", self.auth_url + TOKEN_PATH, headers, body, self._timeout, True)
        # Never resent by the transport: a single-use code or refresh token may have been
        # redeemed by a request whose answer was lost.
        request.retry = False
        response = self._transport.handle_request(request)
        status = response.status_code
        payload = response.read_all(MAX_TOKEN_RESPONSE)
        secrets_ = hidden + ([self.client_secret] if self.client_secret else [])
        if not 200 <= status < 300:
            raise oauth_error_from_response(status, payload, action=what, redact=secrets_)
        try:
            return json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            # Never a DecodeError: it would keep the body, which may hold a token.
            raise OAuthError(
                f"the token endpoint answered {status} with a body that is not JSON", error="invalid_response",
                status_code=status,
            ) from None

    def _post_sign_out(self, access_token: str) -> None:
        import json
        body = json.dumps({"access_token": access_token}, separators=(",", ":")).encode("utf-8")
        request = Request(
            "POST",
            self.auth_url + SIGN_OUT_PATH,
            self._headers("application/json", len(body)),
            body,
            self._timeout,
            True,
        )
        request.retry = False
        response = self._transport.handle_request(request)
        status = response.status_code
        payload = response.read_all(MAX_TOKEN_RESPONSE)
        if 200 <= status < 300 or status == 401:
            # 401: the token was already dead, which is what signing out wants.
            return
        raise oauth_error_from_response(status, payload, action="signing out", redact=[access_token])


# --------------------------------------------------------------------------- loopback login


def loopback_login(
    auth: Authenticator,
    *,
    port: int = 0,
    open_browser: Optional[Callable[[str], Any]] = None,
    timeout: float = 300.0,
) -> Token:
    """Log in through the browser with a loopback redirect (RFC 8252) and return the Token.

    See :func:`soundcloud.login.loopback_login`; the HTTP server and the browser live there,
    imported only when a login runs, so that ``import soundcloud`` stays light.
    """
    from .login import loopback_login as run

    return run(auth, port=port, open_browser=open_browser, timeout=timeout)
