"""Client.download of progressive media: a downloadable track's original (the fake's
``/tracks/{id}/download`` redirect to its CDN, which takes ranges), plain media URLs, and a
raw socket media server for what the fake does not do (no range support, bodies cut short,
HTML). What a source may be, and the refusals before anything is sent. A track that is not
downloadable is its AAC stream, remuxed to an M4A: test_track_downloads.py."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from support.request_server import FaultContext, RequestServer
from soundcloud import NotFoundError, ProtocolError
from soundcloud.errors import DownloadError
from soundcloud.media.download import PART_SUFFIX, parse_content_range, part_path, source_url
from soundcloud.media.track import fetch_track

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

TIMEOUT = 10.0
TRACK = 293  # Flickermood, always in the fake; not downloadable: its audio is the AAC stream


@pytest.fixture
def original(fake: "FakeSoundCloud") -> Dict[str, Any]:
    """A downloadable track: ``/tracks/{id}/download`` redirects to its original on the CDN
    (``fake.media_bytes(id)``, served with ranges and validators)."""
    return fake.add_track(title="Flickermood original", downloadable=True)


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


def cdn_requests(fake: "FakeSoundCloud") -> List[object]:
    return [r for r in fake.requests if r.server == "cdn"]


def leftovers(directory: Path) -> List[str]:
    return sorted(os.listdir(directory))


# -- a raw media server ---------------------------------------------------------------------

Reply = Tuple[int, List[Tuple[str, str]], bytes]


class MediaServer(RequestServer):
    """One request per connection on 127.0.0.1. ``handler(target, headers)`` makes the reply;
    ``cuts[i]`` (when set) sends only that many body bytes of the i-th reply, then closes;
    ``close_delimited`` leaves out Content-Length (the body ends when the connection does).
    ``requests`` are the base server's ``WireRequest`` records, in arrival order."""

    kind = "media"

    def __init__(
        self,
        handler: Callable[[str, Dict[str, str]], Reply],
        *,
        cuts: Optional[Dict[int, int]] = None,
        close_delimited: bool = False,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.cuts = dict(cuts or {})
        self.close_delimited = close_delimited

    def answer(self, ctx: FaultContext) -> bool:
        status, reply_headers, body = self.handler(ctx.request.target, ctx.request.headers)
        lines = ["HTTP/1.1 %d X" % status] + ["%s: %s" % pair for pair in reply_headers]
        if not self.close_delimited:
            lines.append("Content-Length: %d" % len(body))
        lines.append("Connection: close")
        cut = self.cuts.get(ctx.hit - 1)
        # A client that gives up on this answer (a download that starts over does) resets
        # the connection: the base server takes that as the end of it.
        ctx.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if cut is None else body[:cut]))
        return False


def media_handler(
    data: bytes, *, ranges: bool = True, content_type: str = "audio/mpeg", etag: str = '"v1"'
) -> Callable[[str, Dict[str, str]], Reply]:
    """Serve ``data`` at every path with ``etag`` (a resume needs a validator); with
    ``ranges``, ``Range: bytes=N-`` gives 206/416 (whatever If-Range says)."""

    def handle(path: str, headers: Dict[str, str]) -> Reply:
        reply = [("Content-Type", content_type), ("ETag", etag)]
        if not ranges:
            return 200, reply, data
        reply.append(("Accept-Ranges", "bytes"))
        wanted = headers.get("range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes=") : -1])
            if start >= len(data):
                return 416, reply + [("Content-Range", "bytes */%d" % len(data))], b""
            return 206, reply + [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))], data[start:]
        return 200, reply, data

    return handle


DATA = os.urandom(700_000) + bytes(range(256))


@pytest.fixture
def media_client() -> Iterator[Callable[[MediaServer], soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(server: MediaServer) -> soundcloud.Client:
        made.append(soundcloud.Client(client_id="cid", api_url=server.url, timeout=TIMEOUT))
        return made[-1]

    yield make
    for item in made:
        item.close()


# -- full downloads from the fake ---------------------------------------------------------------


def test_download_follows_the_download_redirect_without_the_token(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path
) -> None:
    tid = original["id"]
    target = tmp_path / "flickermood.mp3"
    calls: List[Tuple[int, Optional[int]]] = []
    size = client.download(tid, target, progress=lambda done, total: calls.append((done, total)))
    media = fake.media_bytes(tid)
    assert size == len(media)
    assert target.read_bytes() == media
    assert leftovers(tmp_path) == ["flickermood.mp3"]
    track, api, cdn = fake.requests
    assert (track.server, track.path) == ("api", "/tracks/soundcloud:tracks:%d" % tid)
    assert (api.server, api.path) == ("api", "/tracks/%d/download" % tid)  # the track's download_url
    assert track.header("authorization") is not None and api.header("authorization") is not None
    assert (cdn.server, cdn.path) == ("cdn", "/media/%d.mp3" % tid)
    assert cdn.header("authorization") is None
    assert cdn.header("range") is None
    assert not fake.cdn_authorization_seen
    assert calls[-1] == (len(media), len(media))
    assert all(total == len(media) for _, total in calls)
    assert [done for done, _ in calls] == sorted(set(done for done, _ in calls))


@pytest.mark.parametrize(
    "make_source",
    [
        lambda c, f, t: t["id"],
        lambda c, f, t: str(t["id"]),
        lambda c, f, t: t["urn"],
        lambda c, f, t: c.get("/tracks/%d" % t["id"]),
        lambda c, f, t: soundcloud.Resource(t),
        lambda c, f, t: t["permalink_url"],
        lambda c, f, t: "/tracks/%s/download" % t["urn"],
        lambda c, f, t: t["download_url"],
        lambda c, f, t: f.media_url(t["id"]),
    ],
    ids=["int", "numeric-str", "urn", "track", "resource", "permalink", "download-path", "download-url", "cdn-url"],
)
def test_every_kind_of_source(
    fake: "FakeSoundCloud",
    client: soundcloud.Client,
    original: Dict[str, Any],
    tmp_path: Path,
    make_source: Callable[..., object],
) -> None:
    # A /streams answer (path or Resource) is the HLS stream it lists, remuxed to an M4A:
    # test_track_downloads.py. A track's /stream path is a preview, refused below.
    source = make_source(client, fake, original)
    fake.clear_requests()
    target = tmp_path / "out.mp3"
    media = fake.media_bytes(original["id"])
    assert client.download(source, str(target)) == len(media)
    assert target.read_bytes() == media
    assert not fake.cdn_authorization_seen
    assert [r.server for r in fake.requests][-1] == "cdn"
    assert not any(r.path.endswith(("/stream", "/streams")) for r in fake.requests)


def test_downloads_an_uploaded_track(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    audio = bytes(range(256)) * 1000
    track = client.post("/tracks", track={"title": "mine", "asset_data": ("a.mp3", audio), "downloadable": True})
    assert client.download(track, tmp_path / "mine.mp3") == len(audio)
    assert (tmp_path / "mine.mp3").read_bytes() == audio


def test_file_object_targets(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path
) -> None:
    tid = original["id"]
    buffer = io.BytesIO(b"prefix:")
    buffer.seek(0, io.SEEK_END)
    assert client.download(tid, buffer) == len(fake.media_bytes(tid))
    assert buffer.getvalue() == b"prefix:" + fake.media_bytes(tid)
    with open(tmp_path / "raw.mp3", "wb", buffering=0) as raw:
        client.download(tid, raw)
    assert (tmp_path / "raw.mp3").read_bytes() == fake.media_bytes(tid)
    assert not (tmp_path / ("raw.mp3" + PART_SUFFIX)).exists()
    # A stream is an M4A, whose chunk offsets count from the file's first byte: appending
    # it after other bytes is refused, and the file object is left as it was.
    with pytest.raises(ValueError, match="must start at the beginning of its file"):
        client.download(TRACK, buffer)
    assert buffer.getvalue() == b"prefix:" + fake.media_bytes(tid)


def test_bad_targets_are_refused_before_sending(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path
) -> None:
    track = soundcloud.Resource(original)  # nothing to fetch before the target is checked
    with open(tmp_path / "t.txt", "w") as text:
        with pytest.raises(TypeError, match="text-mode"):
            client.download(track, text)
    with pytest.raises(TypeError, match="binary file object"):
        client.download(track, 42)
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        client.download(track, closed)
    with pytest.raises(FileNotFoundError, match="directory does not exist"):
        client.download(track, tmp_path / "missing" / "x.mp3")
    # A directory is no longer refused: the file is named after the title in it
    # (test_track_downloads.py).
    assert fake.requests == []


@pytest.mark.parametrize(
    "source, error, message",
    [
        ("soundcloud:users:1", ValueError, "URN for users"),
        ("ftp://example.com/x.mp3", ValueError, "only http and https"),
        ("/", ValueError, "not a download source"),
        (1.5, TypeError, "not float"),
        (True, TypeError, "not a bool"),
        (soundcloud.Resource({"kind": "user", "id": 1}), ValueError, "only tracks"),
        (soundcloud.Resource({"title": "no id"}), ValueError, "no 'urn' or 'id'"),
        # /streams answers as SoundCloud gave them before November 2025: the retired
        # progressive URL is not followed, and a preview needs allow_preview.
        (
            soundcloud.Resource({"hls_mp3_128_url": "https://x/p.m3u8", "preview_mp3_128_url": "https://x/p.mp3"}),
            DownloadError,
            r"offers only a 30-second preview \(offered: preview_mp3_128_url, hls_mp3_128_url\).*allow_preview=True",
        ),
        (
            soundcloud.Resource({"http_mp3_128_url": "https://x/a.mp3"}),
            DownloadError,
            r"offers no AAC stream to download \(offered: http_mp3_128_url\)",
        ),
        # The legacy stream endpoint is a 30-second preview now.
        ("/tracks/soundcloud:tracks:293/stream", DownloadError, r"30-second preview.*allow_preview=True"),
        ("http://127.0.0.1:9/tracks/293/stream", DownloadError, r"30-second preview.*allow_preview=True"),
    ],
)
def test_bad_sources_are_refused_before_sending(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path, source: object, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        client.download(source, tmp_path / "x.mp3")  # type: ignore[arg-type]
    assert fake.requests == []
    assert leftovers(tmp_path) == []


def test_source_url() -> None:
    # Plain media only: tracks, ids and URNs are fetch_track's (below).
    assert source_url("tracks/1/download") == "tracks/1/download"
    assert source_url("https://cdn/x.mp3?a=1") == "https://cdn/x.mp3?a=1"
    tracks = (5, soundcloud.Resource({"kind": "track", "id": 7}), soundcloud.Resource({"http_mp3_128_url": "https://cdn/x"}))
    for source in tracks:
        with pytest.raises(TypeError, match="str URL or API path"):
            source_url(source)
    with pytest.raises(ValueError, match="only http and https"):
        source_url("file:///etc/passwd")
    with pytest.raises(ValueError, match="not a download source"):
        source_url("//")
    assert part_path("/a/b.mp3") == "/a/b.mp3.part"


def test_fetch_track(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = soundcloud.Resource({"kind": "track", "id": 7})
    assert fetch_track(client, track) is track  # a Resource is taken as it is
    assert fake.requests == []
    for source in (TRACK, str(TRACK), "soundcloud:tracks:293"):
        found = fetch_track(client, source)
        assert isinstance(found, soundcloud.Resource) and found.id == TRACK
    assert [r.path for r in fake.requests] == ["/tracks/soundcloud:tracks:293"] * 3
    fake.clear_requests()
    assert fetch_track(client, fake.media_url(TRACK)) == fake.media_url(TRACK)
    assert fetch_track(client, "/tracks/1/download") == "/tracks/1/download"
    # The legacy /stream path is a preview: only with allow_preview (the default here).
    assert fetch_track(client, "/tracks/soundcloud:tracks:1/stream") == "/tracks/soundcloud:tracks:1/stream"
    with pytest.raises(DownloadError, match="allow_preview"):
        fetch_track(client, "/tracks/soundcloud:tracks:1/stream", allow_preview=False)
    assert fake.requests == []


def test_parse_content_range() -> None:
    assert parse_content_range("bytes 10-99/100") == (10, 99, 100)
    assert parse_content_range("bytes 0-9/*") == (0, 9, None)
    assert parse_content_range("bytes */100") == (None, None, 100)
    assert parse_content_range("items 0-1/2") is None
    assert parse_content_range(None) is None


# -- errors ---------------------------------------------------------------------------------------


def test_not_found_leaves_an_existing_target_alone(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    target = tmp_path / "keep.mp3"
    target.write_bytes(b"the previous version")
    with pytest.raises(NotFoundError):
        client.download(99999999, target)
    assert target.read_bytes() == b"the previous version"
    assert leftovers(tmp_path) == ["keep.mp3"]


def test_json_where_audio_was_expected(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="answered with a track's JSON, not media; pass the track itself"):
        client.download("/tracks/293", tmp_path / "x.mp3")
    with pytest.raises(DownloadError, match=r"answered with JSON \(fields: .*\), not media"):
        client.download("/me", tmp_path / "x.mp3")
    with pytest.raises(DownloadError, match="JSON array"):
        client.download("/tracks?linked_partitioning=false&limit=1", tmp_path / "x.mp3")
    assert leftovers(tmp_path) == []


def test_html_page_is_not_saved_as_audio(media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path) -> None:
    with MediaServer(media_handler(b"<html>sign in</html>", content_type="text/html; charset=utf-8")) as server:
        with pytest.raises(DownloadError, match="HTML page"):
            media_client(server).download(server.url + "/x.mp3", tmp_path / "x.mp3")
    assert leftovers(tmp_path) == []


def test_a_streams_listing_with_only_a_preview_never_falls_back_to_stream(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    # A /streams answer without an AAC stream (an old shape, or a preview-only track): the
    # legacy /stream is a preview too, so nothing is saved unless a preview is what is wanted.
    origin: List[str] = []

    def handle(path: str, headers: Dict[str, str]) -> Reply:
        if path.startswith("/tracks/soundcloud:tracks:5/streams"):
            body = '{"hls_mp3_128_url": "%s/p.m3u8", "preview_mp3_128_url": "%s/p.mp3"}' % (origin[0], origin[0])
            return 200, [("Content-Type", "application/json")], body.encode("ascii")
        if path.startswith("/p.mp3"):
            return 200, [("Content-Type", "audio/mpeg")], DATA
        return 404, [("Content-Type", "application/json")], b"{}"

    with MediaServer(handle) as server:
        origin.append(server.url)
        client = media_client(server)
        with pytest.raises(DownloadError, match=r"offers only a 30-second preview.*allow_preview=True"):
            client.download("/tracks/soundcloud:tracks:5/streams", tmp_path / "a.mp3")
        assert leftovers(tmp_path) == []
        assert [r.path for r in server.requests] == ["/tracks/soundcloud:tracks:5/streams"]
        assert client.download("/tracks/soundcloud:tracks:5/streams", tmp_path / "a.mp3", allow_preview=True) == len(DATA)
        assert (tmp_path / "a.mp3").read_bytes() == DATA
    assert [r.path for r in server.requests] == [
        "/tracks/soundcloud:tracks:5/streams",
        "/tracks/soundcloud:tracks:5/streams",
        "/p.mp3",
    ]


def test_empty_media_gives_an_empty_file(media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path) -> None:
    with MediaServer(media_handler(b"")) as server:
        assert media_client(server).download(server.url + "/empty.mp3", tmp_path / "e.mp3") == 0
    assert (tmp_path / "e.mp3").read_bytes() == b""
    assert leftovers(tmp_path) == ["e.mp3"]


# -- resume ---------------------------------------------------------------------------------------


# Resuming the fake's CDN (If-Range, the record, 416): test_download_resume_records.py.


def test_resume_false_ignores_the_part_file(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "n.mp3"
    Path(part_path(target)).write_bytes(b"not the right bytes")
    client.download(original["id"], target, resume=False)
    assert target.read_bytes() == fake.media_bytes(original["id"])
    assert all(r.header("range") is None for r in fake.requests)
    assert leftovers(tmp_path) == ["n.mp3"]


def test_server_that_stops_taking_ranges_starts_over(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    target = tmp_path / "s.mp3"
    ranged, plain = media_handler(DATA), media_handler(DATA, ranges=False)
    with MediaServer(lambda path, headers: (ranged if path.startswith("/s.mp3?1") else plain)(path, headers), cuts={0: 500}) as server:
        client = media_client(server)
        with pytest.raises(ProtocolError, match="kept in"):
            client.download(server.url + "/s.mp3?1", target)
        assert client.download(server.url + "/s.mp3?2", target) == len(DATA)  # the same source: no query
    assert target.read_bytes() == DATA
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=500-"]
    assert leftovers(tmp_path) == ["s.mp3"]


def test_range_answer_that_starts_elsewhere_starts_over(media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path) -> None:
    def handle(path: str, headers: Dict[str, str]) -> Reply:
        if "range" in headers:  # a broken server: always the range from byte 10
            return 206, [("Content-Type", "audio/mpeg"), ("Content-Range", "bytes 10-%d/%d" % (len(DATA) - 1, len(DATA)))], DATA[10:]
        return 200, [("Content-Type", "audio/mpeg"), ("Accept-Ranges", "bytes"), ("ETag", '"v1"')], DATA

    target = tmp_path / "w.mp3"
    with MediaServer(handle, cuts={0: 500}) as server:
        client = media_client(server)
        with pytest.raises(ProtocolError, match="kept in"):
            client.download(server.url + "/w.mp3", target)
        assert client.download(server.url + "/w.mp3", target) == len(DATA)
    assert target.read_bytes() == DATA
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=500-", None]


# -- interrupted downloads ------------------------------------------------------------------------


def test_interrupted_download_keeps_the_part_file_and_resumes(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    target = tmp_path / "i.mp3"
    with MediaServer(media_handler(DATA), cuts={0: 300_000}) as server:
        client = media_client(server)
        with pytest.raises(ProtocolError):
            client.download(server.url + "/i.mp3", target)
        assert not target.exists()
        kept = Path(part_path(target)).read_bytes()
        assert 0 < len(kept) <= 300_000
        assert kept == DATA[: len(kept)]
        assert client.download(server.url + "/i.mp3", target) == len(DATA)
    assert target.read_bytes() == DATA
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=%d-" % len(kept)]
    assert leftovers(tmp_path) == ["i.mp3"]


def test_interrupted_download_without_ranges_leaves_nothing(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    target = tmp_path / "x.mp3"
    with MediaServer(media_handler(DATA, ranges=False), cuts={0: 300_000}) as server:
        with pytest.raises(ProtocolError):
            media_client(server).download(server.url + "/x.mp3", target)
    assert leftovers(tmp_path) == []


def test_close_delimited_body_short_of_content_range_is_an_error(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    # No Content-Length: only the Content-Range total tells that the body came up short.
    target = tmp_path / "d.mp3"

    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    with MediaServer(media_handler(DATA), cuts={1: 5000, 2: 1000}, close_delimited=True) as server:
        client = media_client(server)
        with pytest.raises(KeyboardInterrupt):
            client.download(server.url + "/d.mp3", target, progress=interrupt)
        first = len(Path(part_path(target)).read_bytes())
        assert first > 0
        with pytest.raises(ProtocolError, match=r"ended after %d of %d bytes.*kept in .*resumes" % (first + 5000, len(DATA))):
            client.download(server.url + "/d.mp3", target)
        assert Path(part_path(target)).read_bytes() == DATA[: first + 5000]
        assert not target.exists()
        with pytest.raises(ProtocolError, match="ended after %d of" % (first + 6000)):
            client.download(server.url + "/d.mp3", target)
        assert client.download(server.url + "/d.mp3", target) == len(DATA)
    assert target.read_bytes() == DATA
    assert [r.headers.get("range") for r in server.requests] == [
        None,
        "bytes=%d-" % first,
        "bytes=%d-" % (first + 5000),
        "bytes=%d-" % (first + 6000),
    ]


def test_file_object_target_checks_the_size_too(media_client: Callable[[MediaServer], soundcloud.Client]) -> None:
    with MediaServer(media_handler(DATA), cuts={0: 1000}) as server:
        with pytest.raises(ProtocolError):
            media_client(server).download(server.url + "/f.mp3", io.BytesIO())


def test_keyboard_interrupt_leaves_no_file_at_the_target(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "k.mp3"
    media = fake.media_bytes(original["id"])

    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.download(original["id"], target, progress=interrupt)
    assert not target.exists()
    # The CDN takes ranges, so what arrived is kept for the next call.
    kept = Path(part_path(target)).read_bytes()
    assert 0 < len(kept) < len(media)
    assert kept == media[: len(kept)]
    assert client.download(original["id"], target) == len(media)
    assert target.read_bytes() == media
    assert leftovers(tmp_path) == ["k.mp3"]


@pytest.mark.parametrize("kind", ["original", "stream"])
def test_interrupt_with_resume_false_removes_the_part_file(
    fake: "FakeSoundCloud", client: soundcloud.Client, original: Dict[str, Any], tmp_path: Path, kind: str
) -> None:
    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    source = original["id"] if kind == "original" else TRACK
    with pytest.raises(KeyboardInterrupt):
        client.download(source, tmp_path / "k.mp3", progress=interrupt, resume=False)
    assert leftovers(tmp_path) == []
