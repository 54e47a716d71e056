"""The one place that turns socket, TLS and ``http.client`` failures into the package's errors.

Every ``OSError``, ``ssl.SSLError`` and ``http.client`` exception the transport meets is
translated into a :mod:`soundcloud.errors` exception by :func:`map_exception`, and nowhere
else. The stage constants say where a request was when it failed, which names the timeout
that applied; :class:`_Failure` carries a failed attempt to the retry loop.
"""

from __future__ import annotations

import builtins
import socket
from typing import Final, Optional

from .._models import Timeout
from .._redact import redact_url
from ..errors import (
    ConnectError,
    ProtocolError,
    ResponseTooLargeError,
    SoundCloudError,
    TimeoutError,
    TransportError,
    UploadInterruptedError,
)

__all__ = [
    "STAGE_BODY",
    "STAGE_CONNECT",
    "STAGE_RESPONSE",
    "STAGE_SEND",
    "_Failure",
    "_chained",
    "_deadline_error",
    "_is_dropped_connection",
    "map_exception",
]

# Where a request was when it failed: names the timeout that applied.
STAGE_CONNECT: Final = "connect"
STAGE_SEND: Final = "send"
STAGE_RESPONSE: Final = "response"
STAGE_BODY: Final = "body"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _timeout_message(stage: str, timeout: Optional[Timeout]) -> str:
    if timeout is None:
        return "timed out waiting for the server"
    if stage == STAGE_CONNECT:
        return f"could not connect within the connect timeout of {_seconds(timeout.connect)}"
    if stage == STAGE_SEND:
        return f"the server took no request data for the read timeout of {_seconds(timeout.read)}"
    if stage == STAGE_BODY:
        return f"the response body stalled for the read timeout of {_seconds(timeout.read)}"
    return f"no response within the read timeout of {_seconds(timeout.read)}"


def _deadline_error(
    method: str, url: str, timeout: Optional[Timeout], cause: Optional[BaseException]
) -> TimeoutError:
    total = timeout.total if timeout is not None else None
    limit = f"the total deadline of {_seconds(total)}" if total is not None else "the total deadline"
    return TimeoutError(f"{limit} passed", method=method, url=url, cause=cause)


def map_exception(
    exc: BaseException,
    method: str,
    url: str,
    *,
    body_started: bool = False,
    stage: str = STAGE_RESPONSE,
    timeout: Optional[Timeout] = None,
    deadline_passed: bool = False,
) -> Exception:
    """Translate a socket, TLS or http.client failure into the package's error for it.

    ``stage`` (connect, send, response or body) says where the request was, ``timeout``
    what applied there; ``deadline_passed`` makes any failure the total deadline's. A
    request that could not be written at all (a URL with spaces or control characters, a
    header with a line break or outside Latin-1) gives a plain ``ValueError``.
    """
    import http.client  # see connection.open_connection

    if isinstance(exc, SoundCloudError):
        return exc
    if deadline_passed:
        return _deadline_error(method, url, timeout, exc)
    if isinstance(exc, (socket.timeout, builtins.TimeoutError)):
        return TimeoutError(_timeout_message(stage, timeout), method=method, url=url, cause=exc)
    is_ssl = type(exc).__module__ == "ssl"
    if isinstance(exc, http.client.InvalidURL) or (
        stage == STAGE_SEND and not body_started and isinstance(exc, ValueError) and not is_ssl
    ):
        # Never http.client's text: it quotes the URL (with its query) and header values.
        return ValueError(f"cannot send {method} {redact_url(url)}: {_refused(exc)}")
    if body_started:
        return UploadInterruptedError(
            "the connection failed while the request body was being sent; it was not retried"
            " because the server may have received part of it",
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, http.client.LineTooLong) or (
        isinstance(exc, http.client.HTTPException) and str(exc).startswith("got more than")
    ):
        return ResponseTooLargeError(
            f"{method} {redact_url(url)}: the response headers are too large ({exc})"
        )
    if is_ssl:
        import ssl

        if isinstance(exc, ssl.SSLCertVerificationError):
            return ConnectError(
                "the server's TLS certificate could not be verified (pass verify_ssl=<CA bundle"
                " path> for a private CA)",
                method=method,
                url=url,
                cause=exc,
            )
        if stage == STAGE_CONNECT:
            return ConnectError("the TLS handshake failed", method=method, url=url, cause=exc)
        return ProtocolError("the TLS connection broke", method=method, url=url, cause=exc)
    if stage == STAGE_CONNECT:
        if isinstance(exc, ConnectionRefusedError):
            return ConnectError("the connection was refused", method=method, url=url, cause=exc)
        if isinstance(exc, socket.gaierror):
            return ConnectError("the host name could not be resolved", method=method, url=url, cause=exc)
        if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed"):
            return ConnectError("the proxy did not open a tunnel", method=method, url=url, cause=exc)
        if isinstance(exc, (OSError, http.client.HTTPException)):
            return ConnectError("the connection failed", method=method, url=url, cause=exc)
    if isinstance(exc, http.client.IncompleteRead):
        # A body read in pieces reports only what was missing (the reader does not keep
        # what it already handed over).
        return ProtocolError(
            (
                f"the connection closed {exc.expected} bytes before the end of the body"
                if not exc.partial and exc.expected
                else f"the connection closed after {len(exc.partial)} bytes of the body"
                + (f", {exc.expected} more were expected" if exc.expected is not None else "")
            ),
            method=method,
            url=url,
            cause=exc,
        )
    if isinstance(exc, http.client.RemoteDisconnected):
        return ProtocolError(
            "the server closed the connection without answering", method=method, url=url, cause=exc
        )
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ProtocolError("the connection was reset", method=method, url=url, cause=exc)
    if isinstance(exc, http.client.HTTPException):
        return ProtocolError("the server sent a malformed HTTP response", method=method, url=url, cause=exc)
    if isinstance(exc, ValueError) and stage == STAGE_BODY:
        return ProtocolError("the server sent a malformed body", method=method, url=url, cause=exc)
    if isinstance(exc, OSError):
        return ProtocolError("the connection failed", method=method, url=url, cause=exc)
    return TransportError("the request failed", method=method, url=url, cause=exc)


def _refused(exc: BaseException) -> str:
    """What http.client refused to write, from the kind of error alone (its text quotes it)."""
    import http.client  # see connection.open_connection

    if isinstance(exc, http.client.InvalidURL):
        return "the URL has a space or a control character (percent-encode it)"
    if isinstance(exc, UnicodeEncodeError):
        return "a character outside ASCII in the URL or outside Latin-1 in a header value"
    return "http.client could not write the request line or a header"


def _is_dropped_connection(exc: BaseException) -> bool:
    # The peer went away before answering: what a closed keep-alive connection looks like.
    import http.client  # see connection.open_connection

    return isinstance(
        exc,
        (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError),
    ) or (isinstance(exc, http.client.BadStatusLine) and not str(exc).strip("'\""))


def _chained(error: Exception, cause: Optional[BaseException]) -> Exception:
    # What ``raise error from cause`` does; spelled out because mypyc-compiled code drops
    # the ``from`` clause. Setting __cause__ also sets __suppress_context__.
    if cause is not None and cause is not error:
        error.__cause__ = cause
    return error



class _Failure(Exception):
    """An attempt failed: the error to raise, and what deciding on another attempt needs.

    ``retryable`` False rules another attempt out whatever the failure was (the total
    deadline passed, an unreadable CA bundle); otherwise the retry policy judges ``cause``
    at ``stage`` (:meth:`soundcloud.transport.retry.Retry.is_retry_on_error`).
    """

    def __init__(
        self,
        error: Exception,
        cause: Optional[BaseException],
        retryable: bool,
        body_started: bool,
        stage: str,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.cause = cause
        self.retryable = retryable
        self.body_started = body_started
        self.stage = stage
