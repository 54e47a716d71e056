"""The stateful side of OAuth: :class:`Authenticator`, the token lifecycle behind a Client.

It decides what each API request carries, keeps the token fresh (before expiry and after a
401, one renewal at a time), exchanges authorization codes, fetches app tokens, saves to
the token store and signs out. It builds its own token-endpoint and sign-out requests but
reaches the network only through the ``send`` callable it is given: the Client's, which adds
the User-Agent and timeout and logs the request like any other.

No token, refresh token, client secret, authorization code or verifier ever appears in a
``repr``, an exception message or a log line of this module.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from typing import Any, Callable, Dict, Final, List, Optional, Tuple, cast
from urllib.parse import urlencode

from .. import _log
from .._json import loads
from .._models import Request
from ..errors import InvalidGrantError, OAuthError, SoundCloudError, StateMismatchError, TokenStoreError
from ..transport import Response
from .oauth import (
    AUTH_SCHEME,
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    MAX_TOKEN_RESPONSE,
    REFRESH_TOKEN,
    SIGN_OUT_PATH,
    TOKEN_PATH,
    authorization_code_body,
    basic_authorization,
    build_authorize_url,
    client_credentials_body,
    create_s256_code_challenge,
    generate_code_verifier,
    generate_state,
    oauth_error_from_redirect,
    oauth_error_from_response,
    parse_callback_url,
    refresh_token_body,
    states_equal,
    validate_code_verifier,
    validate_redirect_uri,
)
from .tokens import STRIP_HINT, Token, TokenStore, token_from_response, token_text_error

__all__ = ["Authenticator", "EXPIRY_MARGIN"]

# Renew a token this many seconds before it expires, so that a request never leaves with a
# token that dies on the way (at most half the token's lifetime, for short-lived tokens).
EXPIRY_MARGIN: Final = 60.0
# A 401 on an app token younger than this is about the endpoint (it needs a user), not the
# token: a new client-credentials token would not help and would use up SoundCloud's token
# rate limit (50 per 12 h per app).
APP_TOKEN_MIN_AGE: Final = 60.0


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

    Token-endpoint and sign-out requests go out through ``send``, once each (never resent:
    a single-use code or refresh token may have been redeemed by a request whose answer was
    lost); the sender adds the User-Agent and the timeout.

    Every new token goes to ``token_store`` and ``on_token``, in that order, while the lock is
    held, so saves happen in the order the tokens were issued. A failure of either is raised.

    A store with a ``locked()`` method (:class:`~soundcloud.FileTokenStore` has one) is locked
    around each renewal: the store is read again, and only when it holds no newer token than
    ours is the refresh sent and its result saved, so processes sharing the store spend a
    refresh token once. A store without it is read again all the same.
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
        send: Callable[[Request], Response],
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
        if refresh_token:
            problem = token_text_error(refresh_token, "refresh token")
            if problem is not None:
                raise ValueError(problem + STRIP_HINT)
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
        # The redirect URI the latest login was started with (authorize_url(), start_login()):
        # the one its code is exchanged with, and what complete_login() expects pasted.
        self._login_redirect_uri: Optional[str] = None
        self._send = send
        self._on_token = on_token
        self._store = token_store
        self._clock = clock
        # One token request at a time (refresh tokens are single-use). Reentrant, so an
        # on_token callback may read the client or even call refresh().
        self._lock = threading.RLock()
        # Counts finished renewal attempts. A thread notes it before it queues for the lock;
        # when it has moved by the time the thread gets the lock and the attempt failed, the
        # thread raises that failure instead of repeating the request. Counting attempts as
        # they start would miss one that was already in flight when the thread noted it.
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
                try:
                    with self._store_lock():
                        self._refresh_with(pending, None)
                finally:
                    self._attempts += 1

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
        elif self._expiring(token):
            if self._can_renew(token):
                token = self._renew(token, seen)
            elif self._store is not None:
                # Nothing to renew with (a refresh token another process spent first): the
                # store may hold that process's newer token.
                token = self._adopt_stored(token)
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
                if self._adopt_stored(current) is not current:
                    return True
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

    def start_login(self, redirect_uri: str) -> Tuple[str, str]:
        """The authorize URL and ``state`` of a new login to ``redirect_uri``: a fresh verifier and state.

        For logins that receive the redirect themselves (the loopback login of RFC 8252),
        whatever happened before; finish with ``exchange_token(code, state, redirect_uri=...)``.
        """
        with self._lock:
            return self._authorize_url(None, None, redirect_uri, new_login=True), self._state

    def exchange_token(self, code: str, state: Optional[str] = None, *, redirect_uri: Optional[str] = None) -> Token:
        """Exchange the callback's ``code`` for a Token and use it from now on.

        When ``state`` (the callback's) is given, whatever it is, it must equal :attr:`state`,
        else StateMismatchError before anything is sent. Without it the check is skipped (as
        the first README had it): the caller then checks the state itself, so pass the
        callback's ``state`` whenever there is one. A verifier is good for one exchange:
        a second one raises OAuthError until :meth:`authorize_url` starts a new login.
        ``redirect_uri`` is the one the login was started with (:meth:`start_login`),
        by default the client's.
        """
        if redirect_uri is None:
            redirect_uri = self._require_redirect_uri("exchange_token()")
        return self._exchange(code, state, redirect_uri)

    def complete_login(self, callback_url: str) -> Token:
        """Finish the latest login from the address the browser ended on, as a user pastes it.

        ``callback_url`` is that address (``http://127.0.0.1:8765/callback?code=...&state=...``),
        with or without its scheme, or its query alone (see
        :func:`~soundcloud.auth.oauth.parse_callback_url`). Its ``state`` must be :attr:`state`
        (a missing one too: StateMismatchError, before anything is sent); an ``error=`` raises
        that OAuthError; a ``code`` is exchanged with the redirect URI the login was started
        with (:meth:`authorize_url`, :meth:`start_login`; by default the client's).
        """
        with self._lock:
            redirect_uri = self._login_redirect_uri or self.redirect_uri
            if redirect_uri is None:
                raise ValueError(
                    "complete_login() finishes a login: start one with authorize_url() (pass"
                    " redirect_uri= to Client) or login()"
                )
            params = parse_callback_url(callback_url, redirect_uri)
            # Always checked, unlike exchange_token's optional state: a pasted address is only
            # as trustworthy as whoever handed it over (RFC 6749 10.12).
            state = params.get("state", "")
            if not states_equal(state, self._state):
                raise StateMismatchError(
                    "the state in that address does not match this login's (a stale or forged"
                    " redirect): paste the address of the latest login, or start a new one"
                )
            error = params.get("error")
            if error is not None:
                raise oauth_error_from_redirect(error, params.get("error_description", ""))
            return self._exchange(params.get("code", ""), state, redirect_uri)

    def refresh(self) -> Token:
        """Renew the token now: the refresh grant (or, for an app token, a new app token)."""
        with self._lock:
            current = self._token
            try:
                if current is None and self._pending_refresh is not None:
                    with self._store_lock():
                        return self._refresh_with(self._pending_refresh, None)
                if current is not None and self._can_renew(current):
                    return self._obtain(current)
                if current is None and self.can_fetch_app_token:
                    return self._obtain(None)
            except Exception as exc:
                # Reported to the threads that queued meanwhile, as a renewal's failure is.
                self._last_error = _detached(exc)
                raise
            finally:
                self._attempts += 1
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
            # An attempt for this same token finished, failing, after this thread noted the
            # count (it was in flight, or started, while this thread waited): do not repeat it
            # (a refresh token is single-use), report it. Each waiter raises its own copy: a
            # shared exception would collect every thread's frames.
            raise _detached(failure)
        try:
            token = self._obtain(current)
        except Exception as exc:
            # Kept without its traceback, which would keep the caller's frames (and their
            # open responses) alive.
            self._last_error = _detached(exc)
            raise
        finally:
            self._attempts += 1
        self._last_error = None
        return token

    def _store_lock(self) -> Any:
        """The store's cross-process lock (its ``locked()``), or a no-op without one."""
        store = self._store
        locked = getattr(store, "locked", None) if store is not None else None
        return locked() if callable(locked) else nullcontext()

    def _adopt_stored(self, current: Token) -> Token:
        """The store's newer token in place of ``current`` when it has one, else ``current``."""
        with self._lock:
            if self._token is not current:
                return self._token if self._token is not None else current
            stored = self._newer_stored_token(current)
            if stored is None:
                return current
            _log.debug("another client saved a newer token in the store; using it")
            self._token = stored
            self._last_error = None
            return stored

    def _obtain(self, current: Optional[Token]) -> Token:
        """A new token in place of ``current`` (None: no token yet). Called with the lock held.

        The store is locked meanwhile (across processes, when it can be), so that what it
        holds is read, and replaced, by one renewal at a time.
        """
        with self._store_lock():
            return self._obtain_locked(current)

    def _obtain_locked(self, current: Optional[Token]) -> Token:
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
            self._login_redirect_uri = redirect_uri
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
        client_id = self._require_client_id("exchange_token()")
        with self._lock:
            # Checked whenever a state is given, whatever it is (empty, not a string), against
            # the login's state as it is now. None skips the check: exchange_token(code) is
            # what the first README showed, and the caller then checks the state itself.
            if state is not None and not states_equal(state, self._state):
                raise StateMismatchError(
                    "the state returned to the redirect URI does not match this login's (a forged or"
                    " stale callback): start a new login; web apps pass the session's state= to Client"
                )
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
            "Content-Type": content_type,
            "Content-Length": str(length),
            # RFC 6749 5.1: token responses must not be cached; ask intermediaries too.
            "Cache-Control": "no-store",
        }

    def _post_token(
        self, fields: List[Tuple[str, str]], basic: Optional[str], what: str, hidden: List[str]
    ) -> Any:
        body = urlencode(fields).encode("ascii")
        headers = self._headers("application/x-www-form-urlencoded", len(body))
        if basic is not None:
            headers["Authorization"] = basic
        # The timeout is the sender's (the client's).
        request = Request("POST", self.auth_url + TOKEN_PATH, headers, body)
        # Never resent by the transport: a single-use code or refresh token may have been
        # redeemed by a request whose answer was lost.
        request.retry = False
        response = self._send(request)
        status = response.status_code
        payload = response.read_all(MAX_TOKEN_RESPONSE)
        secrets_ = hidden + ([self.client_secret] if self.client_secret else [])
        if not 200 <= status < 300:
            raise oauth_error_from_response(status, payload, action=what, redact=secrets_)
        try:
            # soundcloud._json: JSON nested past the recursion limit is a ValueError there too.
            return loads(payload)
        except ValueError as exc:
            # Never a DecodeError: it would keep the body, which may hold a token. _json's
            # messages say what is wrong, never what the body holds.
            raise OAuthError(
                f"the token endpoint answered {status} with a body that is not JSON ({exc})",
                error="invalid_response",
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
        )
        request.retry = False
        response = self._send(request)
        status = response.status_code
        payload = response.read_all(MAX_TOKEN_RESPONSE)
        if 200 <= status < 300 or status == 401:
            # 401: the token was already dead, which is what signing out wants.
            return
        raise oauth_error_from_response(status, payload, action="signing out", redact=[access_token])

