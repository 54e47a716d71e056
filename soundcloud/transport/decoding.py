"""Content codings (RFC 9110 section 8.4): gzip and deflate undone in bounded steps.

The transport asks for ``Accept-Encoding: gzip, deflate`` on requests without a body and
without a ``Range`` (see :mod:`~soundcloud.transport.http`); :class:`ContentDecoder`
undoes what the server applied, whatever was asked, as the response is read.

- **Codings.** ``gzip`` and ``x-gzip`` (RFC 9110 section 8.4.1.3), ``deflate`` (8.4.1.2),
  ``identity`` (no coding; dropped from the list). ``deflate`` means a zlib stream (RFC
  1950); some servers send a bare deflate stream (RFC 1951) instead, which browsers and
  urllib3 accept: the first two bytes decide, by the zlib header check (compression
  method 8, a window of at most 32 KiB, no preset dictionary, the check bits), the test
  zlib itself applies to them first. Several codings (``gzip, gzip``) are undone in
  reverse order of the list, as they were applied, up to :data:`MAX_CODINGS`; any other
  coding (``br``, ``zstd``, ``compress``) was never asked for and is refused with a
  DecodeError at the first byte of the body (an empty body has nothing to decode).
- **Bounded steps.** Every zlib call is given ``max_length`` (at most :data:`DECODE_STEP`,
  or what the caller asked for), so no step inflates more than that, and the input it did
  not consume waits in the decompressor's ``unconsumed_tail``: memory stays at one step
  of output and one read of input per coding, whatever the body holds.
- **The ratio guard.** Once more than :data:`RATIO_FLOOR` bytes came out, a body that
  inflated more than :data:`MAX_RATIO` to one (decoded bytes over compressed bytes
  consumed, counted from the start) is refused with ResponseTooLargeError, however high
  the size limit: deflate's own ceiling is about 1032:1 (a run of one byte), so only a
  body made of little else trips it, and a decompression bomb (1 GiB of zeros packed into
  1 MiB) stops after about a megabyte of output. The size limits themselves
  (``read_all(limit)``) count decoded bytes and are the response module's.
- **Bad bodies.** A body that is not what its coding says (plain JSON labelled gzip, a
  bad checksum) and bytes after the end of the compressed stream raise DecodeError naming
  the coding; a gzip body may hold several members (RFC 1952 section 2.2), each started
  by the gzip magic bytes, but anything else after one is trailing garbage. A body that
  ends inside its compressed stream (no gzip trailer, no final deflate block) raises
  ProtocolError: it is a truncated body, like one shorter than its Content-Length, and
  the one way a truncation of a body delimited by the connection's close shows at all.

zlib's errors are turned into DecodeError here, where the coding is known (the transport's
other failures are mapped in :mod:`~soundcloud.transport.exceptions`). zlib itself is
imported with the first compressed body: ``import soundcloud`` does not load it.
"""

from __future__ import annotations

from typing import Callable, Final, List, Optional, Protocol

from .._redact import redact_url
from ..errors import DecodeError, ProtocolError, ResponseTooLargeError

__all__ = [
    "ACCEPT_ENCODING",
    "DECODE_STEP",
    "MAX_CODINGS",
    "MAX_RATIO",
    "RATIO_FLOOR",
    "ContentDecoder",
    "content_codings",
]

# What the transport asks for (RFC 9110 section 12.5.3): the codings it can undo.
ACCEPT_ENCODING: Final = "gzip, deflate"
# The most one zlib step may inflate, in bytes.
DECODE_STEP: Final = 256 * 1024
# How much of the body is read from the connection at a time.
INPUT_CHUNK: Final = 64 * 1024
# The ratio guard: after this many decoded bytes, more than MAX_RATIO decoded bytes per
# compressed byte is refused.
RATIO_FLOOR: Final = 1024 * 1024
MAX_RATIO: Final = 1000
# Codings stacked on one body that are undone; more is refused (urllib3 also stops at 5).
MAX_CODINGS: Final = 5

GZIP_MAGIC: Final = b"\x1f\x8b"
# zlib's wbits: a 32 KiB window (zlib.MAX_WBITS), plus 16 for gzip, negative for bare deflate.
WINDOW_BITS: Final = 15
GZIP_WBITS: Final = 16 + WINDOW_BITS
SUPPORTED: Final = frozenset({"gzip", "x-gzip", "deflate"})


def content_codings(value: str) -> List[str]:
    """The codings a Content-Encoding value lists, lower-cased, ``identity`` left out."""
    codings = []
    for part in value.split(","):
        coding = part.strip(" \t").lower()
        if coding and coding != "identity":
            codings.append(coding)
    return codings


def _is_zlib_header(first: int, second: int) -> bool:
    """RFC 1950 section 2.2: deflate (CM 8), a window up to 32 KiB, FCHECK, no FDICT."""
    return first & 0x0F == 8 and first >> 4 <= 7 and (first * 256 + second) % 31 == 0 and not second & 0x20


class _Inflater(Protocol):
    """What a ``zlib.decompressobj()`` is used for here (its class is not importable)."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


class _Stage:
    """One coding being undone: its decompressor and the input it has not consumed yet."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.gzip = coding != "deflate"
        self.inflater: Optional[_Inflater] = None
        self.tail = b""  # input not consumed yet
        self.full = False  # the last step filled its max_length: output may be pending
        self.started = False  # a compressed stream was started
        self.ended = False  # and the last one reached its end

    def start(self, data: bytes) -> _Inflater:
        """A new compressed stream beginning with ``data`` (two bytes or more, unless that is all)."""
        import zlib  # see the module docstring

        if self.gzip:
            wbits = GZIP_WBITS
        elif len(data) >= 2 and _is_zlib_header(data[0], data[1]):
            wbits = WINDOW_BITS
        else:
            wbits = -WINDOW_BITS  # a bare deflate stream
        inflater: _Inflater = zlib.decompressobj(wbits)
        self.inflater = inflater
        self.started = True
        self.ended = False
        return inflater


class ContentDecoder:
    """Undoes a response's content codings as its body is read, in bounded steps.

    ``source(size)`` gives up to ``size`` bytes of the body as received, b'' at its end;
    :meth:`read` gives the decoded body. Errors name the request (``method``, ``url``).
    """

    def __init__(self, header: str, source: Callable[[int], bytes], method: str, url: str) -> None:
        self.header = header
        self._source = source
        self._method = method
        self._url = url
        self._stages: List[_Stage] = []
        self._begun = False
        self._source_ended = False
        #: Compressed bytes consumed and decoded bytes given out, so far.
        self.consumed = 0
        self.decoded = 0
        #: Bytes of the body read from the connection, and the most that may be (-1: no bound).
        self.received = 0
        self.max_received = -1

    def read(self, size: int) -> bytes:
        """Up to ``size`` (> 0) decoded bytes, at most :data:`DECODE_STEP`; b'' at the end."""
        if not self._begun:
            self._begin()
        stages = self._stages
        if not stages:
            return b""
        data = self._pull(stages, len(stages) - 1, min(size, DECODE_STEP))
        if data:
            decoded = self.decoded + len(data)
            self.decoded = decoded
            if decoded > RATIO_FLOOR and decoded > MAX_RATIO * self.consumed:
                raise ResponseTooLargeError(
                    f"{self._method} {redact_url(self._url)}: the response body ({self._named()})"
                    f" inflates more than {MAX_RATIO}:1 ({decoded} bytes from {self.consumed}):"
                    " refused as a decompression bomb"
                )
        return data

    # -- the pipeline ----------------------------------------------------------------------

    def _begin(self) -> None:
        """The stages, checked once the body has a first byte (an empty body is just empty)."""
        self._begun = True
        first = self._input(self._stages, 0)
        if not first:
            return
        codings = content_codings(self.header)
        for coding in codings:
            if coding not in SUPPORTED:
                raise self._decode_error(
                    f"the response body has the content coding {coding[:40]!r}, which is not"
                    f" supported ({self._named()}; only gzip and deflate were asked for)"
                )
        if len(codings) > MAX_CODINGS:
            raise self._decode_error(
                f"the response body has {len(codings)} content codings ({self._named()});"
                f" at most {MAX_CODINGS} are undone"
            )
        # Undone last-applied first (RFC 9110 section 8.4: listed in the order applied).
        stages = [_Stage(coding) for coding in reversed(codings)]
        stages[0].tail = first
        self._stages = stages

    def _input(self, stages: List[_Stage], index: int) -> bytes:
        """The next input of stage ``index``: output of the stage before it, or the body's bytes."""
        if index > 0:
            return self._pull(stages, index - 1, DECODE_STEP)
        if self._source_ended:
            return b""
        data = self._source(INPUT_CHUNK)
        if not data:
            self._source_ended = True
        received = self.received + len(data)
        self.received = received
        if received > self.max_received >= 0:
            # Compressed bytes that come out as (next to) nothing, without end.
            raise ResponseTooLargeError(
                f"{self._method} {redact_url(self._url)}: the compressed response body is over"
                f" {self.max_received} bytes ({self._named()}), more than its limit allows"
            )
        return data

    def _pull(self, stages: List[_Stage], index: int, size: int) -> bytes:
        """Up to ``size`` bytes out of stage ``index``; b'' once its input and stream ended."""
        import zlib  # see the module docstring

        stage = stages[index]
        while True:
            data = stage.tail
            stage.tail = b""
            if not data and not stage.full:
                data = self._input(stages, index)
                if not data:
                    if stage.started and not stage.ended:
                        raise self._truncated(stage, index)
                    return b""
            inflater = stage.inflater
            if inflater is None or stage.ended:
                while len(data) < 2:
                    more = self._input(stages, index)
                    if not more:
                        break
                    data += more
                if stage.started and not (stage.gzip and data[:2] == GZIP_MAGIC):
                    # Only another gzip member may follow a compressed stream's end.
                    raise self._decode_error(
                        f"the response body goes on after the end of its {stage.coding} data"
                        f" (trailing garbage; {self._named()})"
                    )
                if stage.gzip and data[:2] != GZIP_MAGIC:
                    raise self._decode_error(
                        f"the response body is not {stage.coding} data: it does not start with"
                        f" gzip's magic bytes ({self._named()})"
                    )
                inflater = stage.start(data)
            problem = ""
            try:
                out = inflater.decompress(data, size)
            except zlib.error as exc:
                problem = str(exc) or type(exc).__name__
                out = b""
            if problem:
                # Raised out here: the DecodeError then has no zlib.error as its context.
                raise self._decode_error(
                    f"the response body is not valid {stage.coding} data ({self._named()}): {problem}"
                )
            if inflater.eof:
                # The stream ended: what follows it is in unused_data (unconsumed_tail may
                # still hold a stale copy).
                rest = inflater.unused_data
                stage.ended = True
                stage.full = False
            else:
                rest = inflater.unconsumed_tail
                stage.full = len(out) == size
            stage.tail = rest
            if index == 0:
                self.consumed += len(data) - len(rest)
            if out:
                return out

    # -- errors ----------------------------------------------------------------------------

    def _named(self) -> str:
        return f"Content-Encoding: {self.header[:100]}"

    def _decode_error(self, message: str) -> DecodeError:
        return DecodeError(message, method=self._method, url=self._url)

    def _truncated(self, stage: _Stage, index: int) -> Exception:
        if index > 0:
            # The outer coding ended whole around an inner one that did not: a bad body.
            return self._decode_error(f"the response body's inner {stage.coding} data is incomplete ({self._named()})")
        return ProtocolError(
            f"the response body ended inside its {stage.coding} data (truncated after"
            f" {self.consumed} compressed bytes; {self._named()})",
            method=self._method,
            url=self._url,
        )
