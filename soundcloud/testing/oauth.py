"""The authorization-server origin (like https://secure.soundcloud.com): OAuth 2.1.

RFC 6749 + RFC 7636 PKCE, strict like secure.soundcloud.com.

``GET /authorize`` auto-approves the configured user (set ``approve_authorizations =
False`` to have the user deny). Unknown or missing ``client_id``, or a ``redirect_uri``
other than the registered one, answer 400 with OAuth error JSON and no redirect (RFC
6749 4.1.2.1); every other problem (``response_type`` not ``code``, missing or malformed
``code_challenge``, ``code_challenge_method`` missing or not ``S256``) redirects with
``error``, ``error_description`` and ``state``.

``POST /oauth/token`` takes ``application/x-www-form-urlencoded`` only:
``authorization_code`` (single use, ``code_lifetime`` seconds, PKCE S256 verified,
redirect_uri and client_id must match; reusing a code revokes what it issued, RFC 6749
4.1.2), ``refresh_token`` (rotated, single use; reuse answers 400 invalid_grant),
``client_credentials`` (client authentication only by HTTP Basic; credentials in the
body answer 401 invalid_client; ``token_rate_limit`` tokens per 12 hours, then 429
``{"error": "rate_limit_exceeded"}``). ``password`` and unknown grants answer 400
unsupported_grant_type.

Client credentials for the other grants go in the body (as SoundCloud documents) or in
HTTP Basic, never both (RFC 6749 2.3). A ``client_secret``, when sent, must be right;
leaving it out is allowed (a public client, like SoundCloud's own CLI) unless
``require_secret=True``. A wrong or unknown client answers 401 invalid_client with
``WWW-Authenticate: Basic``; repeated parameters and secrets in the URL answer 400
invalid_request.

The client-credentials grant returns a refresh token too, as SoundCloud's token
response does; refreshing it yields another app token and does not count against the
token rate limit.

``POST /sign-out`` with JSON ``{"access_token": ...}`` revokes that token and the
refresh token issued with it; 200 ``{}`` (also for unknown tokens, RFC 7009 2.2).

Token responses carry the scope asked for at /authorize (``""`` by default, as
SoundCloud's apps should ask) and ``Cache-Control: no-store``. A refreshed access
token's predecessor stays valid until it expires. Errors here are RFC 6749 5.2 JSON
(``_oauth_error``), not the API's error shape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Dict, Final, Iterable, List, Mapping, Optional, Pattern, Tuple
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from .http import NONE, RecordedRequest, _App, _Call, _Fail, _json, _media_type, _Response, _routes
from .store import JsonDict, _AuthCode, _Settings, _Store

__all__ = ["_AuthApp", "s256_challenge"]

RATE_WINDOW: Final = 12 * 3600  # SoundCloud: 50 client-credentials tokens per 12 h per app
_VERIFIER_RE: Final[Pattern[str]] = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE_RE: Final[Pattern[str]] = re.compile(r"[A-Za-z0-9_-]{43}")  # S256: 32 bytes, base64url


def s256_challenge(verifier: str) -> str:
    """Return the PKCE S256 code challenge of ``verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _oauth_error(
    code: int, error: str, description: Optional[str], headers: Iterable[Tuple[str, str]] = ()
) -> _Response:
    """An RFC 6749 5.2 error body; token responses are never cached (5.1)."""
    payload: JsonDict = {"error": error}
    if description is not None:
        payload["error_description"] = description
    hdrs = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    hdrs.extend(headers)
    return _json(code, payload, hdrs)


class _AuthApp(_App):
    name = "auth"

    def __init__(self, store: _Store, owner: _Settings) -> None:
        super().__init__(store)
        self.owner = owner
        self.routes = _routes(
            [
                ("GET", "/authorize", self.authorize, NONE),
                ("POST", "/oauth/token", self.token, NONE),
                ("POST", "/sign-out", self.sign_out, NONE),
            ]
        )

    def error(self, code: int, detail: str, headers: Iterable[Tuple[str, str]] = ()) -> _Response:
        return _oauth_error(code, "invalid_request" if code < 500 else "server_error", detail, headers)

    # -- /authorize ------------------------------------------------------------

    def redirect_uri_ok(self, uri: str) -> bool:
        registered = self.owner.redirect_uri
        if uri == registered:
            return True
        if not self.owner.loopback_any_port:
            return False
        # RFC 8252 7.3: loopback redirect URIs may use any port.
        a, b = urlsplit(uri), urlsplit(registered)
        return (
            a.scheme == b.scheme == "http"
            and a.hostname == b.hostname
            and a.hostname in ("127.0.0.1", "::1", "localhost")
            and (a.path, a.query) == (b.path, b.query)
        )

    def authorize(self, call: _Call) -> _Response:
        client_id = call.param("client_id")
        redirect_uri = call.param("redirect_uri")
        # RFC 6749 4.1.2.1: without a trustworthy client and redirect URI, never redirect.
        if not client_id:
            return _oauth_error(400, "invalid_request", "client_id is required")
        if client_id != self.owner.client_id:
            return _oauth_error(400, "invalid_client", "unknown client_id")
        if not redirect_uri:
            return _oauth_error(400, "invalid_request", "redirect_uri is required")
        if not self.redirect_uri_ok(redirect_uri):
            return _oauth_error(400, "invalid_request", "redirect_uri does not match the registered one")
        state = call.param("state")

        def refuse(error: str, description: str) -> _Response:
            params = [("error", error), ("error_description", description)]
            if state is not None:
                params.append(("state", state))
            return self.back_to_client(redirect_uri or "", params)

        if call.param("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code")
        challenge = call.param("code_challenge")
        if not challenge:
            return refuse("invalid_request", "code_challenge is required (PKCE)")
        method = call.param("code_challenge_method")
        if method != "S256":
            # RFC 7636 4.4.1; OAuth 2.1 drops "plain", SoundCloud demands S256.
            return refuse("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE_RE.fullmatch(challenge):
            return refuse("invalid_request", "code_challenge is not a BASE64URL SHA-256 value")
        if not self.owner.approve_authorizations:
            return refuse("access_denied", "the user denied the request")
        code = secrets.token_urlsafe(32)
        self.store.codes[code] = _AuthCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            challenge=challenge,
            scope=call.param("scope") or "",
            user_id=self.store.me_id,
            issued_at=self.store.clock(),
        )
        params = [("code", code)]
        if state is not None:
            params.append(("state", state))
        return self.back_to_client(redirect_uri, params)

    @staticmethod
    def back_to_client(redirect_uri: str, params: List[Tuple[str, str]]) -> _Response:
        # RFC 6749 3.1.2: keep the redirect URI's own query component.
        separator = "&" if urlsplit(redirect_uri).query else "?"
        location = redirect_uri + separator + urlencode(params)
        return _Response(302, b"", [("Location", location), ("Cache-Control", "no-store")])

    # -- /oauth/token ------------------------------------------------------------

    def token(self, call: _Call) -> _Response:
        try:
            form = self.read_form(call.request)
            grant = form.get("grant_type")
            if not grant:
                return _oauth_error(400, "invalid_request", "grant_type is required")
            if grant == "password":
                return _oauth_error(400, "unsupported_grant_type", "the password grant has been removed")
            handlers = {
                "authorization_code": self.grant_code,
                "refresh_token": self.grant_refresh,
                "client_credentials": self.grant_client_credentials,
            }
            if grant not in handlers:
                return _oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
            response = handlers[grant](call, form)
        except _Fail as failure:
            return failure.response
        self.store.grant_counts[grant] = self.store.grant_counts.get(grant, 0) + 1
        return _json(200, response, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def read_form(self, request: RecordedRequest) -> Dict[str, str]:
        if _media_type(request) != "application/x-www-form-urlencoded":
            raise _Fail(_oauth_error(400, "invalid_request", "body must be application/x-www-form-urlencoded"))
        if any(name in request.query for name in ("client_secret", "code_verifier", "refresh_token", "code")):
            raise _Fail(_oauth_error(400, "invalid_request", "credentials must not be sent in the URL"))
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _Fail(_oauth_error(400, "invalid_request", "body is not UTF-8")) from None
        form: Dict[str, str] = {}
        for key, value in pairs:
            if key in form:  # RFC 6749 3.2: parameters MUST NOT be repeated
                raise _Fail(_oauth_error(400, "invalid_request", f"repeated parameter {key}"))
            form[key] = value
        return form

    def basic_credentials(self, request: RecordedRequest) -> Optional[Tuple[str, str]]:
        header = request.header("authorization")
        if header is None:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None  # e.g. a stray "OAuth <token>": not client authentication at all
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _Fail(self.invalid_client("malformed Basic credentials")) from None
        user, colon, password = decoded.partition(":")
        if not colon:
            raise _Fail(self.invalid_client("malformed Basic credentials"))
        # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
        return unquote_plus(user), unquote_plus(password)

    @staticmethod
    def invalid_client(description: str) -> _Response:
        # RFC 6749 5.2: 401 with WWW-Authenticate when the client tried HTTP auth.
        return _oauth_error(401, "invalid_client", description, [("WWW-Authenticate", 'Basic realm="SoundCloud"')])

    def authenticate_client(self, call: _Call, form: Mapping[str, str], *, require_secret: bool) -> str:
        """Client authentication for code and refresh grants: body or Basic, not both."""
        basic = self.basic_credentials(call.request)
        if basic is not None and ("client_secret" in form or form.get("client_id", basic[0]) != basic[0]):
            raise _Fail(_oauth_error(400, "invalid_request", "use one client authentication method (RFC 6749 2.3)"))
        client_id, secret = basic if basic is not None else (form.get("client_id", ""), form.get("client_secret"))
        if not client_id:
            raise _Fail(self.invalid_client("client_id is required"))
        if client_id != self.owner.client_id:
            raise _Fail(self.invalid_client("unknown client"))
        if secret is None or secret == "":
            if require_secret:
                raise _Fail(self.invalid_client("client_secret is required"))
        elif not hmac.compare_digest(secret, self.owner.client_secret):
            raise _Fail(self.invalid_client("wrong client_secret"))
        return client_id

    def grant_code(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        client_id = self.authenticate_client(call, form, require_secret=self.owner.require_secret)
        code = form.get("code")
        if not code:
            raise _Fail(_oauth_error(400, "invalid_request", "code is required"))
        record = self.store.codes.get(code)
        if record is None:
            raise _Fail(_oauth_error(400, "invalid_grant", "unknown authorization code"))
        if record.used:
            # RFC 6749 4.1.2: a replayed code revokes what it had issued.
            for token in record.issued:
                self.store.revoke(token, token)
            raise _Fail(_oauth_error(400, "invalid_grant", "authorization code already used"))
        record.used = True  # single use, even when this attempt fails below
        if self.store.clock() > record.issued_at + self.owner.code_lifetime:
            raise _Fail(_oauth_error(400, "invalid_grant", "authorization code expired"))
        if record.client_id != client_id:
            raise _Fail(_oauth_error(400, "invalid_grant", "code was issued to another client"))
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise _Fail(_oauth_error(400, "invalid_request", "redirect_uri is required"))
        if redirect_uri != record.redirect_uri:
            raise _Fail(_oauth_error(400, "invalid_grant", "redirect_uri differs from the authorization request"))
        verifier = form.get("code_verifier")
        if not verifier:
            raise _Fail(_oauth_error(400, "invalid_request", "code_verifier is required (PKCE)"))
        if not _VERIFIER_RE.fullmatch(verifier):
            raise _Fail(_oauth_error(400, "invalid_request", "code_verifier must be 43-128 unreserved characters"))
        if not hmac.compare_digest(s256_challenge(verifier), record.challenge):
            raise _Fail(_oauth_error(400, "invalid_grant", "code_verifier does not match code_challenge"))
        response = self.store.mint(kind="user", client_id=client_id, user_id=record.user_id, scope=record.scope)
        record.issued += [response["access_token"], response["refresh_token"]]
        return response

    def grant_refresh(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        client_id = self.authenticate_client(call, form, require_secret=self.owner.require_secret)
        value = form.get("refresh_token")
        if not value:
            raise _Fail(_oauth_error(400, "invalid_request", "refresh_token is required"))
        record = self.store.refresh_tokens.get(value)
        if record is None or record.revoked:
            raise _Fail(_oauth_error(400, "invalid_grant", "unknown or revoked refresh token"))
        if record.used:
            raise _Fail(_oauth_error(400, "invalid_grant", "refresh token already used (they are single-use)"))
        if record.client_id != client_id:
            raise _Fail(_oauth_error(400, "invalid_grant", "refresh token was issued to another client"))
        record.used = True  # rotation: the old refresh token dies, its access token lives on
        self.store.refreshes += 1
        return self.store.mint(kind=record.kind, client_id=client_id, user_id=record.user_id, scope=record.scope)

    def grant_client_credentials(self, call: _Call, form: Mapping[str, str]) -> JsonDict:
        if "client_id" in form or "client_secret" in form:
            raise _Fail(self.invalid_client("client credentials must be sent with HTTP Basic only"))
        basic = self.basic_credentials(call.request)
        if basic is None:
            raise _Fail(self.invalid_client("HTTP Basic client authentication is required"))
        client_id, secret = basic
        if client_id != self.owner.client_id or not hmac.compare_digest(secret, self.owner.client_secret):
            raise _Fail(self.invalid_client("wrong client credentials"))
        limit = self.owner.token_rate_limit
        now = self.store.clock()
        recent = [t for t in self.store.app_token_times if t > now - RATE_WINDOW]
        if limit is not None and len(recent) >= limit:
            raise _Fail(_json(429, {"error": "rate_limit_exceeded"}, [("Cache-Control", "no-store")]))
        recent.append(now)
        self.store.app_token_times = recent
        return self.store.mint(kind="app", client_id=client_id, user_id=None)

    # -- /sign-out ---------------------------------------------------------------

    def sign_out(self, call: _Call) -> _Response:
        try:
            payload = json.loads(call.request.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError):
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            return _oauth_error(400, "invalid_request", 'body must be JSON {"access_token": "..."}')
        self.store.revoke(token, None)
        return _json(200, {})
