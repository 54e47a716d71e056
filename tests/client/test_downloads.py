"""Client.download: the fake SoundCloud (stream redirect, CDN ranges), and a raw socket
media server for what the fake does not do (no range support, bodies cut short, HTML)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from support.request_server import FaultContext, RequestServer
from soundcloud import NotFoundError, ProtocolError
from soundcloud.errors import DownloadError
from soundcloud.media.download import PART_SUFFIX, parse_content_range, part_path, source_url

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

TIMEOUT = 10.0
TRACK = 293  # Flickermood, always in the fake


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


def test_download_follows_the_stream_redirect_without_the_token(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    target = tmp_path / "flickermood.mp3"
    calls: List[Tuple[int, Optional[int]]] = []
    size = client.download(TRACK, target, progress=lambda done, total: calls.append((done, total)))
    media = fake.media_bytes(TRACK)
    assert size == len(media)
    assert target.read_bytes() == media
    assert leftovers(tmp_path) == ["flickermood.mp3"]
    api, cdn = fake.requests
    assert (api.server, api.path) == ("api", "/tracks/soundcloud:tracks:293/stream")
    assert api.header("authorization") is not None
    assert (cdn.server, cdn.path) == ("cdn", "/media/293.mp3")
    assert cdn.header("authorization") is None
    assert cdn.header("range") is None
    assert not fake.cdn_authorization_seen
    assert calls[-1] == (len(media), len(media))
    assert all(total == len(media) for _, total in calls)
    assert [done for done, _ in calls] == sorted(set(done for done, _ in calls))


@pytest.mark.parametrize(
    "make_source",
    [
        lambda c, f: TRACK,
        lambda c, f: str(TRACK),
        lambda c, f: "soundcloud:tracks:293",
        lambda c, f: c.get("/tracks/293"),
        lambda c, f: "/tracks/soundcloud:tracks:293/stream",
        lambda c, f: f.api_url + "/tracks/293/stream",
        lambda c, f: f.media_url(TRACK),
        lambda c, f: "/tracks/soundcloud:tracks:293/streams",
        lambda c, f: c.get("/tracks/soundcloud:tracks:293/streams"),
    ],
    ids=["int", "numeric-str", "urn", "track", "path", "api-url", "cdn-url", "streams-path", "streams-json"],
)
def test_every_kind_of_source(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path, make_source: Callable[..., object]
) -> None:
    source = make_source(client, fake)
    fake.clear_requests()
    target = tmp_path / "out.mp3"
    assert client.download(source, str(target)) == len(fake.media_bytes(TRACK))
    assert target.read_bytes() == fake.media_bytes(TRACK)
    assert not fake.cdn_authorization_seen
    assert [r.server for r in fake.requests][-1] == "cdn"


def test_downloads_an_uploaded_track(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    audio = bytes(range(256)) * 1000
    track = client.post("/tracks", track={"title": "mine", "asset_data": ("a.mp3", audio)})
    assert client.download(track, tmp_path / "mine.mp3") == len(audio)
    assert (tmp_path / "mine.mp3").read_bytes() == audio


def test_file_object_targets(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    buffer = io.BytesIO(b"prefix:")
    buffer.seek(0, io.SEEK_END)
    assert client.download(TRACK, buffer) == len(fake.media_bytes(TRACK))
    assert buffer.getvalue() == b"prefix:" + fake.media_bytes(TRACK)
    with open(tmp_path / "raw.mp3", "wb", buffering=0) as raw:
        client.download(TRACK, raw)
    assert (tmp_path / "raw.mp3").read_bytes() == fake.media_bytes(TRACK)
    assert not (tmp_path / ("raw.mp3" + PART_SUFFIX)).exists()


def test_bad_targets_are_refused_before_sending(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    with open(tmp_path / "t.txt", "w") as text:
        with pytest.raises(TypeError, match="text-mode"):
            client.download(TRACK, text)
    with pytest.raises(TypeError, match="binary file object"):
        client.download(TRACK, 42)
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        client.download(TRACK, closed)
    with pytest.raises(IsADirectoryError):
        client.download(TRACK, tmp_path)
    with pytest.raises(FileNotFoundError, match="directory does not exist"):
        client.download(TRACK, tmp_path / "missing" / "x.mp3")
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
        (
            soundcloud.Resource({"hls_mp3_128_url": "https://x/p.m3u8", "preview_mp3_128_url": "https://x/p.mp3"}),
            DownloadError,
            r"no progressive stream URL.*hls_mp3_128_url, preview_mp3_128_url",
        ),
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
    assert source_url(5) == "/tracks/soundcloud:tracks:5/stream"
    assert source_url(soundcloud.Resource({"kind": "track", "id": 7})) == "/tracks/soundcloud:tracks:7/stream"
    assert source_url(soundcloud.Resource({"urn": "soundcloud:tracks:8", "id": 7})) == "/tracks/soundcloud:tracks:8/stream"
    assert source_url(soundcloud.Resource({"http_mp3_128_url": "https://cdn/x.mp3"})) == "https://cdn/x.mp3"
    assert source_url("tracks/1/download") == "tracks/1/download"
    assert part_path("/a/b.mp3") == "/a/b.mp3.part"


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


def test_streams_listing_without_progressive_url_falls_back_to_stream(
    media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path
) -> None:
    def handle(path: str, headers: Dict[str, str]) -> Reply:
        if path.startswith("/tracks/soundcloud:tracks:5/streams"):
            body = b'{"hls_mp3_128_url": "https://cdn.invalid/p.m3u8", "preview_mp3_128_url": "https://cdn.invalid/p.mp3"}'
            return 200, [("Content-Type", "application/json")], body
        if path.startswith("/tracks/soundcloud:tracks:5/stream?"):
            return 200, [("Content-Type", "audio/mpeg")], DATA
        return 404, [("Content-Type", "application/json")], b"{}"

    with MediaServer(handle) as server:
        client = media_client(server)
        assert client.download("/tracks/soundcloud:tracks:5/streams", tmp_path / "a.mp3") == len(DATA)
        assert (tmp_path / "a.mp3").read_bytes() == DATA
        with pytest.raises(DownloadError, match="no progressive stream URL"):
            client.download(soundcloud.Resource({"hls_aac_160_url": "https://cdn.invalid/a.m3u8"}), tmp_path / "b.mp3")
    assert [r.path for r in server.requests] == [
        "/tracks/soundcloud:tracks:5/streams",
        "/tracks/soundcloud:tracks:5/stream",
    ]


def test_empty_media_gives_an_empty_file(media_client: Callable[[MediaServer], soundcloud.Client], tmp_path: Path) -> None:
    with MediaServer(media_handler(b"")) as server:
        assert media_client(server).download(server.url + "/empty.mp3", tmp_path / "e.mp3") == 0
    assert (tmp_path / "e.mp3").read_bytes() == b""
    assert leftovers(tmp_path) == ["e.mp3"]


# -- resume ---------------------------------------------------------------------------------------


# Resuming the fake's CDN (If-Range, the record, 416): test_download_resume_records.py.


def test_resume_false_ignores_the_part_file(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    target = tmp_path / "n.mp3"
    Path(part_path(target)).write_bytes(b"not the right bytes")
    client.download(TRACK, target, resume=False)
    assert target.read_bytes() == fake.media_bytes(TRACK)
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
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    target = tmp_path / "k.mp3"

    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.download(TRACK, target, progress=interrupt)
    assert not target.exists()
    # The CDN takes ranges, so what arrived is kept for the next call.
    kept = Path(part_path(target)).read_bytes()
    assert 0 < len(kept) < len(fake.media_bytes(TRACK))
    assert kept == fake.media_bytes(TRACK)[: len(kept)]
    assert client.download(TRACK, target) == len(fake.media_bytes(TRACK))
    assert target.read_bytes() == fake.media_bytes(TRACK)
    assert leftovers(tmp_path) == ["k.mp3"]


def test_interrupt_with_resume_false_removes_the_part_file(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.download(TRACK, tmp_path / "k.mp3", progress=interrupt, resume=False)
    assert leftovers(tmp_path) == []
