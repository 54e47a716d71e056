"""The response: headers in, the body read on demand, within limits and the total deadline.

- **Limits.** ``read_all(limit)`` refuses a body over ``limit`` bytes before reading it when
  the length is announced, or as soon as the count passes it; the reader
  (:mod:`~soundcloud.transport.reader`) refuses more than 100 header lines or a line over
  64 KiB, as http.client does. Both raise ``ResponseTooLargeError``.
- **Closing a response early** reads up to 64 KiB of a body of announced length if it comes
  within 0.5 s (redirect and error bodies are small), so the connection can be reused;
  anything else closes the connection.

A response holds its connection until the body is done: read to its end it goes back to
its :class:`~soundcloud.transport.pool.ConnectionPool`. It also holds the request's total
deadline (:class:`~soundcloud.transport.watchdog._Watch`) while ``read_all`` runs; a
streaming :meth:`Response.read` lets go of it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final, List, Optional

from .._models import Headers, Request
from .._redact import redact_url
from ..errors import ResponseTooLargeError
from .exceptions import STAGE_BODY, _chained, _deadline_error, map_exception
from .pool import ConnectionPool
from .watchdog import _Watch

if TYPE_CHECKING:
    import http.client

__all__ = ["DEFAULT_MAX_BODY_SIZE", "Response"]

DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024
READ_CHUNK: Final = 64 * 1024
# A body of announced length up to this size is read out on close() to keep the connection...
DRAIN_LIMIT: Final = 64 * 1024
# ...if it arrives within this many seconds.
DRAIN_TIMEOUT: Final = 0.5


class Response:
    """A response whose headers have arrived; the body is read on demand.

    Reading the body to its end returns the connection to the pool; closing it early
    closes the connection (unless what is left is small and arrives at once).
    ``retries`` counts the retries :class:`HTTPTransport` made before this answer.
    """

    def __init__(
        self,
        request: Request,
        raw: http.client.HTTPResponse,
        connection: Optional[http.client.HTTPConnection],
        pool: Optional[ConnectionPool],
        watch: Optional[_Watch] = None,
    ) -> None:
        self.request = request
        self.url = request.url
        self.status_code: int = raw.status
        self.reason: str = raw.reason
        # raw_items(): the header lines as parsed, without a per-header policy round trip.
        self.headers = Headers(list(raw.msg.raw_items()))
        self.retries = 0
        self._raw = raw
        self._connection = connection
        self._pool = pool
        self._watch = watch

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the body (all of it when negative).

        This is the streaming path: the total deadline, if any, ends here and each read
        is bounded by the read timeout alone.
        """
        watch = self._watch
        if watch is not None:
            self._watch = None
            if watch.watchdog.cancel(watch):
                self._finish(False)
                raise self._deadline_error(None)
        return self._read(size)

    def read_all(self, limit: int = DEFAULT_MAX_BODY_SIZE) -> bytes:
        """The whole body, refusing one larger than ``limit`` bytes before reading it."""
        raw = self._raw
        length = raw.length
        if length is not None:
            if length > limit:
                self._finish(False)
                raise ResponseTooLargeError(
                    f"{self.request.method} {redact_url(self.url)}: the response body is {length}"
                    f" bytes, over the limit of {limit} (raise max_body_size to accept it)"
                )
            return self._read(-1)
        chunks: List[bytes] = []
        received = 0
        while True:
            chunk = self._read(READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                self._finish(False)
                raise ResponseTooLargeError(
                    f"{self.request.method} {redact_url(self.url)}: the response body is over the"
                    f" limit of {limit} bytes (raise max_body_size to accept it)"
                )
            chunks.append(chunk)
        if self._connection is not None or self._watch is not None:  # pragma: no cover
            # Defensive: http.client closes a response it has read to its end.
            if self._finish(True):
                raise self._deadline_error(None)
        return b"".join(chunks)

    def close(self) -> None:
        """Stop reading: the connection is reused if the body was (or can quickly be) read."""
        if self._connection is None and self._watch is None:
            self._raw.close()
            return
        self._finish(self._drain())

    def _read(self, size: int) -> bytes:
        raw = self._raw
        try:
            data = raw.read() if size < 0 else raw.read(size)
        except BaseException as exc:
            fired = self._finish(False)
            if isinstance(exc, Exception):
                if fired:
                    raise _chained(self._deadline_error(exc), exc)
                request = self.request
                error = map_exception(exc, request.method, self.url, stage=STAGE_BODY, timeout=request.timeout)
                raise _chained(error, exc)
            raise
        if raw.isclosed() and self._finish(True):
            # The deadline shut the socket down; what was read may be cut short.
            raise self._deadline_error(None)
        return data

    def _drain(self) -> bool:
        """Read out a small remainder that arrives at once; True when the body is complete."""
        raw = self._raw
        if raw.isclosed():
            return True
        length = raw.length
        connection = self._connection
        if length is None or length > DRAIN_LIMIT or raw.will_close or connection is None:
            return False
        sock = connection.sock
        if sock is None:
            return False
        give_up = time.monotonic() + DRAIN_TIMEOUT
        try:
            while length:
                left = give_up - time.monotonic()
                if left <= 0:
                    return False
                sock.settimeout(left)
                if not raw.read1(length):
                    return False
                length = raw.length or 0
            raw.read()  # nothing left: marks the response complete
        except Exception:
            return False
        return raw.isclosed()

    def _finish(self, reusable: bool, cancel: bool = True) -> bool:
        """Done with the connection: pooled when ``reusable``, else closed.

        Ends the total deadline (``cancel``) or only detaches it from this connection.
        Returns True when the deadline had passed (the connection is closed then).
        """
        fired = False
        watch = self._watch
        if watch is not None:
            if cancel:
                self._watch = None
                fired = watch.watchdog.cancel(watch)
            else:
                watch.watchdog.attach(watch, None)
                fired = watch.fired
        connection = self._connection
        if connection is not None:
            self._connection = None
            pool = self._pool
            if reusable and not fired and pool is not None and not self._raw.will_close:
                pool.release(connection)
            else:
                self._raw.close()
                connection.close()
        elif not reusable:
            self._raw.close()
        return fired

    def _deadline_error(self, cause: Optional[BaseException]) -> Exception:
        request = self.request
        return _deadline_error(request.method, self.url, request.timeout, cause)
