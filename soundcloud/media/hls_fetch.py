"""An HLS stream to a plain M4A: fetch the segments (several at a time), keep them resumable,
then remux (:mod:`.m4a`).

How a stream is fetched, where RFC 8216 and SoundCloud leave a choice:

- **Playlists.** The URL from ``/tracks/{urn}/streams`` names a media playlist (or a master
  playlist, whose best AAC variant is taken: :func:`.hls.best_variant`). A playlist body is
  read up to ``MAX_PLAYLIST_BYTES``; the stream must have an ``EXT-X-MAP`` init section
  (fragmented MP4, as SoundCloud's AAC streams are) and no encryption (DRM is refused by the
  parser before anything is written).
- **Segments** come through the client's pooled connections, ``concurrency`` at a time
  (default 4), and are written in playlist order. Each is read whole (at most
  ``MAX_SEGMENT_BYTES``) and checked as fragmented MP4 (:func:`.fmp4.check_segment`) before
  it is written, so an error page served with a 200 never reaches the file. A byte-range
  segment (``EXT-X-BYTERANGE``) is asked for with ``Range``; a CDN that answers with the whole
  file instead is refused (reading every earlier byte again for each segment would be
  quadratic).
- **Expired URLs.** SoundCloud's segment URLs are signed and expire after minutes; a 403 or
  410 means "ask ``/streams`` again". The caller's ``open_playlist(refresh=True)`` does that;
  the new playlist must describe the same stream (same init section, same segment durations
  and ranges), and fetching continues from the segment that failed. At most
  ``MAX_REFRESHES`` refreshes in a row without a new segment, then the 403 is raised.
- **Credentials.** Segment URLs are on the CDN's origin; the client sends credentials only to
  the API origin it was configured with, so no ``Authorization`` header reaches the CDN.
- **Resume.** A path target gets ``<target>.part``: the init section then each segment, exactly
  as fetched (itself a valid fragmented MP4), and ``<target>.part.json``, naming the stream
  (the ``identity`` the caller gives, e.g. the track URN and the stream's key), a fingerprint
  of its playlist and init section, and how many segments and bytes of the ``.part`` file are
  complete. The record is rewritten at most once a second while fetching, and always when
  fetching stops. The next call resumes only when the identity and the fingerprint match,
  cutting the ``.part`` file back to the recorded size; anything else starts over, so another
  track or a changed stream never mixes in.
- **The file.** Once every segment is there, :func:`.m4a.remux` writes ``<target>.tmp``
  (``ftyp``, ``moov`` with the sample tables and tags, ``mdat``), which is fsynced and renamed
  over ``target``; the ``.part`` file and its record are removed. An interruption during the
  remux keeps the ``.part`` file: the next call remuxes without fetching anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, Callable, Dict, Final, List, Optional, Tuple, Union

from .._fs import atomic_write, replace_durably
from .._json import loads
from .._redact import redact_url
from ..errors import DownloadError, HTTPError, ProtocolError, ResponseTooLargeError
from ..resources import StreamResponse
from .fmp4 import InitInfo, check_segment, parse_init
from .hls import ByteRange, MasterPlaylist, MediaPlaylist, PlaylistError, Segment, best_variant, parse_playlist
from .m4a import remux
from .m4a_tags import Tags
from .partfile import (
    PartFile,
    check_regular,
    create_part,
    open_for_reading,
    remove_quietly,
    reopen_part,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "MAX_REFRESHES",
    "MAX_SEGMENT_BYTES",
    "OpenPlaylist",
    "download_stream",
]

DEFAULT_CONCURRENCY: Final = 4
# The most segments fetched at a time: more would only queue at the CDN.
MAX_CONCURRENCY: Final = 32
MAX_REFRESHES: Final = 3
# SoundCloud's segments are about ten seconds: 200 KB at 160 kbit/s. An init section is a few
# hundred bytes.
MAX_SEGMENT_BYTES: Final = 64 * 1024 * 1024
MAX_INIT_BYTES: Final = 1024 * 1024
MAX_PLAYLIST_BYTES: Final = 8 * 1024 * 1024
# How often the record of a growing .part file is rewritten (it is always written on stop).
RECORD_INTERVAL: Final = 1.0
RECORD_LIMIT: Final = 64 * 1024
_EXPIRED: Final = (403, 410)
_READ_BLOCK: Final = 256 * 1024

# open_playlist(refresh): the stream's playlist URL; refresh=True asks /streams again.
OpenPlaylist = Callable[[bool], str]
ProgressCallback = Callable[[int, Optional[int]], None]


class _Stream:
    """A playlist as fetched: its segments, its init section and what identifies the stream."""

    def __init__(self, playlist: MediaPlaylist, init_bytes: bytes, init: InitInfo) -> None:
        self.playlist = playlist
        self.init_bytes = init_bytes
        self.init = init
        self.fingerprint = _fingerprint(init_bytes, playlist)
        ranges = [segment.byterange for segment in playlist.segments]
        # Exact sizes are known up front only when every segment is a byte range.
        self.exact_total: Optional[int] = (
            len(init_bytes) + sum(r.length for r in ranges if r is not None)
            if all(r is not None for r in ranges)
            else None
        )


def _fingerprint(init_bytes: bytes, playlist: MediaPlaylist) -> str:
    # Not the URLs' queries (re-signed on every /streams answer), but everything that decides
    # which bytes each segment holds.
    digest = hashlib.sha256(init_bytes)
    for segment in playlist.segments:
        path = segment.uri.split("?", 1)[0].split("#", 1)[0]
        byterange = f"{segment.byterange.offset}+{segment.byterange.length}" if segment.byterange else "-"
        digest.update(f"\n{path} {segment.duration!r} {byterange}".encode("utf-8"))
    return digest.hexdigest()


class _Record:
    """What ``<target>.part`` holds: the first ``segments`` segments of a stream, ``size`` bytes."""

    def __init__(self, source: str, fingerprint: str, segments: int, size: int) -> None:
        self.source = source
        self.fingerprint = fingerprint
        self.segments = segments
        self.size = size

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "kind": "hls",
                "source": self.source,
                "fingerprint": self.fingerprint,
                "segments": self.segments,
                "size": self.size,
            }
        ).encode("utf-8")


def _read_hls_record(path: str) -> Optional[_Record]:
    fd_file = open_for_reading(path, "resume record")
    if fd_file is None:
        return None
    with fd_file:
        data = fd_file.read(RECORD_LIMIT + 1)
    if len(data) > RECORD_LIMIT:
        return None
    try:
        value = loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("kind") != "hls":
        return None
    source, fingerprint = value.get("source"), value.get("fingerprint")
    segments, size = value.get("segments"), value.get("size")
    if not isinstance(source, str) or not isinstance(fingerprint, str):
        return None
    for number in (segments, size):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            return None
    assert isinstance(segments, int) and isinstance(size, int)
    return _Record(source, fingerprint, segments, size)


# -- fetching ------------------------------------------------------------------------------------


def _fetch(client: Any, url: str, byterange: Optional[ByteRange], limit: int, what: str) -> bytes:
    """GET ``url`` (its ``byterange`` only) and return the body, at most ``limit`` bytes."""
    # The media's own bytes: never a compressed copy (the transport would ask otherwise).
    headers: Dict[str, str] = {"Accept": "*/*", "Accept-Encoding": "identity"}
    if byterange is not None:
        last = byterange.offset + byterange.length - 1
        headers["Range"] = f"bytes={byterange.offset}-{last}"
    result = client.get(url, headers=headers)
    if not isinstance(result, StreamResponse):
        raise DownloadError(f"GET {redact_url(url)} answered with JSON where the {what} was expected")
    with result:
        media_type = result.content_type.split(";", 1)[0].strip().lower()
        if media_type == "text/html":
            raise DownloadError(f"GET {redact_url(url)} answered with an HTML page, not the {what}")
        if byterange is not None:
            if result.status_code != 206:
                raise DownloadError(
                    f"the CDN ignored the byte range of the {what} (status {result.status_code}"
                    f" to Range: bytes={byterange.offset}-{last}) at {redact_url(url)}"
                )
            # The range asked for, and no other (RFC 9110 14.4).
            found = (result.headers.get_value("content-range") or "").strip()
            if not found.startswith(f"bytes {byterange.offset}-{last}/"):
                raise DownloadError(
                    f"the CDN answered the {what}'s Range: bytes={byterange.offset}-{last} with"
                    f" Content-Range {found or '(none)'!r}"
                )
            limit = byterange.length
        length = result.content_length
        if length is not None and length > limit:
            raise ResponseTooLargeError(
                f"the {what} at {redact_url(url)} is {length} bytes; at most {limit} are accepted"
            )
        data = _read_at_most(result, limit, url, what)
    if byterange is not None and len(data) != byterange.length:
        raise ProtocolError(
            f"the {what} ended after {len(data)} of {byterange.length} bytes", method="GET", url=url
        )
    return data


def _read_at_most(response: StreamResponse, limit: int, url: str, what: str) -> bytes:
    chunks: List[bytes] = []
    size = 0
    while True:
        chunk = response.read(min(_READ_BLOCK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(f"the {what} at {redact_url(url)} is over {limit} bytes")


def _load(client: Any, url: str) -> _Stream:
    """The media playlist at ``url`` (through a master playlist) and its init section."""
    playlist = _playlist(client, url)
    if isinstance(playlist, MasterPlaylist):
        variant = best_variant(playlist)
        playlist = _playlist(client, variant.uri)
        if isinstance(playlist, MasterPlaylist):
            raise PlaylistError(f"the master playlist's variant {redact_url(variant.uri)} is another master playlist")
    if playlist.init is None:
        raise PlaylistError(
            "the playlist has no EXT-X-MAP init section: it is not fragmented MP4 audio, which is"
            " what SoundCloud's AAC streams are"
        )
    init_bytes = _fetch(client, playlist.init.uri, playlist.init.byterange, MAX_INIT_BYTES, "init section")
    return _Stream(playlist, init_bytes, parse_init(init_bytes))


def _playlist(client: Any, url: str) -> Union[MasterPlaylist, MediaPlaylist]:
    body = _fetch(client, url, None, MAX_PLAYLIST_BYTES, "playlist")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PlaylistError(f"the playlist at {redact_url(url)} is not UTF-8 text (RFC 8216 4.1)") from None
    return parse_playlist(text, url)


def _segment(client: Any, segment: Segment, init: InitInfo, index: int) -> bytes:
    data = _fetch(client, segment.uri, segment.byterange, MAX_SEGMENT_BYTES, f"segment {index + 1}")
    check_segment(data, init)
    return data


def _expired(exc: BaseException) -> bool:
    return isinstance(exc, HTTPError) and exc.status_code in _EXPIRED


class _Fetcher:
    """Fetches segments ``concurrency`` at a time and hands them over in playlist order."""

    def __init__(self, client: Any, concurrency: int) -> None:
        self.client = client
        self.concurrency = concurrency
        self.pool: Optional[ThreadPoolExecutor] = (
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="soundcloud-hls")
            if concurrency > 1
            else None
        )

    def run(self, stream: _Stream, start: int, write: Callable[[int, bytes], None]) -> None:
        """``write(index, data)`` for each segment from ``start`` on, in order."""
        segments = stream.playlist.segments
        pool = self.pool
        if pool is None:
            for index in range(start, len(segments)):
                write(index, _segment(self.client, segments[index], stream.init, index))
            return
        pending: List[Tuple[int, "Future[bytes]"]] = []
        following = start
        try:
            while pending or following < len(segments):
                while following < len(segments) and len(pending) < self.concurrency:
                    future = pool.submit(_segment, self.client, segments[following], stream.init, following)
                    pending.append((following, future))
                    following += 1
                index, future = pending.pop(0)
                write(index, future.result())
        finally:
            # On an error: what has not started never starts; what runs finishes and is dropped.
            for _, future in pending:
                future.cancel()
            for _, future in pending:
                if not future.cancelled():
                    try:
                        future.exception()
                    except BaseException:  # noqa: S110 - dropped on purpose, see above
                        pass

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


# -- the download ---------------------------------------------------------------------------------


def download_stream(
    client: Any,
    open_playlist: OpenPlaylist,
    target: Union[str, IO[bytes]],
    *,
    identity: str,
    tags: Optional[Tags] = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Optional[ProgressCallback] = None,
    resume: bool = True,
    clock: Callable[[], float] = time.monotonic,
    co64_threshold: int = 2**32,
) -> int:
    """Fetch the HLS stream ``open_playlist`` names and write it to ``target`` as a plain M4A.

    ``target`` is a path (written through ``<target>.part`` and ``<target>.tmp``, resumable) or
    a binary file object (written sequentially). Returns the size of the M4A in bytes.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(
            f"concurrency is the number of segments fetched at a time, 1 to {MAX_CONCURRENCY}, not {concurrency!r}"
        )
    fetcher = _Fetcher(client, concurrency)
    try:
        if isinstance(target, str):
            return _to_path(fetcher, open_playlist, target, identity, tags, progress, resume, clock, co64_threshold)
        return _to_file(fetcher, open_playlist, target, tags, progress, co64_threshold)
    finally:
        fetcher.close()


def _first_stream(client: Any, open_playlist: OpenPlaylist) -> _Stream:
    try:
        return _load(client, open_playlist(False))
    except HTTPError as exc:
        if not _expired(exc):
            raise
        # The URLs we were given have expired already: ask for new ones once.
        return _load(client, open_playlist(True))


class _Progress:
    """Bytes so far, and the total: exact with byte ranges, else estimated from the durations."""

    def __init__(self, stream: _Stream, callback: Optional[ProgressCallback], done: int, seconds: float) -> None:
        self.callback = callback
        self.stream = stream
        self.done = done
        self.seconds = seconds

    def add(self, data: bytes, segment: Segment) -> None:
        self.done += len(data)
        self.seconds += segment.duration
        if self.callback is not None:
            self.callback(self.done, self.total())

    def total(self) -> Optional[int]:
        exact = self.stream.exact_total
        if exact is not None:
            return exact
        whole = self.stream.playlist.total_duration
        if self.seconds <= 0 or whole <= 0:
            return None
        return max(self.done, int(self.done * whole / self.seconds))


def _fetch_all(
    fetcher: _Fetcher,
    open_playlist: OpenPlaylist,
    stream: _Stream,
    start: int,
    write: Callable[[_Stream, int, bytes], None],
) -> None:
    """Every segment from ``start`` on, refreshing expired URLs (bounded) and continuing."""
    refreshes = 0
    position = [start]

    def written(index: int, data: bytes) -> None:
        write(stream, index, data)
        position[0] = index + 1

    while True:
        before = position[0]
        try:
            fetcher.run(stream, position[0], written)
            return
        except HTTPError as exc:
            if not _expired(exc):
                raise
            refreshes = 0 if position[0] > before else refreshes + 1
            if refreshes > MAX_REFRESHES:
                raise DownloadError(
                    f"the stream's segment URLs kept expiring ({exc.status_code}) after"
                    f" {MAX_REFRESHES} fresh /streams answers; try again later"
                ) from exc
        fresh = _load(fetcher.client, open_playlist(True))
        if fresh.fingerprint != stream.fingerprint:
            raise DownloadError(
                "the stream changed while it was being downloaded (the new playlist lists other"
                " segments); the partial file is discarded, run the download again"
            )
        stream = fresh


def _to_file(
    fetcher: _Fetcher,
    open_playlist: OpenPlaylist,
    target: IO[bytes],
    tags: Optional[Tags],
    progress: Optional[ProgressCallback],
    co64_threshold: int,
) -> int:
    _check_at_start(target)
    stream = _first_stream(fetcher.client, open_playlist)
    with tempfile.TemporaryFile() as part:
        part.write(stream.init_bytes)
        meter = _Progress(stream, progress, len(stream.init_bytes), 0.0)

        def write(current: _Stream, index: int, data: bytes) -> None:
            part.write(data)
            meter.add(data, current.playlist.segments[index])

        _fetch_all(fetcher, open_playlist, stream, 0, write)
        part.flush()
        part.seek(0)
        result = remux(part, target, tags, co64_threshold=co64_threshold)
    if progress is not None:
        progress(result.size, result.size)
    return result.size


def _check_at_start(target: IO[bytes]) -> None:
    # The M4A's chunk offsets (stco/co64) count from its first byte: it must start its file.
    # A pipe or socket (stdout) has no position and is fine.
    try:
        seekable = target.seekable()
        position = target.tell() if seekable else 0
    except (AttributeError, OSError, ValueError):
        return
    if position != 0:
        raise ValueError(
            f"an M4A must start at the beginning of its file, and the target file is at position"
            f" {position}; give a new file (or seek it to 0 and truncate it)"
        )


def _to_path(
    fetcher: _Fetcher,
    open_playlist: OpenPlaylist,
    path: str,
    identity: str,
    tags: Optional[Tags],
    progress: Optional[ProgressCallback],
    resume: bool,
    clock: Callable[[], float],
    co64_threshold: int,
) -> int:
    part_name, record_name, remuxed_name = path + ".part", path + ".part.json", path + ".tmp"
    # Links and special files are refused before anything is sent (see .partfile).
    check_regular(path, "download target")
    has_part = check_regular(part_name, "partial file")
    has_record = check_regular(record_name, "resume record")
    check_regular(remuxed_name, "remuxed file")
    stream = _first_stream(fetcher.client, open_playlist)
    record = _read_hls_record(record_name) if resume and has_part and has_record else None
    out: Optional[PartFile] = None
    start = 0
    if record is not None and record.source == identity and record.fingerprint == stream.fingerprint:
        out = reopen_part(part_name)
        if out is not None and (out.size < record.size or record.segments > len(stream.playlist.segments)):
            out.close()
            out = None  # shorter than its record says: not what the record describes
        if out is not None:
            out.truncate(record.size)
            start = record.segments
    if out is None:
        record = None
        if has_record:
            remove_quietly(record_name)
        if has_part or os.path.lexists(part_name):
            remove_quietly(part_name)
        out = create_part(part_name)
        out.write(stream.init_bytes)
        record = _Record(identity, stream.fingerprint, 0, out.size)
        if resume:
            atomic_write(record_name, [record.to_bytes()])
    assert record is not None
    state = record
    done_seconds = sum(segment.duration for segment in stream.playlist.segments[:start])
    meter = _Progress(stream, progress, out.size, done_seconds)
    last_saved = [clock()]
    part = out

    def save() -> None:
        if resume:
            atomic_write(record_name, [state.to_bytes()])
        last_saved[0] = clock()

    def write(current: _Stream, index: int, data: bytes) -> None:
        part.write(data)
        state.segments = index + 1
        state.size = part.size
        state.fingerprint = current.fingerprint
        meter.add(data, current.playlist.segments[index])
        if clock() - last_saved[0] >= RECORD_INTERVAL:
            save()

    try:
        _fetch_all(fetcher, open_playlist, stream, start, write)
        save()
        part.finish()
    except BaseException:
        part.close()
        if resume and state.segments > 0:
            save()  # what is complete, for the next call
        else:
            remove_quietly(part_name)
            remove_quietly(record_name)
        raise
    size = _remux_to(part_name, remuxed_name, path, tags, co64_threshold)
    remove_quietly(part_name)
    remove_quietly(record_name)
    if progress is not None:
        progress(size, size)
    return size


def _remux_to(part_name: str, remuxed_name: str, path: str, tags: Optional[Tags], co64_threshold: int) -> int:
    source = open_for_reading(part_name, "partial file")
    if source is None:
        raise DownloadError(f"the partial file {part_name!r} disappeared before it was remuxed")
    remove_quietly(remuxed_name)
    with source:
        out = create_part(remuxed_name)
        try:
            with os.fdopen(os.dup(out.fd), "wb") as sink:
                result = remux(source, sink, tags, co64_threshold=co64_threshold)
            out.size = result.size
            out.finish()
        except BaseException:
            out.close()
            remove_quietly(remuxed_name)
            raise
    replace_durably(remuxed_name, path)
    return result.size

