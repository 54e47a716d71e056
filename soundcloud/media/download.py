"""Streaming downloads of a track's audio (or any media URL) to a path or a binary file.

What :func:`download` does, where the API leaves a choice:

- **Sources.** This module fetches plain media: a ``http://`` or ``https://`` URL as it is
  (a CDN URL, an original's ``download_url``, a preview URL) or an API path. Tracks, ids,
  URNs and soundcloud.com URLs are turned into one of those (or into an HLS stream) by
  :mod:`.track`, which :meth:`soundcloud.Client.download` calls. A JSON answer is never saved
  as audio.
- **Paths** are written to ``<target>.part`` in the same directory, fsynced, then renamed
  over ``target``: on any error (KeyboardInterrupt included) nothing is written at
  ``target``. A symbolic link, FIFO, socket, device or directory at the target, the
  ``.part`` file or its record is refused with :class:`DownloadError` before anything is
  sent, and nothing is written (see :mod:`.partfile`). Two downloads to the same target at
  the same time are not supported (they would share the ``.part`` file).
- **Resume.** A ``.part`` file is resumed only when it is known to hold the start of the
  same bytes: with ``resume=True`` and a server that takes ranges (``Accept-Ranges: bytes``
  or a 206) and names the version it sends with a strong validator (an ``ETag``, else a
  ``Last-Modified`` that RFC 9110 8.8.2.2 lets a client call strong), the download writes
  a record beside it, ``<target>.part.json``: the source (without query: no signature or
  token), the validator and the total size. After a failure the ``.part`` file and its
  record are kept for the next call; otherwise both are removed. The next call resumes
  only when the record names the same source, with ``Range: bytes=<size of .part>-`` and
  ``If-Range: <validator>`` (RFC 9110 13.1.5). A 206 that starts there (and states no other
  validator or total) is appended; a 200 (the file changed, or ranges are ignored), a 206
  starting elsewhere, or a ``.part`` file without a matching record starts over. A 416
  means the ``.part`` file is complete only when its size is the recorded total and the
  total the server states, else the download starts over. The final size is checked
  against ``Content-Range``/``Content-Length``; a short body raises
  :class:`~soundcloud.ProtocolError`.
- **File objects** (anything with ``write``, in binary mode) are written from their
  current position; nothing is resumed and nothing can be undone on error.
- A ``text/html`` body is refused (an error page, not media); so is a JSON one.
"""

from __future__ import annotations

import errno
import io
import os
import re
from typing import Any, Callable, Dict, Final, Mapping, Optional, Protocol, Tuple, Union

from .._fs import replace_durably
from .._models import header_value
from .._redact import redact_url
from ..errors import DownloadError, HTTPError, ProtocolError
from ..resources import Resource, ResourceList, StreamResponse
from .partfile import (
    PartFile,
    PartRecord,
    check_regular,
    create_part,
    read_record,
    record_source,
    remove_quietly,
    reopen_part,
    strong_validator,
    validator_changed,
    write_record,
)

__all__ = [
    "MediaClient",
    "PART_SUFFIX",
    "RECORD_SUFFIX",
    "check_file_target",
    "download",
    "download_opened",
    "open_media",
    "parse_content_range",
    "part_path",
    "record_path",
    "source_url",
]

class MediaClient(Protocol):
    """What a download needs from a client: a GET that answers with a stream or JSON.

    :class:`soundcloud.Client` is one; naming the need keeps this layer below the client.
    """

    def get(self, __url: str, *, headers: Optional[Mapping[str, str]] = None, **params: Any) -> Any:
        """GET ``url`` (``params`` in the query) and answer with a StreamResponse, Resource or
        ResourceList."""


# The temporary file a path target is written to; deterministic, so a later call resumes it.
PART_SUFFIX: Final = ".part"
# The record of what a .part file holds (see .partfile): <target>.part.json.
RECORD_SUFFIX: Final = PART_SUFFIX + ".json"
CHUNK_SIZE: Final = 64 * 1024
_CONTENT_RANGE: Final = re.compile(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*\Z", re.IGNORECASE)

ProgressCallback = Callable[[int, Optional[int]], None]


def part_path(target: Union[str, "os.PathLike[str]"]) -> str:
    """The temporary file a download to ``target`` writes (and resumes): ``<target>.part``."""
    return os.fspath(target) + PART_SUFFIX


def record_path(target: Union[str, "os.PathLike[str]"]) -> str:
    """The record of what ``<target>.part`` holds, which resuming requires: ``<target>.part.json``."""
    return os.fspath(target) + RECORD_SUFFIX


def download(
    client: MediaClient,
    source: Any,
    target: Any,
    *,
    progress: Optional[ProgressCallback] = None,
    resume: bool = True,
) -> int:
    """Stream ``source`` to ``target`` (a path or a binary file object); return its size in bytes.

    ``progress(bytes_done, total_or_None)`` is called after each chunk is written.
    """
    url = source_url(source)
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        if not isinstance(path, str):
            raise TypeError("a download target path must be a str or a str PathLike, not bytes")
        return _to_path(client, url, path, progress, resume)
    _check_file_target(target)
    return _to_file(client, url, target, progress)


def source_url(source: Any) -> str:
    """The path or URL to GET for a plain media source (a URL or an API path)."""
    if not isinstance(source, str):
        raise TypeError(f"a media source must be a str URL or API path, not {type(source).__name__}")
    if source.startswith("https://") or source.startswith("http://"):
        return source
    if "://" in source:
        raise ValueError(f"only http and https URLs can be downloaded, not {redact_url(source)!r}")
    if not source.strip("/"):
        raise ValueError(f"not a download source: {source!r}")
    return source


def check_file_target(target: Any) -> None:
    """Refuse a text-mode, closed or write-less file object before anything is sent."""
    _check_file_target(target)


def _check_file_target(target: Any) -> None:
    if isinstance(target, io.TextIOBase):
        raise TypeError("the download target is a text-mode file; open it in binary mode ('wb')")
    if not callable(getattr(target, "write", None)):
        raise TypeError(
            "the download target must be a path (str or os.PathLike) or a binary file object"
            f" with write(), not {type(target).__name__}"
        )
    if getattr(target, "closed", False) is True:
        raise ValueError("the download target file is closed")


class _Media:
    """An answer to a download request: the body, where it starts, and what is known of it."""

    def __init__(
        self,
        response: Optional[StreamResponse],
        status: int,
        start: int,
        total: Optional[int],
        resumable: bool,
        url: str,
        headers: Mapping[str, str],
    ) -> None:
        self.response = response
        self.status = status
        self.start = start
        self.total = total
        self.resumable = resumable
        self.url = url
        self.headers = headers
        # What a record names this version by, when the server gives a strong one.
        self.validator = strong_validator(headers)

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


def parse_content_range(value: Optional[str]) -> Optional[Tuple[Optional[int], Optional[int], Optional[int]]]:
    """``bytes 10-99/100`` → (10, 99, 100); ``bytes */100`` → (None, None, 100); None if malformed."""
    if not value:
        return None
    match = _CONTENT_RANGE.match(value)
    if match is None:
        return None
    first, last, total = match.group(1), match.group(2), match.group(3)
    return (
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        int(total) if total != "*" else None,
    )


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _request(client: MediaClient, url: str, offset: int, validator: Optional[str]) -> _Media:
    """GET the media, with a Range from ``offset`` if this ``validator`` still holds."""
    # The media's own bytes: never a compressed copy (the transport would ask otherwise).
    headers: Dict[str, str] = {"Accept": "*/*", "Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
        if validator is not None:
            # RFC 9110 13.1.5: the range only if the file is still this version, else all of it.
            headers["If-Range"] = validator
    try:
        result = client.get(url, headers=headers)
    except HTTPError as exc:
        if exc.status_code == 416 and offset > 0:
            found = parse_content_range(header_value(exc.headers, "content-range"))
            total = found[2] if found is not None else None
            return _Media(None, 416, offset, total, True, url, exc.headers)
        raise
    if isinstance(result, StreamResponse):
        return _media_from(result, offset)
    if isinstance(result, Resource):
        data = result.fields()
        content_type = _media_type(result.headers.get_value("content-type") or "")
        if not data and result.status_code in (200, 206) and "json" not in content_type:
            # An empty body (Content-Length: 0) comes back from the client as an empty
            # Resource: an empty file, not JSON.
            resumable = "bytes" in (result.headers.get_value("accept-ranges") or "").lower()
            return _Media(None, result.status_code, 0, 0, resumable, url, result.headers)
        if data.get("kind") == "track":
            what = "a track's JSON"
            advice = "pass the track itself (or its URN) to download its audio"
        else:
            names = sorted(data)
            what = "JSON (fields: " + (", ".join(names[:8]) or "none") + (", ...)" if len(names) > 8 else ")")
            advice = "pass a track, its id or URN, or a media URL"
        raise DownloadError(f"GET {redact_url(result.url or url)} answered with {what}, not media; {advice}")
    assert isinstance(result, ResourceList)
    raise DownloadError(f"GET {redact_url(result.url or url)} answered with a JSON array, not media")


def _media_from(response: StreamResponse, offset: int) -> _Media:
    media_type = _media_type(response.content_type)
    if media_type == "text/html":
        response.close()
        raise DownloadError(
            f"GET {redact_url(response.url)} answered with an HTML page (status"
            f" {response.status_code}), not media"
        )
    status = response.status_code
    length = response.content_length
    resumable = "bytes" in (response.headers.get_value("accept-ranges") or "").lower()
    if status == 206:
        found = parse_content_range(response.headers.get_value("content-range"))
        start = found[0] if found is not None else None
        if found is None or start is None or start != offset:
            # Not the range asked for: the caller starts over without one.
            return _Media(response, 206, -1, None, True, response.url, response.headers)
        total = found[2]
        if total is None and length is not None:
            total = offset + length
        return _Media(response, 206, offset, total, True, response.url, response.headers)
    return _Media(response, status, 0, length, resumable, response.url, response.headers)


def _open_media(client: MediaClient, url: str, offset: int, validator: Optional[str]) -> _Media:
    """The media to write, starting at ``offset`` when the server allows, else at 0."""
    media = _request(client, url, offset, validator)
    if media.status == 206 and media.start < 0:
        media.close()
        media = _request(client, url, 0, None)
    return media


def open_media(client: MediaClient, url: str) -> _Media:
    """GET ``url`` from the start: the answer :func:`download_opened` then writes."""
    return _open_media(client, url, 0, None)


def download_opened(
    client: MediaClient,
    url: str,
    path: str,
    opened: _Media,
    *,
    progress: Optional[ProgressCallback] = None,
    resume: bool = True,
) -> int:
    """Like :func:`download` to ``path``, starting from ``opened`` (:func:`open_media`) unless a
    resumable ``.part`` file is there, which is resumed instead (``opened`` is then closed)."""
    try:
        return _to_path(client, url, path, progress, resume, opened)
    except BaseException:
        opened.close()  # refused before it was used (closing twice is harmless)
        raise


def _to_path(
    client: MediaClient,
    url: str,
    path: str,
    progress: Optional[ProgressCallback],
    resume: bool,
    opened: Optional[_Media] = None,
) -> int:
    try:
        check_regular(path, "download target")
    except DownloadError:
        if os.path.isdir(path) and not os.path.islink(path):
            raise IsADirectoryError(errno.EISDIR, "the download target is a directory", path) from None
        raise
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "the download target's directory does not exist", directory)
    part = path + PART_SUFFIX
    record_file = path + RECORD_SUFFIX
    # Links and special files are refused here, before anything is sent or written.
    has_part = check_regular(part, "partial file")
    has_record = check_regular(record_file, "resume record")
    source = record_source(url)
    record: Optional[PartRecord] = None
    out: Optional[PartFile] = None
    if resume and has_part and has_record:
        record = read_record(record_file)
        if record is not None and record.source == source:
            out = reopen_part(part)
            if out is not None and record.size is not None and out.size > record.size:
                out.close()
                out = None  # longer than the file it belongs to: not the start of it
    if out is None:
        # Not known to be the start of this source's bytes (another source, no record, a
        # version without a validator): never resumed.
        record = None
        if has_record:
            remove_quietly(record_file)
        if has_part:
            remove_quietly(part)
        out = create_part(part)
    done = out.size
    media: Optional[_Media] = None
    try:
        if opened is not None and done == 0 and record is None:
            media, opened = opened, None
        else:
            if opened is not None:
                opened.close()
                opened = None
            media = _open_media(client, url, done, record.validator if record is not None else None)
        if record is not None and media.status == 416:
            if _finished(media, record, done):
                # Everything was received before; only the rename was missing.
                out.finish()
                replace_durably(part, path)
                remove_quietly(record_file)
                if progress is not None:
                    progress(done, done)
                return done
            media = _open_media(client, url, 0, None)
        elif record is not None and media.status == 206 and _changed(media, record):
            media.close()
            media = _open_media(client, url, 0, None)
        if media.start == 0:
            # A new file, or starting over: its record (if it can have one) before its bytes.
            if record is not None:
                remove_quietly(record_file)
                record = None
            out.restart()
            done = 0
            if resume and media.resumable and media.validator is not None:
                record = PartRecord(source, media.validator, media.total)
                write_record(record_file, record)
        out.check_size()
        response = media.response
        if response is not None:
            try:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, media.total)
            except ProtocolError:
                if media.total is None:
                    raise
                # Cut short: _check_complete says how much arrived and whether it is kept.
        _check_complete(media, done, record is not None, part)
        out.finish()
        replace_durably(part, path)
        if record is not None:
            remove_quietly(record_file)
        return done
    except BaseException:
        if media is not None:
            media.close()
        if opened is not None:
            opened.close()
        out.close()
        if record is None or done == 0:
            # Nothing that a later call could resume safely.
            remove_quietly(part)
            remove_quietly(record_file)
        raise


def _finished(media: _Media, record: PartRecord, size: int) -> bool:
    """A 416 to ``Range: bytes=<size>-``: is the .part file the whole recorded file?"""
    return (
        media.total is not None
        and media.total == size
        and (record.size is None or record.size == size)
        and not validator_changed(record.validator, media.headers)
    )


def _changed(media: _Media, record: PartRecord) -> bool:
    """A 206 to a resume: does it say it is part of another version than the record's?"""
    if validator_changed(record.validator, media.headers):
        return True
    return record.size is not None and media.total is not None and media.total != record.size


def _check_complete(media: _Media, done: int, kept: bool, part: Optional[str]) -> None:
    total = media.total
    if total is not None and done != total:
        where = f"; the {done} bytes received are kept in {part!r} and the next download resumes them" if (
            kept and part is not None and done > 0
        ) else ""
        raise ProtocolError(
            f"the download ended after {done} of {total} bytes{where}",
            method="GET",
            url=media.url,
        )


def _to_file(client: MediaClient, url: str, target: Any, progress: Optional[ProgressCallback]) -> int:
    media = _open_media(client, url, 0, None)
    done = 0
    try:
        response = media.response
        if response is not None:
            for chunk in response.iter_bytes(CHUNK_SIZE):
                _write_all(target, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, media.total)
        _check_complete(media, done, False, None)
    finally:
        media.close()
    return done


def _write_all(target: Any, chunk: bytes) -> None:
    # Raw (unbuffered) files may write less than asked; buffered ones write it all.
    written = target.write(chunk)
    if isinstance(written, int) and not isinstance(written, bool) and 0 <= written < len(chunk):
        view = memoryview(chunk)
        while written < len(chunk):
            more = target.write(view[written:])
            if not isinstance(more, int) or more <= 0:
                raise OSError(errno.EIO, "the download target stopped accepting data")
            written += more
