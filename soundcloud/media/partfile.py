"""The ``.part`` file of a download to a path, and the record that says what it holds.

- **The record** (``<target>.part.json``, written atomically, mode 0600) names the source
  the ``.part`` file belongs to, the validator of the bytes in it and their total size::

      {"source": "/tracks/soundcloud:tracks:293/stream", "validator": "\\"5d41...\\"", "size": 4331008}

  The source is the URL or API path the download started from, without its query and
  fragment (signatures, ``secret_token``, ``client_id`` live there) and without user
  info (:func:`record_source`): a re-signed URL for the same object still matches. Without
  a record that matches, a ``.part`` file is never resumed.
- **The validator** is the strong ``ETag``, else a ``Last-Modified`` that is a strong
  validator: RFC 9110 13.1.5 forbids a weak entity tag in ``If-Range``, and a date unless
  the client has no entity tag at all and the date is strong, which 8.8.2.2 lets a client
  deduce only from a ``Date`` at least a second later (:func:`strong_validator`).
- **Special files.** Nothing is opened through a symbolic link or at a FIFO, socket, device
  or directory: :func:`check_regular` refuses them before anything is sent, and the opens
  themselves use ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a FIFO cannot block them) then
  ``fstat`` the result, so a link planted after the check is refused too. A new ``.part``
  file is created with ``O_CREAT | O_EXCL``, mode 0666 less the umask (what ``open()``
  gives, and so the finished file's mode, as before).

Below the client: imports only the lowest layers.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from datetime import datetime, timezone
from typing import BinaryIO, Final, List, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from .._fs import atomic_write
from .._json import loads
from .._models import header_value
from .._redact import redact_url
from ..errors import DownloadError

__all__ = [
    "PartFile",
    "PartRecord",
    "check_regular",
    "create_part",
    "open_for_reading",
    "read_record",
    "record_source",
    "remove_quietly",
    "reopen_part",
    "strong_validator",
    "validator_changed",
    "write_record",
]

# Flags that exist only on some systems (0 elsewhere): no following a final symlink, no
# blocking on a FIFO without a peer, no newline translation on Windows.
_NOFOLLOW: Final[int] = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK: Final[int] = getattr(os, "O_NONBLOCK", 0)
_BINARY: Final[int] = getattr(os, "O_BINARY", 0)
# A record is a few hundred bytes; anything larger is not one of ours.
RECORD_LIMIT: Final = 64 * 1024
# RFC 9110 8.8.3: entity-tag = [ weak ] opaque-tag; opaque-tag = DQUOTE *etagc DQUOTE.
_STRONG_ETAG: Final = re.compile(r'"[\x21\x23-\x7e\x80-\xff]*"\Z')
# RFC 9110 5.6.7: IMF-fixdate, the only format a sender generates (obsolete ones are not
# taken as validators: the download then starts over, which is always safe).
_IMF_FIXDATE: Final = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z][a-z]) (\d{4}) (\d\d):(\d\d):(\d\d) GMT\Z"
)
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class PartRecord:
    """What a ``.part`` file holds: the start of ``source``'s bytes as of ``validator``."""

    def __init__(self, source: str, validator: str, size: Optional[int]) -> None:
        self.source = source
        self.validator = validator
        self.size = size

    def to_bytes(self) -> bytes:
        return json.dumps({"source": self.source, "validator": self.validator, "size": self.size}).encode()


def record_source(url: str) -> str:
    """The source a record names: ``url`` without query, fragment and user info."""
    parts = urlsplit(url)
    return redact_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))


def _http_time(value: str) -> Optional[float]:
    match = _IMF_FIXDATE.match(value.strip())
    if match is None or match.group(2) not in _MONTHS:
        return None
    day, month, year = int(match.group(1)), _MONTHS.index(match.group(2)) + 1, int(match.group(3))
    try:
        moment = datetime(year, month, day, int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def strong_validator(headers: Mapping[str, str]) -> Optional[str]:
    """The value to send in ``If-Range`` for these response headers, or None (see the module docs)."""
    etag = header_value(headers, "etag")
    if etag is not None:
        # A weak or malformed tag is still an entity tag: then no date either (13.1.5).
        etag = etag.strip()
        return etag if _STRONG_ETAG.match(etag) else None
    modified = header_value(headers, "last-modified")
    date = header_value(headers, "date")
    if modified is None or date is None:
        return None
    modified_at, date_at = _http_time(modified), _http_time(date)
    if modified_at is None or date_at is None or date_at - modified_at < 1:
        return None
    return modified.strip()


def validator_changed(validator: str, headers: Mapping[str, str]) -> bool:
    """True when an answer states a validator of the recorded kind that differs from it.

    A server that honours If-Range never sends one (it answers 200 instead); one that
    ignores If-Range may serve a range of a changed file, and says so here.
    """
    name = "etag" if validator.startswith('"') else "last-modified"
    current = header_value(headers, name)
    return current is not None and current.strip() != validator


# -- special files -----------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _refusal(path: str, what: str, mode: int) -> DownloadError:
    if stat.S_ISLNK(mode):
        return DownloadError(
            f"the {what} {path!r} is a symbolic link: a download never writes through one"
            " (remove it, or choose another target)"
        )
    return DownloadError(
        f"the {what} {path!r} is {_kind(mode)}, not a regular file (remove it, or choose another target)"
    )


def check_regular(path: str, what: str) -> bool:
    """True if ``path`` is a regular file, False if nothing is there; DownloadError otherwise."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(mode):
        raise _refusal(path, what, mode)
    return True


def _open_regular(path: str, flags: int, what: str) -> Optional[int]:
    """Open an existing regular file, never through a link nor blocking on a FIFO; None if absent."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | _BINARY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        # ELOOP (a link, O_NOFOLLOW), ENXIO (a FIFO without a reader), EISDIR: say which.
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise exc from None
        if stat.S_ISREG(mode):
            raise
        raise _refusal(path, what, mode) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refusal(path, what, mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_quietly(path: str) -> None:
    """Remove ``path`` if it is there (a link is removed, never followed)."""
    try:
        os.unlink(path)
    except OSError:
        pass


# -- the record --------------------------------------------------------------------------------


def read_record(path: str) -> Optional[PartRecord]:
    """The record at ``path``; None when absent or not a record of ours (then: start over)."""
    fd = _open_regular(path, os.O_RDONLY, "resume record")
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size > RECORD_LIMIT:
            return None
        chunks: List[bytes] = []
        while True:
            chunk = os.read(fd, RECORD_LIMIT + 1)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        value = loads(b"".join(chunks))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    source, validator, size = value.get("source"), value.get("validator"), value.get("size")
    if not isinstance(source, str) or not isinstance(validator, str) or not validator:
        return None
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return None
    return PartRecord(source, validator, size)


def write_record(path: str, record: PartRecord) -> None:
    """Write the record all or nothing (a temporary file renamed over ``path``, fsynced)."""
    atomic_write(path, [record.to_bytes()])


# -- the part file -----------------------------------------------------------------------------


class PartFile:
    """An open ``.part`` file: ``size`` bytes so far, written at the end."""

    def __init__(self, path: str, fd: int, size: int) -> None:
        self.path = path
        self.fd = fd
        self.size = size
        self.closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "the partial file stopped accepting data", self.path)
            view = view[written:]
        self.size += len(data)

    def check_size(self) -> None:
        if os.fstat(self.fd).st_size != self.size:
            raise DownloadError(f"{self.path!r} changed while it was being written; try again")

    def restart(self) -> None:
        """Empty the file to start over; durable before a new record can name it."""
        if self.size or os.fstat(self.fd).st_size:
            os.ftruncate(self.fd, 0)
            os.fsync(self.fd)
        os.lseek(self.fd, 0, os.SEEK_SET)
        self.size = 0

    def truncate(self, size: int) -> None:
        """Cut the file back to ``size`` bytes (what its record says was written completely)."""
        os.ftruncate(self.fd, size)
        os.lseek(self.fd, size, os.SEEK_SET)
        self.size = size

    def finish(self) -> None:
        """Flush the bytes to disk and close, before the rename."""
        os.fsync(self.fd)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)


def create_part(path: str) -> PartFile:
    """A new, empty ``.part`` file; anything already at ``path`` (a link too) is an error."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
    except FileExistsError:
        raise DownloadError(
            f"the partial file {path!r} appeared as the download started; is another download"
            " writing to the same target?"
        ) from None
    return PartFile(path, fd, 0)


def open_for_reading(path: str, what: str) -> Optional[BinaryIO]:
    """A regular file opened for reading, never through a link; None if it is gone."""
    fd = _open_regular(path, os.O_RDONLY, what)
    if fd is None:
        return None
    return os.fdopen(fd, "rb")


def reopen_part(path: str) -> Optional[PartFile]:
    """The existing regular ``.part`` file, to append to; None if it is gone."""
    fd = _open_regular(path, os.O_WRONLY, "partial file")
    if fd is None:
        return None
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
    except BaseException:
        os.close(fd)
        raise
    return PartFile(path, fd, size)
