"""Reading a response head strictly: http.client's ``HTTPResponse`` with a ``begin`` of its own.

http.client reads the status line and the header fields leniently, and each lenience is a
way for one answer to be taken for another (RFC 9112 sections 4 to 6). :class:`StrictResponse`
replaces its ``begin``, which reads the head; http.client still reads the body.

- **Interim answers.** Every 1xx answer but 101 is skipped with its fields, however many
  come (RFC 9110 section 15.2). http.client skips only ``100``: a ``103 Early Hints`` was
  taken for the answer, and the real answer then read as the next request's. A ``101``
  is final (nothing here asks to switch protocols) and its connection is never reused.
- **Framing** (RFC 9112 section 6.3). No body for a HEAD, 1xx, 204 or 304, whatever the
  fields say. ``Transfer-Encoding: chunked`` is read chunked and a ``Content-Length`` beside
  it ignored, but that connection is not reused (section 6.1: a sign of request smuggling).
  Any other transfer coding was never asked for (no ``TE`` is sent) and cannot be decoded:
  ProtocolError. ``Content-Length`` is ASCII digits only; a list or repeated fields of one
  value are that value (RFC 9110 section 8.6); a sign, letters, ``²``, a value past 10^18 or
  two different values make the framing unknowable, "an unrecoverable error" (section 6.3):
  ProtocolError, and the transport closes the connection. http.client took ``+5`` and
  ``1_0`` (``int()``) and read anything else it could not parse to the end of the
  connection.
- **Fields** (RFC 9112 section 5, RFC 9110 section 5.5). A line without a colon or a name,
  whitespace before the colon, obsolete line folding (a line starting with a space or tab,
  which section 5.2 would let a user agent unfold: refused instead, as SoundCloud never
  folds and folding is a request smuggling device), a bare CR or a NUL anywhere in the
  head: ProtocolError, never guessed at. http.client's email parser took a line without a
  colon for the end of the head and read the rest as body. Values lose the whitespace
  around them and are Latin-1, as http.client decodes them.
- **Limits**, http.client's, in every head (1xx included): a line over 65536 bytes
  (``LineTooLong``), more than 100 lines after the status line (the empty line counted).
- **Short bodies.** A body read in pieces that ends before its ``Content-Length`` raises
  ``IncompleteRead`` (a ProtocolError), as a body read whole already did in http.client.
- **Time.** The whole head, interim answers included, must come within one read timeout
  from the first wait: each later wait gets only the time left (a per-read timeout alone
  let a server that drips its head hold the caller for bytes × the read timeout). The
  socket gets its read timeout back for the body, which keeps a timeout per read.
- **Speed.** A head that arrived whole (one read, the usual case) is found in the read
  buffer, split and checked in one pass, without http.client's email parser (about 20 µs
  of a small GET on CPython 3.11).

The module imports http.client, so it is itself imported only with the first connection
(:func:`~soundcloud.transport.connection.open_connection`); it is not compiled (a mypyc
class cannot derive from http.client's).
"""

from __future__ import annotations

import http.client
import socket
import time
from typing import Final, List, Optional, Tuple, Union

__all__ = ["MalformedResponse", "StrictConnection", "StrictResponse"]

# http.client's limits (_MAXLINE, _MAXHEADERS), applied to every head.
MAX_LINE: Final = 65536
MAX_HEADERS: Final = 100
# A Content-Length longer than this many digits (10^18 bytes) is not a real length.
MAX_LENGTH_DIGITS: Final = 18
# Answers without a body besides 1xx and the answer to a HEAD (RFC 9112 section 6.3).
NO_BODY_STATUSES: Final = frozenset({204, 304})


class MalformedResponse(http.client.HTTPException):
    """The response head breaks HTTP/1.1's rules for where an answer starts and ends.

    The message says what was wrong; the transport maps it to ProtocolError.
    """


class StrictResponse(http.client.HTTPResponse):
    """An ``HTTPResponse`` whose head is read strictly and within one read timeout."""

    def __init__(
        self, sock: socket.socket, debuglevel: int = 0, method: Optional[str] = None, url: Optional[str] = None
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        self._head_sock = sock
        self._head_method = method
        # The socket timeout while the head is read: a later wait gets only what is left.
        self._head_timeout: Optional[float] = None
        self._head_deadline = 0.0
        self._timeout_cut = False
        self._begun = False

    def read(self, amt: Optional[int] = None) -> bytes:
        data = super().read(amt)
        if amt and not data and self.length:
            # The connection ended before Content-Length did. http.client raises IncompleteRead
            # for this only when the whole body is read at once ("it might break
            # compatibility"); a body read in pieces is as short, and is said to be too.
            raise http.client.IncompleteRead(b"", self.length)
        return data

    def begin(self) -> None:
        if self._begun:  # http.client's guard (its `headers is not None`)
            return
        self._begun = True
        sock = self._head_sock
        timeout = sock.gettimeout()
        self._head_timeout = timeout
        if timeout is not None:
            self._head_deadline = time.monotonic() + timeout
        try:
            first = True
            while True:
                block = self._read_block(first)
                version, status, reason, fields = _parse_head(block)
                # RFC 9110 section 15.2: interim answers precede the final one; 101 ends
                # HTTP/1.1 on the connection, so it is the answer.
                if status >= 200 or status == 101:
                    break
                first = False
        finally:
            if self._timeout_cut:
                self._timeout_cut = False
                sock.settimeout(timeout)
        self._frame(version, status, reason, fields)

    # -- the head's bytes ------------------------------------------------------------------

    def _read_block(self, first: bool) -> bytes:
        """One head (status line to the empty line), consumed exactly from the read buffer.

        What follows it (the body, the next head) stays in the buffer for http.client.
        """
        fp = self.fp
        if not first:
            self._cut_timeout()
        data = fp.peek()  # what is buffered, or one read from the socket
        end = _head_end(data, 0)
        if end >= 0:
            return fp.read(end)
        head = bytearray()
        lines = 0
        partial = 0  # bytes of the line not yet ended
        while True:
            if not data:
                if first and not head:
                    # Nothing at all: what a kept-alive connection the server closed looks
                    # like (the transport may send the request again on a new one).
                    raise http.client.RemoteDisconnected("Remote end closed connection without response")
                raise MalformedResponse("the connection closed inside the response head")
            seen = len(head)
            head += data
            end = _head_end(head, max(0, seen - 2))
            if end >= 0:
                fp.read(end - seen)
                return bytes(head[:end])
            fp.read(len(data))
            if lines == 0 and b"\n" in data:
                # Not an HTTP answer at all (an SSH banner, say): fail now, not at the timeout.
                _status(bytes(head[: head.find(b"\n")]).decode("latin-1").rstrip("\r"))
            lines += data.count(b"\n")
            newline = data.rfind(b"\n")
            partial = partial + len(data) if newline < 0 else len(data) - newline - 1
            if partial > MAX_LINE:
                raise http.client.LineTooLong("status line" if lines == 0 else "header line")
            if lines > MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
            self._cut_timeout()
            data = fp.peek()

    def _cut_timeout(self) -> None:
        """Before a wait that is not the head's first: only the time left may pass."""
        timeout = self._head_timeout
        if timeout is None:
            return
        left = self._head_deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self._head_sock.settimeout(min(left, timeout))
        self._timeout_cut = True

    # -- what the head says ----------------------------------------------------------------

    def _frame(self, version: int, status: int, reason: str, fields: List[Tuple[str, str]]) -> None:
        """Set what http.client's ``begin`` sets: status, fields, and how the body is framed."""
        message = http.client.HTTPMessage()
        lengths: List[str] = []
        codings: List[str] = []
        connection = ""
        keep_alive = False
        for name, value in fields:
            message.set_raw(name, value)
            size = len(name)
            # Only five names matter here; their lengths spare lower-casing the others.
            if size == 14 or size == 17 or size == 10 or size == 16:
                lower = name.lower()
                if lower == "content-length":
                    lengths.append(value)
                elif lower == "transfer-encoding":
                    codings.append(value)
                elif lower == "connection" or lower == "proxy-connection":
                    connection += "," + value.lower()
                elif lower == "keep-alive":
                    keep_alive = True
        self.code = self.status = status
        self.reason = reason
        self.version = version
        self.headers = self.msg = message
        if version == 11:
            will_close = "close" in connection  # http.client's test, kept
        else:  # HTTP/1.0 closes unless it says keep-alive (http.client's _check_close)
            will_close = not (keep_alive or "keep-alive" in connection)
        chunked = False
        length: Optional[int] = None
        method = self._head_method
        # RFC 9110 section 9.3.6: a 2xx to CONNECT starts a tunnel; its framing fields are
        # ignored.
        no_body = (
            status < 200
            or status in NO_BODY_STATUSES
            or method == "HEAD"
            or (method == "CONNECT" and status < 300)
        )
        if codings:
            if lengths or version != 11:
                will_close = True  # RFC 9112 section 6.1: the framing may not be what it seems
            if not no_body:
                if [c.strip().lower() for c in ",".join(codings).split(",") if c.strip()] != ["chunked"]:
                    raise MalformedResponse(
                        f"Transfer-Encoding {', '.join(codings)[:100]!r} is not supported, only chunked"
                    )
                chunked = True
        elif lengths and not no_body:
            length = _content_length(lengths)
        if no_body:
            length = 0
        elif not chunked and length is None:
            will_close = True  # the body ends when the connection does
        if status == 101:
            will_close = True  # the connection no longer speaks HTTP/1.1
        self.chunked = chunked
        self.chunk_left = None
        self.length = length
        self.will_close = will_close


class StrictConnection(http.client.HTTPConnection):
    """An ``HTTPConnection`` whose answers are read by :class:`StrictResponse`."""

    response_class = StrictResponse


def _head_end(data: Union[bytes, bytearray], start: int) -> int:
    """Where the first empty line after ``start`` ends (CRLF or a bare LF), or -1."""
    crlf = data.find(b"\n\r\n", start)
    # A bare-LF end before that one (it may end where the CRLF one starts: "\n\n\r\n").
    lf = data.find(b"\n\n", start, crlf + 1 if crlf >= 0 else len(data))
    if lf >= 0:
        return lf + 2
    return crlf + 3 if crlf >= 0 else -1


def _parse_head(block: bytes) -> Tuple[int, int, str, List[Tuple[str, str]]]:
    """``(version, status, reason, fields)`` of one head, checked (see the module docstring)."""
    if b"\x00" in block:
        raise MalformedResponse("the response head has a NUL")
    text = block.decode("latin-1")
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            raise MalformedResponse("the response head has a CR that does not end a line")
        text = text.replace("\r\n", "\n")
    # A line that starts with whitespace continues the one before (obsolete line folding),
    # or, after the status line, hides a field (RFC 9112 sections 2.2 and 5.2).
    if "\n " in text or "\n\t" in text:
        raise MalformedResponse("the response head has a line starting with whitespace (obsolete line folding)")
    lines = text.split("\n")
    # lines: the status line, the fields, the empty line and "" after its line feed.
    if len(lines) - 2 > MAX_HEADERS:
        raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
    status_line = lines[0]
    if len(block) > MAX_LINE:
        if len(status_line) > MAX_LINE:
            raise http.client.LineTooLong("status line")
        if any(len(line) > MAX_LINE for line in lines):
            raise http.client.LineTooLong("header line")
    version, status, reason = _status(status_line)
    fields: List[Tuple[str, str]] = []
    for index in range(1, len(lines) - 2):
        line = lines[index]
        colon = line.find(":")
        if colon <= 0:
            raise MalformedResponse("the response head has a field line without a name and a colon")
        name = line[:colon]
        if name[-1] == " " or name[-1] == "\t":
            # RFC 9112 section 5.1: no whitespace between the name and the colon.
            raise MalformedResponse(f"the response field {name.strip()[:100]!r} has whitespace before its colon")
        fields.append((name, line[colon + 1 :].strip(" \t")))
    return version, status, reason, fields


def _status(line: str) -> Tuple[int, int, str]:
    """``(version, status, reason)`` of a status line, as http.client reads it but for a
    status of exactly three ASCII digits (RFC 9112 section 4)."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise http.client.BadStatusLine(line)
    version, code = parts[0], parts[1]
    if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] == "0":
        raise http.client.BadStatusLine(line)
    if version == "HTTP/1.0" or version == "HTTP/0.9":
        number = 10
    elif version.startswith("HTTP/1."):
        number = 11
    else:
        raise http.client.UnknownProtocol(version)
    return number, int(code), parts[2].strip() if len(parts) > 2 else ""


def _content_length(values: List[str]) -> int:
    """The one length that every ``Content-Length`` field and list member gives.

    RFC 9110 section 8.6: 1*DIGIT; a list or repeats of one value are that value. Anything
    else raises MalformedResponse (RFC 9112 section 6.3: the framing is unknowable).
    """
    if len(values) == 1:
        value = values[0]
        if value.isdigit() and value.isascii() and len(value) <= MAX_LENGTH_DIGITS:
            return int(value)  # the usual case
    found = ""
    for value in values:
        for member in value.split(","):
            member = member.strip(" \t")
            if not (member.isdigit() and member.isascii()):
                raise MalformedResponse(f"the Content-Length {member[:30]!r} is not a number of bytes")
            member = member.lstrip("0") or "0"
            if len(member) > MAX_LENGTH_DIGITS:
                raise MalformedResponse(f"the Content-Length is over 10^{MAX_LENGTH_DIGITS} bytes")
            if found and member != found:
                raise MalformedResponse("the response has two different Content-Length values")
            found = member
    return int(found)
