"""Many tracks into one directory: a playlist (set), a user's tracks, or a user's likes.

:func:`download_all` lists the tracks first (following ``next_href``), then downloads
``workers`` of them at a time with :func:`.track.download_track` (each fetching its own
segments ``concurrency`` at a time):

- **Names.** Each file is named after its track's title (:func:`.names.safe_filename`); when
  two tracks in the batch would get the same name, each of them gets its id appended
  (``Intro (123).m4a``), so the names do not depend on which finished first.
- **Skipping.** A track whose finished file is already in the directory is skipped without
  fetching its audio: ``<name>.m4a``, or ``<name>.mp3`` when previews are allowed, or, for a
  downloadable track whose original would be taken, ``<name>.<ext>`` for any audio extension
  an original may have. Partial files (``.part``) are not finished files: they are resumed.
- **Failures** of one track (an error from SoundCloud or the CDN, a preview-only track, a
  file system error) are recorded with their reason and the batch goes on. Interrupting the
  batch (KeyboardInterrupt) stops it: what has started is left resumable.
- **Album tag.** Tracks of a playlist get the playlist's title as their album.

The :class:`DownloadSummary` lists what was done, skipped and failed, in listing order.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Final, List, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from .._redact import redact_url
from ..encoding import to_urn
from ..errors import DownloadError, SoundCloudError
from ..resources import Resource
from .hls_fetch import DEFAULT_CONCURRENCY
from .names import ORIGINAL_EXTENSIONS, safe_stem
from .track import PERMALINK_HOSTS, Saved, download_track

__all__ = ["DownloadSummary", "Outcome", "download_all", "list_tracks"]

DEFAULT_WORKERS: Final = 2
MAX_WORKERS: Final = 16
ProgressCallback = Callable[[int, Optional[int]], None]


class Outcome:
    """One track of a batch: ``status`` is ``'done'``, ``'skipped'`` or ``'failed'``;
    ``path`` is the file (done or skipped); ``reason`` says why it failed."""

    def __init__(self, track: Resource, status: str, path: Optional[str], reason: Optional[str], size: int = 0) -> None:
        self.track = track
        self.status = status
        self.path = path
        self.reason = reason
        self.size = size

    @property
    def title(self) -> str:
        """The track's title (or its URN when it has none)."""
        data = self.track.fields()
        title = data.get("title")
        return title if isinstance(title, str) else str(data.get("urn") or data.get("id"))

    def __repr__(self) -> str:
        return f"<Outcome {self.status} {self.title!r}>"


class DownloadSummary:
    """What :func:`download_all` did: ``done``, ``skipped`` and ``failed`` outcomes, in order."""

    def __init__(self, outcomes: List[Outcome]) -> None:
        self.outcomes = outcomes

    @property
    def done(self) -> List[Outcome]:
        """Tracks downloaded by this call."""
        return [o for o in self.outcomes if o.status == "done"]

    @property
    def skipped(self) -> List[Outcome]:
        """Tracks whose finished file was already there."""
        return [o for o in self.outcomes if o.status == "skipped"]

    @property
    def failed(self) -> List[Outcome]:
        """Tracks that could not be downloaded, each with its ``reason``."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no track failed."""
        return not self.failed

    def __str__(self) -> str:
        return f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed"

    def __repr__(self) -> str:
        return f"<DownloadSummary {self}>"


def download_all(
    client: Any,
    source: object,
    directory: Any,
    *,
    likes: bool = False,
    workers: int = DEFAULT_WORKERS,
    allow_preview: bool = False,
    quality: str = "best",
    concurrency: int = DEFAULT_CONCURRENCY,
    resume: bool = True,
    max_items: Optional[int] = None,
    album: Optional[str] = None,
    track_progress: Optional[Callable[[Resource], Optional[ProgressCallback]]] = None,
    on_finished: Optional[Callable[[Outcome], None]] = None,
) -> DownloadSummary:
    """Download every track of a playlist, a user (their tracks, or with ``likes=True`` their
    liked tracks), a soundcloud.com URL of one of those, or a list of tracks into
    ``directory``. ``album`` overrides the album tag (a playlist's title by default)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers is the number of tracks downloaded at a time, 1 to {MAX_WORKERS}, not {workers!r}")
    folder = os.fspath(directory)
    if not isinstance(folder, str):
        raise TypeError("the directory must be a str path, not bytes")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"download_all() writes into an existing directory; {folder!r} is not one")
    tracks, listed_album = list_tracks(client, source, likes=likes, max_items=max_items)
    album = album if album is not None else listed_album
    stems = _stems(tracks)
    results: List[Optional[Outcome]] = [None] * len(tracks)

    def one(index: int) -> Outcome:
        track = tracks[index]
        found = _finished_file(folder, stems[index], track, quality, allow_preview)
        if found is not None:
            outcome = Outcome(track, "skipped", found, None)
        else:
            callback = track_progress(track) if track_progress is not None else None
            try:
                saved: Saved = download_track(
                    client, track, folder, progress=callback, resume=resume, allow_preview=allow_preview,
                    quality=quality, concurrency=concurrency, album=album, stem=stems[index],
                )
                outcome = Outcome(track, "done", saved.path, None, saved.size)
            except (SoundCloudError, OSError, ValueError) as exc:
                outcome = Outcome(track, "failed", None, _reason(exc))
        if on_finished is not None:
            on_finished(outcome)
        return outcome

    if workers == 1 or len(tracks) <= 1:
        for index in range(len(tracks)):
            results[index] = one(index)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="soundcloud-batch") as pool:
            futures = [pool.submit(one, index) for index in range(len(tracks))]
            try:
                for index, future in enumerate(futures):
                    results[index] = future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return DownloadSummary([outcome for outcome in results if outcome is not None])


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def list_tracks(
    client: Any, source: object, *, likes: bool = False, max_items: Optional[int] = None
) -> Tuple[List[Resource], Optional[str]]:
    """The tracks a batch source names, and the album (playlist title) when it is a playlist."""
    if isinstance(source, (list, tuple)):
        listed = list(source)
        if not all(isinstance(t, Resource) and t.fields().get("kind", "track") == "track" for t in listed):
            raise TypeError("a list given to download_all() must hold track Resources")
        return listed[:max_items] if max_items is not None else listed, None
    resource, likes_url = _resource_of(client, source)
    likes = likes or likes_url
    data = resource.fields()
    kind = data.get("kind")
    if kind == "track":
        return [resource], None
    urn = data.get("urn")
    ident = urn if isinstance(urn, str) and urn else data.get("id")
    if kind == "playlist":
        path = "/playlists/" + to_urn("playlists", ident) + "/tracks"
        title = data.get("title")
        album: Optional[str] = title if isinstance(title, str) and title else None
    elif kind == "user":
        path = "/users/" + to_urn("users", ident) + ("/likes/tracks" if likes else "/tracks")
        album = None
    else:
        raise DownloadError(f"cannot download a {kind or 'resource without a kind'}: pass a playlist, a user or a track")
    if kind == "playlist" and likes:
        raise ValueError("likes=True applies to a user, not a playlist")
    tracks: List[Resource] = []
    for item in client.paginate(path, limit=200, max_items=max_items):
        if isinstance(item, Resource) and item.fields().get("kind", "track") == "track":
            tracks.append(item)
    return tracks, album


def _resource_of(client: Any, source: object) -> Tuple[Resource, bool]:
    """The playlist, user or track a source names, and whether it was a user's likes URL."""
    if isinstance(source, Resource):
        return source, False
    if isinstance(source, str):
        if source.startswith("soundcloud:"):
            kind = source.split(":")[1] if source.count(":") >= 2 else ""
            if kind not in ("playlists", "users", "tracks"):
                raise ValueError(f"not a playlist, user or track URN: {source!r}")
            found = client.get(f"/{kind}/{to_urn(kind, source)}")
        elif source.startswith(("https://", "http://")) and (urlsplit(source).hostname or "").lower() in PERMALINK_HOSTS:
            found = client.get("/resolve", url=_without_likes(source))
        else:
            raise ValueError(
                f"download_all() takes a playlist, user or track: a Resource, a URN or a soundcloud.com URL, not {redact_url(source)!r}"
            )
        if not isinstance(found, Resource):
            raise DownloadError(f"{redact_url(source)} did not resolve to a playlist, user or track")
        return found, _is_likes_url(source)
    raise TypeError(f"download_all() takes a Resource, a URN or a soundcloud.com URL, not {type(source).__name__}")


def _is_likes_url(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/likes")


def _without_likes(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    for suffix in ("/likes", "/tracks"):
        if path.endswith(suffix) and path.count("/") == 2:
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _stems(tracks: List[Resource]) -> List[str]:
    """Each track's file name without extension; duplicates in the batch get their id."""
    plain = [safe_stem(t.fields().get("title"), _fallback(t)) for t in tracks]
    counts: Dict[str, int] = {}
    for stem in plain:
        counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    out = []
    for track, stem in zip(tracks, plain):
        if counts[stem.lower()] > 1:
            stem = safe_stem(f"{stem} ({_fallback(track)[len('track-'):]})", _fallback(track))
        out.append(stem)
    return out


def _fallback(track: Resource) -> str:
    data = track.fields()
    ident = data.get("id")
    if isinstance(ident, int):
        return f"track-{ident}"
    urn = data.get("urn")
    return "track-" + (urn.rsplit(":", 1)[-1] if isinstance(urn, str) else "unknown")


def _finished_file(folder: str, stem: str, track: Resource, quality: str, allow_preview: bool) -> Optional[str]:
    extensions = ["m4a"]
    if allow_preview:
        extensions.append("mp3")
    if quality in ("best", "original") and track.fields().get("downloadable") is True:
        extensions.extend(sorted(ORIGINAL_EXTENSIONS))
    for extension in dict.fromkeys(extensions):
        path = os.path.join(folder, f"{stem}.{extension}")
        if os.path.isfile(path) and not os.path.islink(path):
            return path
    return None
