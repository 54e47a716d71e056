"""One track's whole audio, as SoundCloud serves it today (since 15 November 2025).

What :func:`download_track` takes, in this order (``quality`` and ``allow_preview`` steer it):

1. **The original file**, for a track with ``downloadable: true``: ``download_url``
   (``/tracks/{urn}/download``) answers 302 to the uploaded file on the CDN. Taken when
   ``quality`` is ``'best'`` (the default) or ``'original'``.
2. **The AAC stream** from ``/tracks/{urn}/streams``: ``hls_aac_160_url``, else
   ``hls_aac_96_url`` (``quality='stream'`` skips the original; ``'aac_160'`` and
   ``'aac_96'`` ask for exactly that one). It is fetched and remuxed into a plain, tagged
   M4A (:mod:`.hls_fetch`, :mod:`.m4a`).
3. **A 30-second preview** (``preview_mp3_128_url``), only with ``allow_preview=True``. The
   legacy ``/tracks/{id}/stream`` and ``preview_mp3_128_url`` give nothing else any more,
   and a track whose ``access`` is ``preview`` (a SoundCloud Go+ track, say) offers only
   that: without ``allow_preview`` such a track raises :class:`~soundcloud.DownloadError`
   saying why, and nothing is written.

Sources: a track :class:`~soundcloud.Resource`, an int id, a numeric string, a track URN, or
a soundcloud.com URL (resolved with ``/resolve``). A ``/tracks/{urn}/streams`` answer (as a
Resource or its API path) is downloaded as the stream it lists. Any other ``http(s)`` URL or
API path is a plain media URL and is fetched as it is (:mod:`.download`), except a track's
``/stream`` path, which is refused without ``allow_preview`` because it is a preview now.

A directory ``target`` gets a file named after the title (:func:`.names.safe_filename`):
``.m4a`` for a stream, ``.mp3`` for a preview, and the original's own extension (from the
CDN's ``Content-Disposition`` or ``Content-Type``) for an original.

Tags (M4A only): title, artist (the uploader's username), album (the playlist, when
:func:`.batch.download_all` knows it), date (the release date, else the upload date), genre,
comment (the permalink URL), and the cover from ``artwork_url`` at 500x500 when there is one
(a cover that cannot be fetched is left out; the audio is what matters).
"""

from __future__ import annotations

import errno
import logging
import os
import re
from typing import IO, Any, Callable, Final, Mapping, Optional, Union
from urllib.parse import urlsplit

from .._models import header_value
from .._redact import redact_url
from ..encoding import to_urn
from ..errors import DownloadError, SoundCloudError
from ..resources import Resource, StreamResponse
from . import download as progressive
from .hls_fetch import DEFAULT_CONCURRENCY, download_stream
from .m4a_tags import Tags
from .names import ORIGINAL_EXTENSIONS, extension_for, safe_filename
from .partfile import check_regular

__all__ = [
    "PERMALINK_HOSTS",
    "QUALITIES",
    "Saved",
    "download_track",
    "fetch_track",
    "tags_for",
]

QUALITIES: Final = ("best", "stream", "original", "aac_160", "aac_96")
# soundcloud.com web pages (permalinks) that /resolve turns into API resources.
PERMALINK_HOSTS: Final = frozenset({"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com", "on.soundcloud.com"})
_STREAM_KEYS: Final = {
    "best": ("hls_aac_160_url", "hls_aac_96_url"),
    "stream": ("hls_aac_160_url", "hls_aac_96_url"),
    "original": ("hls_aac_160_url", "hls_aac_96_url"),
    "aac_160": ("hls_aac_160_url",),
    "aac_96": ("hls_aac_96_url",),
}
_ALL_STREAM_KEYS: Final = (
    "hls_aac_160_url",
    "hls_aac_96_url",
    "preview_mp3_128_url",
    "http_mp3_128_url",
    "hls_mp3_128_url",
    "hls_opus_64_url",
)
_STREAMS_PATH: Final = re.compile(r"(?:https?://[^/?#]+)?(/tracks/[^/?#]+)/streams/?\Z")
_STREAM_PATH: Final = re.compile(r"(?:https?://[^/?#]+)?/tracks/[^/?#]+/stream/?\Z")
MAX_COVER_BYTES: Final = 10 * 1024 * 1024
_logger: Final = logging.getLogger("soundcloud")

ProgressCallback = Callable[[int, Optional[int]], None]


class Saved:
    """What a download wrote: the ``path`` (None for a file object), its ``size`` in bytes,
    and its ``kind``: ``'original'``, ``'stream'`` (an M4A), ``'preview'`` or ``'media'``
    (a plain media URL)."""

    def __init__(self, path: Optional[str], size: int, kind: str, track: Optional[Resource]) -> None:
        self.path = path
        self.size = size
        self.kind = kind
        self.track = track

    def __repr__(self) -> str:
        return f"<Saved {self.kind} {self.size} bytes to {self.path!r}>"


def download_track(
    client: Any,
    source: object,
    target: Any,
    *,
    progress: Optional[ProgressCallback] = None,
    resume: bool = True,
    allow_preview: bool = False,
    quality: str = "best",
    concurrency: int = DEFAULT_CONCURRENCY,
    album: Optional[str] = None,
    stem: Optional[str] = None,
) -> Saved:
    """Download ``source`` (a track, id, URN, soundcloud.com URL, or media URL) to ``target``
    (a file path, a directory, or a binary file object); see the module docs."""
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, not {quality!r}")
    _check_target(target)
    track = fetch_track(client, source, allow_preview)
    if isinstance(track, str):
        # A plain media URL or API path: fetched as it is.
        return _plain(client, track, target, progress, resume, "media", None, _url_extension(track), stem)
    if _is_streams_listing(track):
        return _from_streams(
            client, track, None, target, progress, resume, allow_preview, quality, concurrency, None, stem
        )
    access = track.fields().get("access")
    if access == "blocked":
        raise DownloadError(f"{_name(track)} cannot be played: SoundCloud blocks its audio (access: blocked)")
    if quality in ("best", "original") and track.fields().get("downloadable") is True:
        return _original(client, track, target, progress, resume, stem)
    if quality == "original":
        raise DownloadError(
            f"{_name(track)} has no original file to download (downloadable is not true);"
            " use quality='best' for its stream"
        )
    streams = client.get(_track_path(track) + "/streams")
    if not isinstance(streams, Resource):
        raise DownloadError(f"/streams of {_name(track)} did not answer with JSON")
    return _from_streams(
        client, streams, track, target, progress, resume, allow_preview, quality, concurrency, album, stem,
        preview_only=access == "preview",
    )


def _url_extension(url: str) -> str:
    """The extension a plain media URL's path names, when it is an audio one; else ``bin``."""
    _, dot, extension = urlsplit(url).path.rpartition("/")[2].rpartition(".")
    return extension.lower() if dot and extension.lower() in ORIGINAL_EXTENSIONS else "bin"


def _check_target(target: Any) -> None:
    """Refuse a bad target before anything is sent: a closed or text-mode file, a missing
    directory, a link or special file where the file, its ``.part``, record or ``.tmp`` go."""
    if not isinstance(target, (str, os.PathLike)):
        progressive.check_file_target(target)
        return
    path = os.fspath(target)
    if not isinstance(path, str):
        raise TypeError("a download target path must be a str or a str PathLike, not bytes")
    if os.path.isdir(path):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "the download target's directory does not exist", directory)
    for name, what in ((path, "download target"), (path + ".part", "partial file"),
                       (path + ".part.json", "resume record"), (path + ".tmp", "remuxed file")):
        check_regular(name, what)


def fetch_track(client: Any, source: object, allow_preview: bool = True) -> Union[Resource, str]:
    """The track Resource a source names (fetched when needed), or the media URL/path to GET."""
    if isinstance(source, Resource):
        data = source.fields()
        if _is_streams_listing(source):
            return source
        kind = data.get("kind")
        if kind is not None and kind != "track":
            raise ValueError(f"only tracks can be downloaded one at a time, not a {kind}; use download_all()")
        if not isinstance(data.get("urn"), str) and not isinstance(data.get("id"), int):
            raise ValueError("the resource has no 'urn' or 'id' to download it by")
        return source
    if isinstance(source, bool):
        raise TypeError("a download source must be a track, an id, a URN or a URL, not a bool")
    if isinstance(source, int):
        return _get_track(client, "/tracks/" + to_urn("tracks", source))
    if not isinstance(source, str):
        raise TypeError(
            "a download source must be a track (Resource), an id, a URN, a soundcloud.com URL,"
            f" an API path or a media URL, not {type(source).__name__}"
        )
    if (source.isascii() and source.isdigit()) or source.startswith("soundcloud:"):
        return _get_track(client, "/tracks/" + to_urn("tracks", source))
    if source.startswith("https://") or source.startswith("http://"):
        host = (urlsplit(source).hostname or "").lower()
        if host in PERMALINK_HOSTS:
            return _resolved_track(client, source)
    url = progressive.source_url(source)
    streams = _STREAMS_PATH.match(url.split("?", 1)[0])
    if streams is not None:
        listing = client.get(url)
        if not isinstance(listing, Resource) or not _is_streams_listing(listing):
            raise DownloadError(f"GET {redact_url(url)} did not answer with a list of stream URLs")
        return listing
    if not allow_preview and _STREAM_PATH.match(url.split("?", 1)[0]):
        raise DownloadError(
            f"{redact_url(url)} gives a 30-second preview since SoundCloud moved to AAC HLS (15 Nov"
            " 2025): download the track itself (its id, URN or Resource) for the whole audio, or"
            " pass allow_preview=True (--allow-preview) to save the preview"
        )
    return url


def _get_track(client: Any, path: str) -> Resource:
    track = client.get(path)
    if not isinstance(track, Resource):
        raise DownloadError(f"GET {path} did not answer with a track")
    return track


def _resolved_track(client: Any, url: str) -> Resource:
    found = client.get("/resolve", url=url)
    if not isinstance(found, Resource):
        raise DownloadError(f"{redact_url(url)} did not resolve to a track")
    kind = found.fields().get("kind")
    if kind != "track":
        raise ValueError(
            f"{redact_url(url)} is a {kind or 'page'}, not a track: download_all() (or `soundcloud"
            " download URL -o DIR`) takes playlists, users and likes"
        )
    return found


def _is_streams_listing(resource: Resource) -> bool:
    data = resource.fields()
    return "kind" not in data and any(key in data for key in _ALL_STREAM_KEYS)


def _track_path(track: Resource) -> str:
    data = track.fields()
    urn = data.get("urn")
    return "/tracks/" + to_urn("tracks", urn if isinstance(urn, str) and urn else data.get("id"))


def _name(track: Resource) -> str:
    data = track.fields()
    title = data.get("title")
    urn = data.get("urn") or data.get("id")
    return f"track {urn}" + (f" ({title!r})" if isinstance(title, str) else "")


def _fallback_name(track: Optional[Resource]) -> str:
    if track is None:
        return "track"
    value = track.fields().get("id")
    if isinstance(value, int):
        return f"track-{value}"
    urn = track.fields().get("urn")
    return "track-" + (urn.rsplit(":", 1)[-1] if isinstance(urn, str) else "unknown")


def _is_directory(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike)) and os.path.isdir(target)


def _path_in(target: Any, track: Optional[Resource], extension: str, stem: Optional[str]) -> str:
    if stem is not None:
        return os.path.join(os.fspath(target), f"{stem}.{extension}")
    title = track.fields().get("title") if track is not None else None
    return os.path.join(os.fspath(target), safe_filename(title, extension, _fallback_name(track)))


def _plain(
    client: Any,
    url: str,
    target: Any,
    progress: Optional[ProgressCallback],
    resume: bool,
    kind: str,
    track: Optional[Resource],
    extension: str,
    stem: Optional[str],
) -> Saved:
    if _is_directory(target):
        target = _path_in(target, track, extension, stem)
    size = progressive.download(client, url, target, progress=progress, resume=resume)
    path = os.fspath(target) if isinstance(target, (str, os.PathLike)) else None
    return Saved(str(path) if path is not None else None, size, kind, track)


def _original(
    client: Any, track: Resource, target: Any, progress: Optional[ProgressCallback], resume: bool, stem: Optional[str]
) -> Saved:
    url = track.fields().get("download_url")
    if not isinstance(url, str) or not url:
        url = _track_path(track) + "/download"
    if not _is_directory(target):
        return _plain(client, url, target, progress, resume, "original", track, "bin", stem)
    # Into a directory: the name needs the file's extension, which only the CDN's answer
    # tells (Content-Disposition, else Content-Type).
    opened = progressive.open_media(client, url)
    extension = extension_for(
        header_value(opened.headers, "content-type") or "", header_value(opened.headers, "content-disposition")
    ) or "bin"
    path = _path_in(target, track, extension, stem)
    size = progressive.download_opened(client, url, path, opened, progress=progress, resume=resume)
    return Saved(path, size, "original", track)


def _from_streams(
    client: Any,
    streams: Resource,
    track: Optional[Resource],
    target: Any,
    progress: Optional[ProgressCallback],
    resume: bool,
    allow_preview: bool,
    quality: str,
    concurrency: int,
    album: Optional[str],
    stem: Optional[str],
    preview_only: bool = False,
) -> Saved:
    data = streams.fields()
    key = next((k for k in _STREAM_KEYS[quality] if isinstance(data.get(k), str) and data.get(k)), None)
    preview = data.get("preview_mp3_128_url")
    if preview_only and not allow_preview:
        raise DownloadError(
            f"{_name(track) if track is not None else 'the track'} offers only a 30-second preview"
            " (access: preview, as for SoundCloud Go+ tracks); nothing was written. Pass"
            " allow_preview=True (--allow-preview) to save the preview"
        )
    if key is None:
        offered = ", ".join(k for k in _ALL_STREAM_KEYS if data.get(k)) or "none"
        what = _name(track) if track is not None else "the track"
        if quality in ("aac_160", "aac_96"):
            raise DownloadError(f"{what} has no {_STREAM_KEYS[quality][0]} (offered: {offered}); try quality='best'")
        if isinstance(preview, str) and preview:
            if not allow_preview:
                raise DownloadError(
                    f"{what} offers only a 30-second preview (offered: {offered}); nothing was"
                    " written. Pass allow_preview=True (--allow-preview) to save the preview"
                )
            return _plain(client, preview, target, progress, resume, "preview", track, "mp3", stem)
        raise DownloadError(f"{what} offers no AAC stream to download (offered: {offered})")
    listing_url = streams.url
    first = str(data[key])

    def open_playlist(refresh: bool) -> str:
        if not refresh:
            return first
        if track is not None:
            fresh = client.get(_track_path(track) + "/streams")
        elif listing_url and _STREAMS_PATH.match(listing_url.split("?", 1)[0]):
            fresh = client.get(listing_url)
        else:
            raise DownloadError("the stream's URLs expired, and a /streams answer on its own cannot be renewed")
        value = fresh.fields().get(key) if isinstance(fresh, Resource) else None
        if not isinstance(value, str) or not value:
            raise DownloadError(f"a fresh /streams answer no longer lists {key}")
        return value

    if track is not None:
        identity = _track_path(track)[len("/tracks/"):] + " " + key
    else:
        identity = (listing_url or first).split("?", 1)[0] + " " + key
    tags = tags_for(client, track, album) if track is not None else None
    path: Optional[str] = None
    sink: Union[str, IO[bytes]]
    if _is_directory(target):
        path = _path_in(target, track, "m4a", stem)
        sink = path
    elif isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        if not isinstance(path, str):
            raise TypeError("a download target path must be a str or a str PathLike, not bytes")
        sink = path
    else:
        progressive.check_file_target(target)
        sink = target
    size = download_stream(
        client, open_playlist, sink, identity=identity, tags=tags, concurrency=concurrency,
        progress=progress, resume=resume,
    )
    return Saved(path, size, "preview" if preview_only else "stream", track)


def tags_for(client: Any, track: Resource, album: Optional[str] = None) -> Tags:
    """The M4A tags of a track: title, artist, album, date, genre, comment, cover."""
    data = track.fields()
    user = data.get("user")
    artist = user.get("username") if isinstance(user, Mapping) else None
    genre = data.get("genre")
    permalink = data.get("permalink_url")
    return Tags(
        title=_text(data.get("title")),
        artist=_text(artist),
        album=album,
        date=_date_of(data),
        genre=_text(genre) if genre else None,
        comment=_text(permalink),
        cover=_cover(client, data.get("artwork_url")),
    )


def _text(value: object) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _date_of(data: Mapping[str, Any]) -> Optional[str]:
    year, month, day = data.get("release_year"), data.get("release_month"), data.get("release_day")
    if isinstance(year, int) and not isinstance(year, bool) and 1000 <= year <= 9999:
        if isinstance(month, int) and 1 <= month <= 12:
            if isinstance(day, int) and 1 <= day <= 31:
                return f"{year:04d}-{month:02d}-{day:02d}"
            return f"{year:04d}-{month:02d}"
        return f"{year:04d}"
    created = data.get("created_at")
    # The API's dates look like "2020/01/03 12:08:25 +0000".
    if isinstance(created, str):
        match = re.match(r"(\d{4})[/-](\d\d)[/-](\d\d)", created)
        if match is not None:
            return "-".join(match.groups())
    return None


def _cover(client: Any, artwork_url: object) -> Optional[bytes]:
    if not isinstance(artwork_url, str) or not artwork_url.startswith(("https://", "http://")):
        return None
    # SoundCloud names artwork sizes in the file name; "-large" is 100x100, "-t500x500" the
    # size players show.
    candidates = [artwork_url.replace("-large.", "-t500x500."), artwork_url]
    for url in dict.fromkeys(candidates):
        try:
            return _fetch_cover(client, url)
        except (SoundCloudError, OSError, ValueError) as exc:
            _logger.debug("no cover from %s: %s", redact_url(url), exc)
    return None


def _fetch_cover(client: Any, url: str) -> Optional[bytes]:
    result = client.get(url, headers={"Accept": "image/jpeg, image/png", "Accept-Encoding": "identity"})
    if not isinstance(result, StreamResponse):
        raise DownloadError("the artwork URL did not answer with an image")
    with result:
        if result.content_length is not None and result.content_length > MAX_COVER_BYTES:
            return None
        data = result.read(MAX_COVER_BYTES + 1)
        while len(data) <= MAX_COVER_BYTES:
            more = result.read(MAX_COVER_BYTES + 1 - len(data))
            if not more:
                break
            data += more
    return data if 0 < len(data) <= MAX_COVER_BYTES else None

