"""The response: headers in, the body read on demand, within limits and the total deadline.

- **Limits.** ``read_all(limit)`` refuses a body over ``limit`` bytes before reading it when
  the length is announced, or as soon as the count passes it; the reader
  (:mod:`~soundcloud.transport.reader`) refuses more than 100 header lines or a line over
  64 KiB, as http.client does. Both raise ``ResponseTooLargeError``.
- **Closing a response early** reads up to 64 KiB of a body of announced length if it comes
  within 0.5 s (redirect and error bodies are small), so the connection can be reused;
  anything else closes the connection.
- **Compressed bodies** (``Content-Encoding: gzip`` or ``deflate``) are decoded as they are
  read, by :class:`~soundcloud.transport.decoding.ContentDecoder` (its module says how,
  and what it refuses): ``read`` and ``read_all`` give the decoded body, and ``read_all``'s
  ``limit`` counts decoded bytes. The compressed body itself is refused when its announced
  length, or what has arrived, is over the limit by more than deflate's worst case for
  data it cannot compress (:func:`_compressed_limit`), so a flood of compressed nothing
  cannot run on either. ``headers`` stay as received: their ``Content-Length`` counts the
  compressed bytes, not those read (``StreamResponse.content_length`` is None for such a
  body). A body decoded to its end returns the connection to the pool; a refused one
  (DecodeError, ResponseTooLargeError, ProtocolError) closes it. Nothing of this runs
  for a body without a content coding: one header lookup per response.

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
from .decoding import DECODE_STEP, ContentDecoder, content_codings
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
        # The one check a body without a content coding costs.
        coding = self.headers.get_value("content-encoding")
        self._decoder: Optional[ContentDecoder] = None
        if coding is not None and content_codings(coding):
            self._decoder = ContentDecoder(coding, self._read_held, request.method, request.url)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the body (all of it when negative), decoded.

        This is the streaming path: the total deadline, if any, ends here and each read
        is bounded by the read timeout alone.
        """
        watch = self._watch
        if watch is not None:
            self._watch = None
            if watch.watchdog.cancel(watch):
                self._finish(False)
                raise self._deadline_error(None)
        decoder = self._decoder
        if decoder is not None:
            return self._read_decoded(decoder, size)
        return self._read(size)

    def read_all(self, limit: int = DEFAULT_MAX_BODY_SIZE) -> bytes:
        """The whole body, refusing one larger than ``limit`` bytes before reading it."""
        decoder = self._decoder
        if decoder is not None:
            return self._read_all_decoded(decoder, limit)
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

    def _read_decoded(self, decoder: ContentDecoder, size: int) -> bytes:
        """Up to ``size`` decoded bytes (all that is left when negative); fewer only at the end."""
        chunks: List[bytes] = []
        got = 0
        try:
            while size < 0 or got < size:
                chunk = decoder.read(DECODE_STEP if size < 0 else size - got)
                if not chunk:
                    self._decoded_end()
                    break
                chunks.append(chunk)
                got += len(chunk)
        except BaseException as exc:
            self._refused(exc)
            raise
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _read_all_decoded(self, decoder: ContentDecoder, limit: int) -> bytes:
        """``read_all`` of a compressed body: ``limit`` counts its decoded bytes."""
        most = _compressed_limit(limit)
        length = self._raw.length
        if length is not None and length > most:
            self._finish(False)
            raise ResponseTooLargeError(
                f"{self.request.method} {redact_url(self.url)}: the compressed response body is"
                f" {length} bytes, more than a body within the limit of {limit} bytes can be"
                " (raise max_body_size to accept it)"
            )
        decoder.max_received = most
        chunks: List[bytes] = []
        received = 0
        try:
            while True:
                chunk = decoder.read(DECODE_STEP)
                if not chunk:
                    self._decoded_end()
                    break
                received += len(chunk)
                if received > limit:
                    raise ResponseTooLargeError(
                        f"{self.request.method} {redact_url(self.url)}: the decoded response body"
                        f" ({decoder.header[:40]}) is over the limit of {limit} bytes (raise"
                        " max_body_size to accept it)"
                    )
                chunks.append(chunk)
        except BaseException as exc:
            self._refused(exc)
            raise
        return b"".join(chunks)

    def _refused(self, exc: BaseException) -> None:
        """A decoded body failed or was refused: its connection goes. When the total
        deadline had passed, that is the error (it may have cut the body short)."""
        if self._finish(False) and isinstance(exc, Exception):
            raise _chained(self._deadline_error(exc), exc)

    def close(self) -> None:
        """Stop reading: the connection is reused if the body was (or can quickly be) read."""
        if self._connection is None and self._watch is None:
            self._raw.close()
            return
        self._finish(self._drain())

    def _read(self, size: int, release: bool = True) -> bytes:
        """Up to ``size`` bytes of the body as received; at its end the connection goes back
        to the pool, unless ``release`` is False (a decoder has yet to accept the body)."""
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
        if release and raw.isclosed() and self._finish(True):
            # The deadline shut the socket down; what was read may be cut short.
            raise self._deadline_error(None)
        return data

    def _read_held(self, size: int) -> bytes:
        """A decoder's source: the body's bytes, the connection kept until it has decoded them."""
        return self._read(size, False)

    def _decoded_end(self) -> None:
        """The decoder reached the body's end and accepted it: the connection may be reused."""
        if self._finish(True):
            raise self._deadline_error(None)

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


def _compressed_limit(limit: int) -> int:
    """The most compressed bytes a body of ``limit`` decoded bytes takes: deflate stores
    what it cannot compress with 5 bytes per 64 KiB block (RFC 1951 section 3.2.4), gzip
    adds a header and trailer; 1/1024 and 64 KiB more leave room to spare."""
    return limit + limit // 1024 + 64 * 1024
