"""``soundcloud download SOURCE -o OUT``: one track, or every track of a playlist, a user or
their likes.

- **One track** (an id, a URN, a track's soundcloud.com URL, or a media URL): ``-o FILE``,
  ``-o DIR`` (named after the title) or ``-o -`` (stdout, never a terminal). A progress bar
  on stderr when it is a terminal. An interrupted download says how much is kept and that
  running the same command again resumes it.
- **Many tracks** (a set's URL, a user's URL, ``soundcloud.com/<user>/likes``, a playlist or
  user URN; ``--likes`` turns a user into their likes): ``-o DIR`` (created if missing),
  ``--workers`` tracks at a time, tracks already there skipped, a bar per track in progress
  and an overall line, then a summary; the exit status is non-zero when any track failed.
- ``--quality`` (best, stream, original, aac_160, aac_96), ``--allow-preview`` (otherwise a
  track that offers only a 30-second preview is an error), ``--concurrency`` (segments at a
  time).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple
from urllib.parse import urlsplit

from ..errors import SoundCloudError
from ..media.batch import MAX_WORKERS, DownloadSummary, Outcome, download_all, list_tracks
from ..media.download import part_path, record_path
from ..media.hls_fetch import MAX_CONCURRENCY
from ..media.track import PERMALINK_HOSTS, download_track
from ..resources import Resource
from .config import open_client
from .exits import EXIT_ERROR, EXIT_OK, CLIError
from .output import describe, info, shown, status_of
from .progress import MultiProgress, isatty, make_progress

if TYPE_CHECKING:
    from .. import Client

__all__ = ["add_download_arguments", "cmd_download"]


def _at_a_time(what: str, most: int) -> Callable[[str], int]:
    """argparse type of how many things at a time: 1 to ``most``, checked before any request."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"{what} at a time are 1 to {most}, not {text}")
        return value

    return parse


def add_download_arguments(sub: argparse.ArgumentParser) -> None:
    """The download command's arguments."""
    sub.add_argument("source", metavar="URL_OR_ID", help="a track, playlist or user: soundcloud.com URL, id, URN; or a media URL")
    sub.add_argument(
        "-o", "--output", required=True, metavar="PATH",
        help="a file, a directory (file named after the title; required for many tracks), or - for stdout",
    )
    sub.add_argument(
        "--quality", default="best", choices=("best", "stream", "original", "aac_160", "aac_96"),
        help="best (the original when downloadable, else the 160 kbit/s AAC stream), stream (never the"
        " original), original (only), aac_160 or aac_96 (default: best)",
    )
    sub.add_argument(
        "--allow-preview", action="store_true",
        help="save a 30-second preview when that is all a track offers (otherwise: an error)",
    )
    sub.add_argument("--likes", action="store_true", help="with a user: download the tracks they liked")
    sub.add_argument(
        "--workers", type=_at_a_time("tracks", MAX_WORKERS), default=2, metavar="N",
        help=f"tracks at a time, 1 to {MAX_WORKERS} (default: 2)",
    )
    sub.add_argument(
        "--concurrency", type=_at_a_time("segments", MAX_CONCURRENCY), default=4, metavar="N",
        help=f"segments at a time per track, 1 to {MAX_CONCURRENCY} (default: 4)",
    )


def cmd_download(args: argparse.Namespace) -> int:
    """download SOURCE -o OUT: a track's audio, or many tracks into a directory."""
    output: str = args.output
    if output == "-" and isatty(sys.stdout):
        # Audio is the server's bytes: on a terminal they would be run as control sequences.
        raise CLIError("refusing to write audio to a terminal: redirect stdout (-o - > FILE), or give -o FILE")
    with open_client(args) as client:
        source, many = _source(client, args.source, bool(args.likes))
        if many:
            return _download_many(client, source, args)
        return _download_one(client, source, args)


def _source(client: "Client", text: str, likes: bool) -> Tuple[Any, bool]:
    """What to download, and whether it is many tracks."""
    if text.startswith("soundcloud:playlists:") or text.startswith("soundcloud:users:"):
        return text, True
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and (parts.hostname or "").lower() in PERMALINK_HOSTS:
        path = parts.path.rstrip("/")
        if path.endswith("/likes") and path.count("/") == 2:
            return text, True
        # A web page, not media: /resolve finds what it shows.
        found = client.get("/resolve", url=text)
        if isinstance(found, Resource) and found.fields().get("kind") in ("playlist", "user"):
            return found, True
        return found, False
    if likes:
        raise CLIError("--likes needs a user: a soundcloud.com user URL or a soundcloud:users: URN")
    return text, False


def _download_one(client: "Client", source: Any, args: argparse.Namespace) -> int:
    output: str = args.output
    progress = make_progress(args, "downloading")
    resumable = _resumable_bytes(output)
    if progress is not None and resumable is not None:
        progress.baseline = resumable
    target: Any = sys.stdout.buffer if output == "-" else output
    try:
        if output == "-":
            sys.stdout.flush()
        saved = download_track(
            client, source, target, progress=progress, allow_preview=bool(args.allow_preview),
            quality=str(args.quality), concurrency=int(args.concurrency),
        )
        if output == "-":
            sys.stdout.buffer.flush()
    except SoundCloudError as exc:
        kept = _resumable_bytes(output)
        if kept is not None:
            # A record beside the part: the next run continues where this one stopped.
            raise CLIError(
                f"{describe(exc)}; {kept} bytes kept in {part_path(output)}: run the same command"
                " again to resume",
                status_of(exc),
            ) from None
        raise
    finally:
        if progress is not None:
            progress.finish()
    if output != "-":
        what = {"original": "the original file", "stream": "the stream", "preview": "a 30-second preview"}
        info(args, f"saved {saved.size} bytes ({what.get(saved.kind, 'media')}) to {shown(saved.path or output)}")
    return EXIT_OK


def _download_many(client: "Client", source: Any, args: argparse.Namespace) -> int:
    directory: str = args.output
    if directory == "-":
        raise CLIError("many tracks go into a directory: give -o DIR")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise CLIError(f"{shown(directory)} is not a directory; many tracks go into a directory (-o DIR)")
    os.makedirs(directory, exist_ok=True)
    board: Optional[MultiProgress] = None
    show = not getattr(args, "quiet", False) and isatty(sys.stderr)

    def track_progress(track: Resource) -> Any:
        if board is None:
            return None
        return board.track(_key(track), _title(track))

    def on_finished(outcome: Outcome) -> None:
        if board is not None:
            board.finished(_key(outcome.track), outcome.status)
        elif outcome.status == "failed":
            info(args, f"failed: {shown(outcome.title)}: {outcome.reason}")

    # Listed here for the overall count, then handed over as a list.
    tracks, album = list_tracks(client, source, likes=bool(args.likes))
    if show:
        board = MultiProgress(sys.stderr, len(tracks))
    summary = download_all(
        client, tracks, directory, album=album, workers=int(args.workers), allow_preview=bool(args.allow_preview),
        quality=args.quality, concurrency=int(args.concurrency), track_progress=track_progress, on_finished=on_finished,
    )
    if board is not None:
        board.finish()
        for outcome in summary.failed:
            info(args, f"failed: {shown(outcome.title)}: {outcome.reason}")
    _report(args, summary, directory)
    return EXIT_OK if summary.ok else EXIT_ERROR


def _report(args: argparse.Namespace, summary: DownloadSummary, directory: str) -> None:
    info(args, f"{summary} ({shown(directory)})")


def _key(track: Resource) -> str:
    data = track.fields()
    return str(data.get("urn") or data.get("id"))


def _title(track: Resource) -> str:
    title = track.fields().get("title")
    return shown(title) if isinstance(title, str) else _key(track)


def _resumable_bytes(output: str) -> Optional[int]:
    """The size of a download's resumable ``.part``: a regular file with its record beside it."""
    if output == "-" or os.path.isdir(output):
        return None
    try:
        record = os.lstat(record_path(output))
        part = os.lstat(part_path(output))
    except OSError:
        return None
    if not (stat.S_ISREG(record.st_mode) and stat.S_ISREG(part.st_mode)):
        return None
    return part.st_size
