"""HTTPTransport: requests over pooled, persistent ``http.client`` connections, with retries.

:meth:`HTTPTransport.handle_request` takes a :class:`~soundcloud._models.Request` and
returns a :class:`~soundcloud.transport.response.Response` once the headers arrived. It
finds the request's route (cached per ``scheme://host:port``), takes a connection from
that origin's pool or opens one (:mod:`~soundcloud.transport.connection`), writes the
request, and runs the retry loop, asking the :class:`~soundcloud.transport.retry.Retry`
policy what to retry and how long to wait; the clock, the sleeping and the total deadline
(:mod:`~soundcloud.transport.watchdog`) stay here.

- **A kept-alive connection the server closed** (RFC 9112 section 9.3.1) is skipped when
  its FIN has arrived (the pool polls every idle connection before reuse, which also keeps
  bytes sent unasked from being read as the answer), or found out when the request fails
  on it before any answer; the request then goes once more on a fresh connection, but
  only when that cannot duplicate it: an idempotent method (or ``request.retry is True``),
  ``request.retry`` not False, and a body that is bytes or not yet started. That replay is
  not counted as a retry and also happens with ``max_retries=0``.
- **Requests that cannot be written** (a header value with a line break, a NUL or a
  character outside Latin-1, an invalid header name, a URL with a space, a control
  character or a character outside ASCII) raise a plain ``ValueError`` before anything is
  sent. It names the header and what is wrong with it, never its value or the URL's
  secrets: http.client's own messages quote both (``OAuth <token>``, ``?access_token=``),
  so they are neither shown nor chained. http.client lets a NUL and obsolete line folding
  (a line break followed by a space) through; RFC 9110 section 5.5 forbids CR, LF and NUL
  in any field value, so every value that is not plainly printable is checked (one
  ``str.isprintable`` per name and value).
- **Compression** (RFC 9110 section 12.5.3). A request without a body and without a
  ``Range`` asks for ``Accept-Encoding: gzip, deflate``: its answer is JSON or an error
  read whole, which servers compress well when asked (nginx, SoundCloud's API). A request
  with a body (an upload) never asks, nor does a ranged one (a range of a compressed
  representation is not a range of the media), nor one whose caller set
  ``Accept-Encoding`` (any value, ``identity`` included: the media downloads send it).
  The response decodes what the server applied, asked or not
  (:mod:`~soundcloud.transport.decoding`). http.client's own ``Accept-Encoding:
  identity`` is never sent.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, Final, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from .. import _log
from .._models import Request
from .._redact import redact_url
from .base import Transport
from .connection import _check_header, _has_length, _refusal, _Route, _send_body, _split_url, open_connection
from .decoding import ACCEPT_ENCODING
from .exceptions import (
    STAGE_RESPONSE,
    STAGE_SEND,
    _chained,
    _deadline_error,
    _Failure,
    _is_dropped_connection,
    map_exception,
)
from .pool import DEFAULT_POOL_SIZE, ConnectionPool
from .proxy import Proxy, _bypassed, _environment_proxies, normalize_proxies
from .response import Response
from .retry import DEFAULT_BACKOFF_FACTOR, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_RETRIES, Retry
from .tls import make_ssl_context
from .watchdog import _Watch, _Watchdog

if TYPE_CHECKING:
    import ssl

__all__ = ["HTTPTransport"]

# Methods whose requests carry a body: without one they say ``Content-Length: 0``.
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
# Request headers (lower-case) that rule out asking for a compressed answer: the
# caller's own Accept-Encoding, and a Range. Their lengths, 15 and 5, are checked first.
NO_ASKING: Final = frozenset({"accept-encoding", "range"})
# The field asking for compression, as bytes: http.client then has nothing to encode.
ACCEPT_ENCODING_NAME: Final = b"Accept-Encoding"
ACCEPT_ENCODING_VALUE: Final = ACCEPT_ENCODING.encode("ascii")
# Route cache entries (one per scheme://host:port seen) before the cache starts over.
MAX_ROUTES: Final = 256


class HTTPTransport(Transport):
    """Sends requests over pooled, persistent ``http.client`` connections, with retries.

    ``proxies`` maps 'http'/'https'/'all' to proxy URLs (``'host:port'`` works); None reads
    ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment. ``verify`` is True
    (system CA store), False (no verification: unsafe) or the path of a CA bundle or
    directory. ``max_retries``, ``backoff_factor`` and ``max_backoff`` shape retries, or
    ``retry`` gives the whole :class:`~soundcloud.transport.retry.Retry` policy instead;
    ``sleep(seconds)`` and ``random() -> [0, 1)`` are what the backoff waits with and
    draws its jitter from (inject them to test without waiting). The docstrings of the
    ``retry``, ``watchdog`` and ``response`` modules say what is retried, how timeouts
    and the total deadline work, and why.

        transport = HTTPTransport(max_retries=5, sleep=waits.append, random=lambda: 0.5)
    """

    def __init__(
        self,
        *,
        proxies: Optional[Mapping[str, str]] = None,
        verify: Union[bool, str] = True,
        pool_size: int = DEFAULT_POOL_SIZE,
        ssl_context: Optional[ssl.SSLContext] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        random: Optional[Callable[[], float]] = None,
        retry: Optional[Retry] = None,
    ) -> None:
        if retry is None:
            retry = Retry(max_retries, backoff_factor, max_backoff)
        elif not isinstance(retry, Retry):
            raise TypeError(f"retry must be a Retry, not {retry!r}")
        elif (max_retries, backoff_factor, max_backoff) != (
            DEFAULT_MAX_RETRIES, DEFAULT_BACKOFF_FACTOR, DEFAULT_MAX_BACKOFF
        ):
            raise ValueError("pass either retry=Retry(...) or max_retries, backoff_factor and max_backoff")
        if pool_size < 1:
            raise ValueError(f"pool_size must be 1 or more, not {pool_size!r}")
        self.retry = retry
        self._sleep = sleep
        self._random = random
        self._no_proxy: List[str] = []
        if proxies is None:
            self._proxies, self._no_proxy = _environment_proxies()
        else:
            self._proxies = normalize_proxies(proxies)
        if not isinstance(verify, (bool, str)):
            raise TypeError(f"verify_ssl must be True, False or a CA bundle path, not {verify!r}")
        if isinstance(verify, str) and not os.path.exists(verify):
            raise ValueError(f"verify_ssl={verify!r}: no CA bundle file or directory at that path")
        self._verify = verify
        self._ssl_context = ssl_context
        self._pools: Dict[Tuple[str, str, int, str], ConnectionPool] = {}
        self._routes: Dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self._watchdog = _Watchdog()

    # The retry settings as attributes, as before the policy had a class of its own.

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (0: none): ``retry.max_retries``."""
        return self.retry.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self.retry = self.retry.new(max_retries=value)

    @property
    def backoff_factor(self) -> float:
        """``retry.backoff_factor``."""
        return self.retry.backoff_factor

    @backoff_factor.setter
    def backoff_factor(self, value: float) -> None:
        self.retry = self.retry.new(backoff_factor=value)

    @property
    def max_backoff(self) -> float:
        """``retry.max_backoff``."""
        return self.retry.max_backoff

    @max_backoff.setter
    def max_backoff(self, value: float) -> None:
        self.retry = self.retry.new(max_backoff=value)

    # -- connections -------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        context = self._ssl_context
        if context is None:
            with self._lock:
                context = self._ssl_context
                if context is None:  # pragma: no branch - another thread may have made it
                    context = make_ssl_context(self._verify)
                    self._ssl_context = context
        return context

    def _resolve(self, url: str, key: str) -> Tuple[_Route, str]:
        """The route for ``url`` (cached under ``key`` when given) and its request target."""
        if any(character <= " " or character == "\x7f" for character in url):
            # urlsplit would drop some of these (tabs, line breaks, the ends' whitespace)
            # while a cached route's target keeps them: refuse them every time.
            raise ValueError(
                f"cannot send to {redact_url(url)}: the URL has a space or a control character (percent-encode it)"
            )
        try:
            parts = urlsplit(url)
            port: Optional[int] = parts.port
        except ValueError as exc:
            raise ValueError(f"cannot send to {redact_url(url)}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"cannot send to {redact_url(url)}: only http and https URLs")
        host = parts.hostname
        if not host:
            raise ValueError(f"the URL {redact_url(url)} has no host")
        host_header = host if ":" not in host else f"[{host}]"
        if port is not None:
            host_header += f":{port}"
        if port is None:
            port = 443 if scheme == "https" else 80
        proxy: Optional[Proxy] = None
        if self._proxies and not _bypassed(host, self._no_proxy):
            proxy = self._proxies.get(scheme) or self._proxies.get("all")
        origin = (scheme, host, port, proxy.url if proxy is not None else "")
        with self._lock:
            pool = self._pools.get(origin)
            if pool is None:
                pool = ConnectionPool(self._pool_size)
                self._pools[origin] = pool
            route = _Route(scheme, host, port, proxy, pool, host_header)
            if key:
                if len(self._routes) >= MAX_ROUTES:
                    self._routes = {}
                self._routes[key] = route
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if route.prefix is not None:
            target = route.prefix + target
        return route, target

    # -- requests ----------------------------------------------------------------------

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` on a pooled connection and return once the headers arrived.

        Retries as the ``retry`` module's docstring describes; ``Response.retries`` says how many.
        """
        key, target = _split_url(request.url)
        route = self._routes.get(key) if key else None
        if route is None:
            route, target = self._resolve(request.url, key)
        elif route.prefix is not None:
            target = route.prefix + target
        policy = self.retry
        replay_safe = policy.is_replay_safe(request.method, request.retry)
        total = request.timeout.total
        watch = self._watchdog.arm(total) if total is not None else None
        attempt = 0
        while True:
            failure: Optional[_Failure] = None
            try:
                response = self._exchange(request, route, target, replay_safe, watch)
            except _Failure as caught:
                failure = caught
            except BaseException:
                if watch is not None:
                    watch.watchdog.cancel(watch)
                raise
            if failure is not None:
                # Handled out here, not in the except clause: the error raised below then
                # carries its cause and no "during handling of _Failure" context.
                wait = self._failure_wait(policy, request, failure, attempt, watch)
                if wait < 0:
                    if watch is not None:
                        watch.watchdog.cancel(watch)
                    raise _chained(failure.error, failure.cause)
                why = f"{type(failure.cause).__name__}: {failure.cause}"
                self._wait(policy, request, wait, attempt, why, watch)
                attempt += 1
                continue
            status = response.status_code
            if policy.is_retry(request.method, status, attempt, retry=request.retry, replayable=request.replayable):
                wait = self._status_wait(policy, response, attempt, watch)
                if wait >= 0:
                    response._finish(response._drain(), cancel=False)
                    self._wait(policy, request, wait, attempt, f"status {response.status_code}", watch)
                    attempt += 1
                    continue
            response.retries = attempt
            return response

    def _exchange(
        self, request: Request, route: _Route, target: str, replay_safe: bool, watch: Optional[_Watch]
    ) -> Response:
        """One attempt: a connection, the request out, the response head in."""
        pool = route.pool
        timeout = request.timeout
        connection = pool.acquire()
        reused = connection is not None
        while True:
            if connection is None:
                connection = open_connection(request, route, watch, self._context)
            else:
                sock = connection.sock
                if sock is not None:  # pragma: no branch - acquire() returns open connections only
                    if sock.gettimeout() != timeout.read:
                        sock.settimeout(timeout.read)
                    if watch is not None:
                        watch.watchdog.attach(watch, sock)
            stage = STAGE_SEND
            body_started = False
            local_error: Optional[Exception] = None
            try:
                connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                connection.putheader("Host", route.host_header)
                if route.proxy_authorization is not None:
                    connection.putheader("Proxy-Authorization", route.proxy_authorization)
                body = request.body
                ask = body is None  # for compression (see the module docstring)
                for name, value in request.headers.items():
                    if not (name.isprintable() and value.isprintable()):
                        _check_header(name, value)  # a tab is fine; CR, LF, NUL are not
                    connection.putheader(name, value)
                    if ask and (len(name) == 15 or len(name) == 5) and name.lower() in NO_ASKING:
                        ask = False
                if body is None:
                    if ask:
                        connection.putheader(ACCEPT_ENCODING_NAME, ACCEPT_ENCODING_VALUE)
                    if request.method in BODY_METHODS and not _has_length(request.headers):
                        connection.putheader("Content-Length", "0")  # RFC 9110 section 8.6
                    connection.endheaders()
                elif isinstance(body, bytes):
                    if not _has_length(request.headers):
                        connection.putheader("Content-Length", str(len(body)))
                    connection.endheaders(body)
                else:
                    chunked = not _has_length(request.headers)
                    if chunked:
                        connection.putheader("Transfer-Encoding", "chunked")
                    connection.endheaders()
                    body_started = True
                    local_error = _send_body(connection, body, chunked)
                if local_error is None:
                    stage = STAGE_RESPONSE
                    raw = connection.getresponse()
            except BaseException as exc:
                connection.close()
                if not isinstance(exc, Exception):
                    raise
                passed = watch is not None and (watch.fired or time.monotonic() >= watch.deadline)
                if reused and replay_safe and not body_started and not passed and _is_dropped_connection(exc):
                    # The server closed the kept-alive connection as we reused it.
                    connection = None
                    reused = False
                    continue
                error = map_exception(
                    exc, request.method, request.url, body_started=body_started, stage=stage,
                    timeout=timeout, deadline_passed=passed,
                )
                if type(error) is ValueError:
                    # The request could not be written: say what was wrong, without
                    # http.client's message or chaining it (it quotes URLs and values).
                    error = ValueError(
                        f"cannot send {request.method} {redact_url(request.url)}: {_refusal(request, target)}"
                    )
                    raise _Failure(error, None, False, False, stage)
                raise _Failure(error, exc, not passed, body_started, stage)
            if local_error is not None:
                # The caller's body iterator failed (a file that went away): its error, as is.
                connection.close()
                raise local_error
            if watch is not None and watch.fired:
                # The deadline passed as the head came in: the socket is shut down, so
                # neither the head nor the body can be trusted.
                raw.close()
                connection.close()
                error = _deadline_error(request.method, request.url, timeout, None)
                raise _Failure(error, None, False, body_started, STAGE_RESPONSE)
            return Response(request, raw, connection, pool, watch)

    def _failure_wait(
        self, policy: Retry, request: Request, failure: _Failure, attempt: int, watch: Optional[_Watch]
    ) -> float:
        """Seconds to wait before retrying after ``failure``; negative: do not retry."""
        cause = failure.cause
        if not failure.retryable or cause is None:
            return -1.0
        if not policy.is_retry_on_error(
            request.method,
            cause,
            failure.stage,
            attempt,
            retry=request.retry,
            replayable=request.replayable,
            body_started=failure.body_started,
        ):
            return -1.0
        wait = policy.backoff(attempt, self._jitter)
        if watch is not None and time.monotonic() + wait >= watch.deadline:
            return -1.0
        return wait

    def _status_wait(self, policy: Retry, response: Response, attempt: int, watch: Optional[_Watch]) -> float:
        """Seconds to wait before retrying after a 429/5xx answer; negative: return it."""
        wait = policy.status_wait(response.status_code, response.headers, attempt, self._jitter)
        if wait is None:
            return -1.0
        if watch is not None and time.monotonic() + wait >= watch.deadline:
            return -1.0
        return wait

    def _jitter(self) -> float:
        """A draw from ``random()``: the injected one, else the random module (imported when first needed)."""
        random = self._random
        if random is None:
            import random as random_module

            random = random_module.random
            self._random = random
        return random()

    def _wait(
        self, policy: Retry, request: Request, wait: float, attempt: int, why: str, watch: Optional[_Watch]
    ) -> None:
        _log.debug(
            "%s %s: %s; retry %d of %d in %.2f s",
            request.method,
            redact_url(request.url),
            why,
            attempt + 1,
            policy.max_retries,
            wait,
        )
        try:
            if wait > 0:
                self._sleep(wait)
        except BaseException:
            if watch is not None:
                watch.watchdog.cancel(watch)
            raise

    def close(self) -> None:
        """Close every pooled connection (the transport stays usable: it reconnects)."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools = {}
            self._routes = {}
        for pool in pools:
            pool.close()
        self._watchdog.close()
