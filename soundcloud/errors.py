"""The exceptions raised by the soundcloud package.

Every error the package raises derives from :class:`SoundCloudError`::

    SoundCloudError
    ├── TransportError                 no usable HTTP response arrived
    │   ├── ConnectError               could not connect (refused, DNS, TLS handshake)
    │   ├── TimeoutError               connect, read or total deadline passed (also builtin TimeoutError)
    │   ├── ProtocolError              the peer broke HTTP (reset, truncated or garbage response)
    │   └── UploadInterruptedError     the connection failed after an upload body began to go out
    ├── HTTPError                      the API answered with a 4xx or 5xx status
    │   ├── BadRequestError            400 (also ValueError)
    │   ├── UnauthorizedError          401
    │   ├── ForbiddenError             403
    │   ├── NotFoundError              404
    │   ├── UnprocessableEntityError   422 (also ValueError)
    │   ├── TooManyRequestsError       429, with ``retry_after`` (a header or the body's reset_time)
    │   └── ServerError                5xx
    ├── DecodeError                    a body that claims to be JSON is not, a next_href that is
    │                                  not an http(s) URL, or a typed model's field of another JSON
    │                                  type than the spec's (also ValueError)
    ├── MissingFieldError              a typed model's field is absent from its JSON and the spec
    │                                  gives it no None (also AttributeError)
    ├── DownloadError                  a download led to JSON, HTML or HLS playlists, not media
    ├── ResponseTooLargeError          a body or its headers exceed the configured limits
    ├── RedirectError                  a redirect could not be followed (its Location is no URL)
    │   ├── TooManyRedirectsError      more hops than allowed, or a loop
    │   └── InsecureRedirectError      an https URL redirected (or a next_href led) to plain http
    ├── TokenStoreError                a token store is unreadable, corrupt or stays busy (also ValueError)
    └── OAuthError                     the authorization server refused (RFC 6749 sections 4.1.2.1, 5.2)
        ├── InvalidRequestError        invalid_request: a parameter is missing, repeated or malformed
        ├── InvalidGrantError          the code or refresh token is dead: authorize again
        ├── InvalidClientError         client id or secret wrong
        ├── UnauthorizedClientError    unauthorized_client: the app may not use this grant
        ├── UnsupportedGrantTypeError  unsupported_grant_type (the removed password grant, say)
        ├── InvalidScopeError          invalid_scope
        ├── AccessDeniedError          access_denied: the user (or SoundCloud) said no
        ├── RateLimitedTokenError      too many tokens requested (SoundCloud's token rate limit)
        └── StateMismatchError         the ``state`` in the callback is not ours (also ValueError)

No message, ``repr`` or pickled form of an error contains an access token, a refresh
token or a client secret: URLs are shown with their credentials removed. ``str(error)``
never contains a control character: what a server said (reason phrases, error messages,
URLs) may carry terminal escape sequences, so they are escaped (``\\x1b``) there, while
the attributes (``body``, ``reason``, ``errors``...) keep what arrived.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Final, List, Mapping, Optional, Tuple, Type, Union

from ._json import loads
from ._models import (
    RateLimit,
    ratelimit_reset_seconds,
    read_rate_limit,
    reset_time_seconds,
    retry_after_header,
)
from ._redact import printable, redact_url

__all__ = [
    "AccessDeniedError",
    "BadRequestError",
    "ConnectError",
    "DecodeError",
    "DownloadError",
    "ForbiddenError",
    "HTTPError",
    "InsecureRedirectError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "MissingFieldError",
    "NotFoundError",
    "OAuthError",
    "ProtocolError",
    "RateLimitedTokenError",
    "RedirectError",
    "ResponseTooLargeError",
    "ServerError",
    "SoundCloudError",
    "StateMismatchError",
    "TimeoutError",
    "TokenStoreError",
    "TooManyRedirectsError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedClientError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "UnsupportedGrantTypeError",
    "UploadInterruptedError",
]

# How much of a non-JSON error body is kept on the exception (CloudFront HTML pages are large).
MAX_KEPT_BODY: Final = 64 * 1024


class SoundCloudError(Exception):
    """Base class of every error raised by this package."""

    def __str__(self) -> str:
        # One place for every subclass, the auth errors included: messages quote servers.
        return printable(super().__str__())


class TransportError(SoundCloudError):
    """No usable HTTP response arrived: the connection failed, timed out or broke."""

    def __init__(
        self, message: str, *, method: str = "", url: str = "", cause: Optional[BaseException] = None
    ) -> None:
        self.message = message
        self.method = method
        self.url = redact_url(url) if url else ""
        self.cause = cause
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.method} {self.url}: " if self.url else ""
        because = f" ({type(self.cause).__name__}: {self.cause})" if self.cause is not None else ""
        return f"{where}{self.message}{because}"

    def __reduce__(self) -> Union[str, Tuple[Any, ...]]:
        return (_rebuild_transport, (type(self), self.message, self.method, self.url, self.cause))


def _rebuild_transport(
    cls: Type[TransportError], message: str, method: str, url: str, cause: Optional[BaseException]
) -> TransportError:
    return cls(message, method=method, url=url, cause=cause)


class ConnectError(TransportError):
    """The connection could not be made: refused, unknown host, or a failed TLS handshake."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """A connect, read or total deadline passed before the response arrived."""


class ProtocolError(TransportError):
    """The peer broke HTTP: reset the connection, sent garbage or a truncated body."""


class UploadInterruptedError(TransportError):
    """The connection failed after the request body had started to go out.

    Such a request is never retried automatically: the server may have received it.
    """


def _json_or_none(body: bytes) -> Any:
    # An error body that does not decode (HTML, truncated, or nested too deeply) still
    # leaves the status error, with the raw body kept on it.
    try:
        return loads(body)
    except ValueError:
        return None


class HTTPError(SoundCloudError):
    """The API answered with an error status (4xx or 5xx).

    ``message`` is SoundCloud's own explanation where the body carried one
    (``message``, ``errors[].error_message``, ``error_description`` or ``error``), with
    control characters escaped; ``body`` and the other fields keep what arrived.
    ``rate_limit`` reads the ``x-ratelimit-*`` headers.
    """

    status_code: int
    headers: Dict[str, str]
    url: str
    method: str
    body: bytes
    message: str
    error: Optional[str]
    error_description: Optional[str]
    errors: List[str]
    reason: str

    def __init__(
        self,
        status_code: int,
        *,
        method: str = "",
        url: str = "",
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        reason: str = "",
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.url = redact_url(url) if url else ""
        self.headers = dict(headers or {})
        self.body = body[:MAX_KEPT_BODY]
        self.reason = reason
        self.error = None
        self.error_description = None
        self.errors = []
        self.message = ""
        self._parse_body()
        super().__init__(self._describe())

    def _parse_body(self) -> None:
        data = _json_or_none(self.body) if self.body else None
        if not isinstance(data, dict):
            return
        error = data.get("error")
        if isinstance(error, str):
            self.error = error
        description = data.get("error_description")
        if isinstance(description, str):
            self.error_description = description
        errors = data.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict) and isinstance(item.get("error_message"), str):
                    self.errors.append(item["error_message"])
        message = data.get("message")
        # SoundCloud's "message" is often just the status ("404 - Not Found"): prefer the
        # specific error messages when there are any.
        candidates = [
            "; ".join(self.errors),
            self.error_description or "",
            message if isinstance(message, str) else "",
            self.error or "",
        ]
        self.message = printable(next((text for text in candidates if text), ""))

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The response's ``x-ratelimit-*`` headers (limit, remaining, reset), or None."""
        return read_rate_limit(self.headers)

    def _describe(self) -> str:
        where = f"{self.method} {self.url} " if self.url else ""
        status = f"{self.status_code} {printable(self.reason)}".rstrip()
        said = f": {self.message}" if self.message else ""
        return f"{where}failed with {status}{said}"

    def __reduce__(self) -> Union[str, Tuple[Any, ...]]:
        return (
            _rebuild_http,
            (type(self), self.status_code, self.method, self.url, self.headers, self.body, self.reason),
        )


def _rebuild_http(
    cls: Type[HTTPError],
    status_code: int,
    method: str,
    url: str,
    headers: Dict[str, str],
    body: bytes,
    reason: str,
) -> HTTPError:
    return cls(status_code, method=method, url=url, headers=headers, body=body, reason=reason)


class BadRequestError(HTTPError, ValueError):
    """400: the request was malformed."""


class UnauthorizedError(HTTPError):
    """401: no valid access token (expired, revoked or missing)."""


class ForbiddenError(HTTPError):
    """403: the token may not do this (or CloudFront refused the request)."""


class NotFoundError(HTTPError):
    """404: no such resource."""


class UnprocessableEntityError(HTTPError, ValueError):
    """422: the parameters were understood but rejected."""


class TooManyRequestsError(HTTPError):
    """429: rate limited. ``retry_after`` is the wait in seconds when the server said.

    From, in this order: ``Retry-After``; the body's ``reset_time`` (SoundCloud's documented
    signal, ``errors[].meta.reset_time``, also read under ``meta.rate_limit``; the latest
    when several limits were hit); ``x-ratelimit-reset``. None when none is usable.
    """

    retry_after: Optional[float]

    def __init__(
        self,
        status_code: int,
        *,
        method: str = "",
        url: str = "",
        headers: Optional[Mapping[str, str]] = None,
        body: bytes = b"",
        reason: str = "",
    ) -> None:
        super().__init__(
            status_code, method=method, url=url, headers=headers, body=body, reason=reason
        )
        retry_after = retry_after_header(self.headers)
        if retry_after is None and self.body:
            retry_after = _body_reset_seconds(_json_or_none(self.body))
        if retry_after is None:
            retry_after = ratelimit_reset_seconds(self.headers)
        self.retry_after = retry_after


def _body_reset_seconds(data: Any) -> Optional[float]:
    """Seconds until the latest ``reset_time`` of a 429 body, or None.

    SoundCloud's rate limits page: ``{"errors": [{"meta": {"rate_limit": {...},
    "remaining_requests": 0, "reset_time": "2015/06/01 09:49:40 +0000"}}]}``; one error per
    limit hit, and a request goes through only once all of them reset.
    """
    if not isinstance(data, dict):
        return None
    errors = data.get("errors")
    if not isinstance(errors, list):
        return None
    latest: Optional[float] = None
    for item in errors:
        meta = item.get("meta") if isinstance(item, dict) else None
        if not isinstance(meta, dict):
            continue
        limit = meta.get("rate_limit")
        for value in (meta.get("reset_time"), limit.get("reset_time") if isinstance(limit, dict) else None):
            seconds = reset_time_seconds(value)
            if seconds is not None and (latest is None or seconds > latest):
                latest = seconds
    return latest


class ServerError(HTTPError):
    """5xx: SoundCloud failed."""


STATUS_ERRORS: Final[Dict[int, Type[HTTPError]]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: TooManyRequestsError,
}


def error_for_status(
    status_code: int,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    reason: str = "",
) -> HTTPError:
    """Build the HTTPError subclass that matches ``status_code``."""
    cls = STATUS_ERRORS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else HTTPError
    return cls(status_code, method=method, url=url, headers=headers, body=body, reason=reason)


class DecodeError(SoundCloudError, ValueError):
    """A body that claims to be JSON could not be decoded (not JSON, or nested too deeply),
    or decoded into something unusable: a ``next_href`` that is not an http(s) URL, or a field
    of a typed model (:mod:`soundcloud.models`) holding another JSON type than the spec's."""

    def __init__(self, message: str, *, method: str = "", url: str = "", body: bytes = b"") -> None:
        self.message = message
        self.method = method
        self.url = redact_url(url) if url else ""
        self.body = body[:MAX_KEPT_BODY]
        where = f"{method} {self.url}: " if self.url else ""
        super().__init__(f"{where}{message}")

    def __reduce__(self) -> Union[str, Tuple[Any, ...]]:
        return (_rebuild_decode, (self.message, self.method, self.url, self.body))


def _rebuild_decode(message: str, method: str, url: str, body: bytes) -> DecodeError:
    return DecodeError(message, method=method, url=url, body=body)


class MissingFieldError(SoundCloudError, AttributeError):
    """A field of a typed model (:mod:`soundcloud.models`) is absent from the JSON it wraps,
    and the spec does not make it nullable, so there is no None to give.

    Also an AttributeError, so ``getattr(track, "bpm", None)`` and ``hasattr`` work as usual.
    ``model`` and ``field`` name the class and the JSON key (``"Track"``, ``"title"``).
    """

    def __init__(self, model: str, field: str) -> None:
        self.model = model
        self.field = field
        super().__init__(f"{model}.{field} is not in the JSON: the answer left the field out")

    def __reduce__(self) -> Union[str, Tuple[Any, ...]]:
        return (MissingFieldError, (self.model, self.field))


class DownloadError(SoundCloudError):
    """The source did not lead to a media body: JSON or HTML came back instead of audio,
    or the track is only offered as HLS playlists."""


class ResponseTooLargeError(SoundCloudError):
    """A response body or its headers exceeded the configured limit."""


class RedirectError(SoundCloudError):
    """A redirect could not be followed."""


class TooManyRedirectsError(RedirectError):
    """More redirects than allowed, or a redirect loop."""


class InsecureRedirectError(RedirectError):
    """An https request was redirected to plain http, or an https page's ``next_href``
    points to plain http; the client refuses to downgrade."""


class OAuthError(SoundCloudError):
    """The authorization server refused a request (RFC 6749 section 5.2 error response)."""

    error: str = "oauth_error"

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        status_code: Optional[int] = None,
    ) -> None:
        if error is not None:
            self.error = error
        self.error_description = error_description
        self.status_code = status_code
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> Union[str, Tuple[Any, ...]]:
        return (
            _rebuild_oauth,
            (type(self), self.message, self.error, self.error_description, self.status_code),
        )


def _rebuild_oauth(
    cls: Type[OAuthError],
    message: str,
    error: str,
    error_description: Optional[str],
    status_code: Optional[int],
) -> OAuthError:
    return cls(message, error=error, error_description=error_description, status_code=status_code)


class TokenStoreError(SoundCloudError, ValueError):
    """A token store cannot be used: its file or row is corrupt or holds no saved token, its
    directory is shared, or its database stayed busy.

    The message names the file and what is wrong with it, never its contents.
    """


class InvalidRequestError(OAuthError):
    """A parameter of the authorization or token request was missing, repeated or malformed."""

    error = "invalid_request"


class InvalidGrantError(OAuthError):
    """The authorization code or refresh token is invalid, used or expired: authorize again."""

    error = "invalid_grant"


class InvalidClientError(OAuthError):
    """The client id or secret was refused."""

    error = "invalid_client"


class UnauthorizedClientError(OAuthError):
    """The app is not allowed to use this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    """The token endpoint does not accept this grant type (the password grant is gone)."""

    error = "unsupported_grant_type"


class InvalidScopeError(OAuthError):
    """The requested scope is invalid or unknown (leave it empty on SoundCloud)."""

    error = "invalid_scope"


class AccessDeniedError(OAuthError):
    """The user, or SoundCloud, refused the authorization request."""

    error = "access_denied"


class RateLimitedTokenError(OAuthError):
    """SoundCloud's token endpoint rate limit was hit (429 ``rate_limit_exceeded``)."""

    error = "rate_limit_exceeded"


class StateMismatchError(OAuthError, ValueError):
    """The ``state`` returned to the redirect URI does not match the one we sent."""

    error = "state_mismatch"
