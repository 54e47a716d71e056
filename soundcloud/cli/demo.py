"""``soundcloud demo``: the README tour against the built-in fake SoundCloud.

It runs the library itself (login with PKCE through a stand-in browser, refresh, search,
upload, resolve, download, errors, sign out) against
:class:`soundcloud.testing.FakeSoundCloud` on 127.0.0.1, printing each call and its
answer; no account, no network, nothing written outside a temporary directory. The fake
is imported only when the demo runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, List, Optional, TextIO

import soundcloud

from .exits import EXIT_OK, CLIError
from .progress import ProgressBar, isatty

__all__ = ["cmd_demo", "run_demo", "write_tone"]


def cmd_demo(args: argparse.Namespace) -> int:
    """demo: the README tour against soundcloud.testing.FakeSoundCloud."""
    return run_demo(args)


class _Tour:
    """Prints the demo: numbered headings, the Python calls made, and what came back."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.number = 0

    def heading(self, title: str) -> None:
        self.number += 1
        self.stream.write(f"\n{self.number}. {title}\n")
        self.stream.flush()

    def code(self, text: str) -> None:
        lines = text.splitlines()
        self.stream.write("    >>> " + lines[0] + "\n")
        for line in lines[1:]:
            self.stream.write("    ... " + line + "\n")
        self.stream.flush()

    def said(self, text: str) -> None:
        self.stream.write("    " + text + "\n")
        self.stream.flush()


def write_tone(path: str, *, seconds: float = 1.0, frequency: float = 440.0, rate: int = 44100) -> int:
    """Write a mono 16-bit WAV of a sine tone (stdlib ``wave``); returns its size in bytes."""
    import math
    import struct
    import wave

    frames = int(seconds * rate)
    samples = (int(12000 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(frames))
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{frames}h", *samples))
    return os.path.getsize(path)


def _loopback_browser(errors: List[str]) -> Callable[[str], None]:
    """A stand-in for the user's browser: fetch the authorize URL and follow it home.

    It runs in a thread because the login's callback server answers only after
    open_browser returns; proxies are bypassed since everything is on 127.0.0.1.
    """
    import threading
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def visit(url: str) -> None:
        try:
            with opener.open(url, timeout=10) as page:
                page.read()
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    def open_browser(url: str) -> None:
        threading.Thread(target=visit, args=(url,), name="demo-browser", daemon=True).start()

    return open_browser


def run_demo(args: argparse.Namespace, stream: Optional[TextIO] = None) -> int:
    """The README tour, start to end, against a fake SoundCloud on 127.0.0.1.

    Everything it writes (token store, WAV, download) lives in a temporary directory
    removed at the end; nothing goes to the network or the user's config.
    """
    import stat
    import tempfile

    from ..testing import FakeSoundCloud

    out = stream if stream is not None else sys.stdout
    tour = _Tour(out)
    started = time.monotonic()
    quiet = bool(getattr(args, "quiet", False))
    out.write("A tour of soundcloud-python against the built-in fake SoundCloud: no account, no network.\n")
    with tempfile.TemporaryDirectory(prefix="soundcloud-demo-") as tmp, FakeSoundCloud(
        loopback_any_port=True
    ) as sc:
        tour.heading("Start a fake SoundCloud (API, authorization server and CDN on 127.0.0.1)")
        tour.code("sc = soundcloud.testing.FakeSoundCloud(loopback_any_port=True).start()")
        tour.said(f"API {sc.api_url}   auth {sc.auth_url}   CDN {sc.cdn_url}")

        tour.heading("Log in: OAuth 2.1 authorization code with PKCE, loopback redirect (RFC 8252)")
        token_path = os.path.join(tmp, "token.json")
        tour.code(
            "client = soundcloud.Client(\n"
            f"    client_id={sc.client_id!r}, client_secret='...',\n"
            f"    token_store=soundcloud.FileTokenStore({token_path!r}),\n"
            f"    api_url={sc.api_url!r}, auth_url={sc.auth_url!r})"
        )
        store = soundcloud.FileTokenStore(token_path)
        client = soundcloud.Client(
            client_id=sc.client_id,
            client_secret=sc.client_secret,
            token_store=store,
            api_url=sc.api_url,
            auth_url=sc.auth_url,
        )
        with client:
            tour.code("token = client.login(open_browser=browser)  # the 'browser' here is urllib")
            browser_errors: List[str] = []
            token = client.login(open_browser=_loopback_browser(browser_errors), timeout=15.0)
            if browser_errors:
                raise CLIError("the demo browser failed: " + browser_errors[0])
            mode = stat.S_IMODE(os.stat(token_path).st_mode) if os.path.exists(token_path) else None
            tour.said(f"logged in: {token!r}")
            if mode is not None:
                tour.said(f"saved to {token_path} (mode {mode:o}); rewritten when the refresh token rotates")

            tour.heading("Who am I?")
            tour.code("me = client.get('/me')")
            tour.code("print(me.username, me.city)")
            me = client.get("/me")
            tour.said(f"{me.username} {me.get('city')}")

            tour.heading("Refresh: refresh tokens are single-use, so each refresh rotates it")
            tour.code("client.refresh()")
            before_refresh = store.load()
            client.refresh()
            after_refresh = store.load()
            rotated = (
                before_refresh is not None
                and after_refresh is not None
                and before_refresh.refresh_token != after_refresh.refresh_token
            )
            if not rotated:
                raise CLIError("the refresh did not rotate the saved refresh token")
            tour.said("new access and refresh tokens; the token store was rewritten at once")

            tour.heading("Search, following next_href page by page")
            before = len(sc.requests_to("api"))
            tour.code(
                "for track in client.paginate('/tracks', q='ambient', limit=2, max_items=5):\n"
                "    print(track.id, track.title)"
            )
            for track in client.paginate("/tracks", q="ambient", limit=2, max_items=5):
                tour.said(f"{track.id} {track.title}")
            pages = len(sc.requests_to("api")) - before
            tour.said(f"({pages} requests of 2 tracks: linked_partitioning=true, then each next_href)")

            tour.heading("Upload a track (a second of a 440 Hz tone, made with the wave module)")
            wav = os.path.join(tmp, "tone.wav")
            size = write_tone(wav)
            tour.code(
                "with open('tone.wav', 'rb') as audio:\n"
                "    track = client.post('/tracks', track={'title': 'A demo tone', 'sharing': 'private',\n"
                "                                          'asset_data': audio}, progress=bar)"
            )
            bar = None if quiet or not isatty(sys.stderr) else ProgressBar("    uploading", sys.stderr)
            try:
                with open(wav, "rb") as audio:
                    track = client.post(
                        "/tracks",
                        track={"title": "A demo tone", "sharing": "private", "asset_data": audio},
                        progress=bar,
                    )
            finally:
                if bar is not None:
                    bar.finish()
            tour.said(
                f"{track.status_code} {track.reason}: track {track.id} {track.title!r}, {track.sharing},"
                f" {size} bytes sent"
            )

            tour.heading("Resolve a soundcloud.com URL to its API resource")
            tour.code("flickermood = client.get('/resolve', url='http://soundcloud.com/forss/flickermood')")
            flickermood = client.get("/resolve", url="http://soundcloud.com/forss/flickermood")
            tour.said(
                f"{flickermood.id} {flickermood.title!r} by {flickermood.user.username} ({flickermood.url})"
            )

            tour.heading("Download the whole track: its AAC stream, remuxed to a tagged M4A (no ffmpeg)")
            m4a = os.path.join(tmp, "flickermood.m4a")
            tour.code("client.download(flickermood, 'flickermood.m4a', progress=bar)")
            bar = None if quiet or not isatty(sys.stderr) else ProgressBar("    downloading", sys.stderr)
            try:
                written = client.download(flickermood, m4a, progress=bar)
            finally:
                if bar is not None:
                    bar.finish()
            with open(m4a, "rb") as audio:
                head = audio.read(8)
            segments = sum(1 for r in sc.requests_to("cdn") if r.path.endswith(".m4s"))
            if head[4:8] != b"ftyp":
                raise CLIError("the download is not an MP4 file")
            tour.said(
                f"{written} bytes: {segments} HLS segments fetched 4 at a time, remuxed into one M4A"
                " (moov before mdat, so players show the length and seek), tagged with title,"
                " artist, date, comment and cover"
            )

            tour.heading("The original file of a downloadable track (your upload)")
            copy = os.path.join(tmp, "tone-copy.wav")
            tour.code("client.put(f'/tracks/{track.urn}', track={'downloadable': True})")
            tour.code("client.download(track, 'tone-copy.wav')")
            client.put(f"/tracks/{track.urn}", track={"downloadable": True})
            written = client.download(track.id, copy)
            with open(wav, "rb") as first, open(copy, "rb") as second:
                same = first.read() == second.read()
            if not same:
                raise CLIError("the downloaded copy differs from the upload")
            if sc.cdn_authorization_seen:
                raise CLIError("the access token was sent to the CDN")
            tour.said(f"{written} bytes, the same as uploaded; the CDN never saw the token")

            tour.heading("Errors are exceptions with SoundCloud's own message")
            tour.code(
                "try:\n    client.get('/tracks/999999999')\n"
                "except soundcloud.NotFoundError as error:\n    print(error.status_code, error)"
            )
            try:
                client.get("/tracks/999999999")
            except soundcloud.NotFoundError as error:
                tour.said(f"{error.status_code} {error}")
            else:
                raise CLIError("the demo expected a 404")

            tour.heading("Sign out (revokes the tokens and clears the token store)")
            tour.code("client.sign_out()")
            client.sign_out()
            tour.said(f"token file {'still there' if os.path.exists(token_path) else 'removed'}")

        requests = len(sc.requests)
    out.write(
        f"\nDone in {time.monotonic() - started:.1f} s: {requests} HTTP requests, all to 127.0.0.1.\n"
        "The same from a shell, against SoundCloud: soundcloud login, soundcloud me,"
        " soundcloud search QUERY,\nsoundcloud upload FILE --title T, soundcloud resolve URL,"
        " soundcloud download URL -o DIR (soundcloud --help).\n"
    )
    out.flush()
    return EXIT_OK
