"""Client.download resumes a ``.part`` file only when it is known to hold the same bytes:
a record beside it (``<target>.part.json``) names the source, the validator and the size,
and the request carries ``If-Range`` (RFC 9110 13.1.5). Against the fake SoundCloud (the
originals of downloadable tracks: ``/tracks/{id}/download`` redirects to its CDN, which sends
ETag and Last-Modified and honours If-Range) and a raw media server whose file can change
between two calls. The HLS stream's own record: test_track_downloads.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from support.request_server import FaultContext, RequestServer
from soundcloud import ProtocolError
from soundcloud.media.download import part_path

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

TIMEOUT = 10.0
RECORD_SUFFIX = ".json"  # the record is <target>.part.json

Reply = Tuple[int, List[Tuple[str, str]], bytes]


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as made:
        yield made


@pytest.fixture
def track(fake: "FakeSoundCloud") -> Dict[str, Any]:
    """A downloadable track: its original comes through /tracks/{id}/download, progressive."""
    return fake.add_track(title="Original", downloadable=True)


@pytest.fixture
def other(fake: "FakeSoundCloud") -> Dict[str, Any]:
    """Another downloadable track, whose original has the same size."""
    return fake.add_track(title="Other original", downloadable=True)


def media_path(track: Dict[str, Any]) -> str:
    """Where the CDN serves the track's original."""
    return "/media/%d.mp3" % track["id"]


def record_path(target: Path) -> Path:
    return Path(part_path(target) + RECORD_SUFFIX)


def cdn(fake: "FakeSoundCloud") -> List[Tuple[Optional[str], Optional[str], str]]:
    return [(r.header("range"), r.header("if-range"), r.path) for r in fake.requests if r.server == "cdn"]


def interrupt_after(limit: int) -> Callable[[int, Optional[int]], None]:
    """A progress callback that interrupts once ``limit`` bytes (or everything) are written."""

    def progress(done: int, total: Optional[int]) -> None:
        if done >= limit or done == total:
            raise KeyboardInterrupt

    return progress


def interrupted(client: soundcloud.Client, source: object, target: Path, limit: int) -> int:
    with pytest.raises(KeyboardInterrupt):
        client.download(source, target, progress=interrupt_after(limit))
    kept = Path(part_path(target)).stat().st_size
    assert kept >= min(limit, 1)
    return kept


# -- the fake: a part file of another track, or without a record, is never resumed ----------------


def test_a_part_file_of_another_track_is_not_resumed(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], other: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "t.mp3"
    interrupted(client, other["id"], target, 100_000)
    fake.clear_requests()
    assert client.download(track["id"], target) == len(fake.media_bytes(track["id"]))
    assert target.read_bytes() == fake.media_bytes(track["id"])  # not OTHER[:n] + TRACK[n:]
    assert cdn(fake) == [(None, None, media_path(track))]
    assert sorted(os.listdir(tmp_path)) == ["t.mp3"]


def test_a_complete_part_file_of_another_track_is_not_taken_by_416(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], other: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "t.mp3"
    assert len(fake.media_bytes(other["id"])) == len(fake.media_bytes(track["id"]))
    assert fake.media_bytes(other["id"]) != fake.media_bytes(track["id"])
    assert interrupted(client, other["id"], target, 10**9) == len(fake.media_bytes(other["id"]))
    fake.clear_requests()
    client.download(track["id"], target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(track))]


def test_a_part_file_without_a_record_starts_over(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "t.mp3"
    Path(part_path(target)).write_bytes(b"x" * 100_000)  # left by an older version, or another tool
    client.download(track["id"], target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(track))]
    assert sorted(os.listdir(tmp_path)) == ["t.mp3"]


def test_a_stale_full_size_part_file_is_not_taken_as_complete(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "t.mp3"
    Path(part_path(target)).write_bytes(b"\0" * len(fake.media_bytes(track["id"])))
    client.download(track["id"], target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(track))]


def test_a_record_for_another_source_is_not_trusted(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], other: Dict[str, Any], tmp_path: Path
) -> None:
    # A and B downloaded to targets whose records are then swapped: each names its source.
    a, b = tmp_path / "a.mp3", tmp_path / "b.mp3"
    interrupted(client, other["id"], a, 100_000)
    interrupted(client, track["id"], b, 100_000)
    record_a, record_b = record_path(a).read_bytes(), record_path(b).read_bytes()
    assert record_a != record_b
    record_path(a).write_bytes(record_b)
    record_path(b).write_bytes(record_a)
    fake.clear_requests()
    client.download(other["id"], a)
    client.download(track["id"], b)
    assert a.read_bytes() == fake.media_bytes(other["id"])
    assert b.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(other)), (None, None, media_path(track))]


def test_resume_sends_if_range_with_the_recorded_etag(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "r.mp3"
    kept = interrupted(client, track["id"], target, 100_000)
    assert [(r, i) for r, i, _ in cdn(fake)] == [(None, None)]
    record = json.loads(record_path(target).read_text())
    media = fake.media_bytes(track["id"])
    assert record["source"] == track["download_url"]  # what was asked for, before the redirect
    assert record["size"] == len(media)
    assert record["validator"].startswith('"')
    fake.clear_requests()
    calls: List[Tuple[int, Optional[int]]] = []
    progress = lambda done, total: calls.append((done, total))  # noqa: E731
    assert client.download(track["urn"], target, progress=progress) == len(media)  # as a URN
    assert target.read_bytes() == media
    assert calls[0][0] > kept and calls[-1] == (len(media), len(media))
    assert cdn(fake) == [("bytes=%d-" % kept, record["validator"], media_path(track))]
    assert sorted(os.listdir(tmp_path)) == ["r.mp3"]


def test_a_complete_part_file_with_its_record_is_finished_by_416(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "c.mp3"
    media = fake.media_bytes(track["id"])
    assert interrupted(client, track["id"], target, 10**9) == len(media)
    validator = json.loads(record_path(target).read_text())["validator"]
    fake.clear_requests()
    calls: List[Tuple[int, Optional[int]]] = []
    assert client.download(track["id"], target, progress=lambda d, t: calls.append((d, t))) == len(media)
    assert target.read_bytes() == media
    assert cdn(fake) == [("bytes=%d-" % len(media), validator, media_path(track))]
    assert calls == [(len(media), len(media))]
    assert sorted(os.listdir(tmp_path)) == ["c.mp3"]


def test_a_part_file_longer_than_its_record_says_starts_over(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "l.mp3"
    interrupted(client, track["id"], target, 10**9)
    with open(part_path(target), "ab") as part:
        part.write(b"junk")
    fake.clear_requests()
    client.download(track["id"], target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(track))]


def test_the_record_holds_no_signature_or_token(fake: "FakeSoundCloud", track: Dict[str, Any], tmp_path: Path) -> None:
    token = fake.issue_token()
    signed = fake.media_url(track["id"])
    query = signed.partition("?")[2]
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    assert sorted(params) == ["Key-Pair-Id", "Policy", "Signature"]  # CloudFront-style signing
    target = tmp_path / "s.mp3"
    with soundcloud.Client(client_id="the-client-id", api_url=fake.api_url, timeout=TIMEOUT) as anonymous:
        interrupted(anonymous, signed + "&secret_token=s-Secret", target, 100_000)
    text = record_path(target).read_text()
    record = json.loads(text)
    assert record["source"] == fake.cdn_url + media_path(track)
    secrets = ["Policy", "Signature", "Key-Pair-Id", "s-Secret", "the-client-id", token] + list(params.values())
    for secret in secrets:
        assert secret not in text
    assert oct(record_path(target).stat().st_mode & 0o777) == oct(0o600)
    # A fresh signature for the same object resumes.
    fake.clear_requests()
    fresh = fake.media_url(track["id"])
    with soundcloud.Client(client_id="the-client-id", api_url=fake.api_url, timeout=TIMEOUT) as anonymous:
        anonymous.download(fresh, target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    ((sent_range, if_range, _),) = cdn(fake)
    assert sent_range is not None and if_range == record["validator"]


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"source": 1, "validator": null, "size": "x"}'])
def test_an_unreadable_record_starts_over(
    fake: "FakeSoundCloud", client: soundcloud.Client, track: Dict[str, Any], tmp_path: Path, content: bytes
) -> None:
    target = tmp_path / "u.mp3"
    interrupted(client, track["id"], target, 100_000)
    record_path(target).write_bytes(content)
    fake.clear_requests()
    client.download(track["id"], target)
    assert target.read_bytes() == fake.media_bytes(track["id"])
    assert cdn(fake) == [(None, None, media_path(track))]
    assert sorted(os.listdir(tmp_path)) == ["u.mp3"]


# -- a media server whose file changes ---------------------------------------------------------


class ChangingMediaServer(RequestServer):
    """One request per connection on 127.0.0.1, serving ``self.data`` at every path with the
    validators in ``self.validators`` (header pairs). ``if_range``: honour If-Range (else a
    Range is served whatever the If-Range says, like a broken cache). ``cut``: the next
    reply sends only that many body bytes, then closes."""

    kind = "changing-media"

    def __init__(self, data: bytes, validators: List[Tuple[str, str]], *, if_range: bool = True) -> None:
        super().__init__()
        self.data = data
        self.validators = validators
        self.if_range = if_range
        self.cut: Optional[int] = None

    def reply(self, headers: Dict[str, str]) -> Reply:
        data = self.data
        base = [("Content-Type", "audio/mpeg"), ("Accept-Ranges", "bytes")] + list(self.validators)
        wanted = headers.get("range", "")
        condition = headers.get("if-range")
        current = dict((name.lower(), value) for name, value in self.validators)
        if condition is not None and self.if_range:
            if condition.startswith('"'):
                holds = condition == current.get("etag")
            else:
                holds = condition == current.get("last-modified")
            if not holds:
                wanted = ""
        if wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes=") : -1])
            if start >= len(data):
                return 416, base + [("Content-Range", "bytes */%d" % len(data))], b""
            return 206, base + [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))], data[start:]
        return 200, base, data

    def answer(self, ctx: FaultContext) -> bool:
        status, headers, body = self.reply(ctx.request.headers)
        lines = ["HTTP/1.1 %d X" % status] + ["%s: %s" % pair for pair in headers]
        lines += ["Content-Length: %d" % len(body), "Connection: close"]
        cut, self.cut = self.cut, None
        ctx.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if cut is None else body[:cut]))
        return False


OLD = os.urandom(300_000)
NEW = os.urandom(300_000)
DATE = "Tue, 01 Jul 2025 10:00:00 GMT"
EARLIER = "Mon, 30 Jun 2025 09:00:00 GMT"


@pytest.fixture
def plain_client() -> Iterator[Callable[[RequestServer], soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(server: RequestServer) -> soundcloud.Client:
        made.append(soundcloud.Client(client_id="cid", api_url=server.url, timeout=TIMEOUT))
        return made[-1]

    yield make
    for item in made:
        item.close()


def cut_short(client: soundcloud.Client, server: ChangingMediaServer, target: Path, cut: int) -> None:
    server.cut = cut
    with pytest.raises(ProtocolError, match="kept in"):
        client.download(server.url + "/m.mp3", target)
    assert Path(part_path(target)).read_bytes() == server.data[:cut]


def test_changed_media_answers_200_to_if_range_and_starts_over(
    plain_client: Callable[[RequestServer], soundcloud.Client], tmp_path: Path
) -> None:
    target = tmp_path / "m.mp3"
    with ChangingMediaServer(OLD, [("ETag", '"v1"')]) as server:
        client = plain_client(server)
        cut_short(client, server, target, 100_000)
        server.data, server.validators = NEW, [("ETag", '"v2"')]
        assert client.download(server.url + "/m.mp3", target) == len(NEW)
    assert target.read_bytes() == NEW  # not OLD[:100000] + NEW[100000:]
    assert [(r.headers.get("range"), r.headers.get("if-range")) for r in server.requests] == [
        (None, None),
        ("bytes=100000-", '"v1"'),
    ]
    assert sorted(os.listdir(tmp_path)) == ["m.mp3"]


def test_a_206_with_another_validator_starts_over(
    plain_client: Callable[[RequestServer], soundcloud.Client], tmp_path: Path
) -> None:
    # A server that serves the Range whatever If-Range says; its ETag tells the file changed.
    target = tmp_path / "m.mp3"
    with ChangingMediaServer(OLD, [("ETag", '"v1"')], if_range=False) as server:
        client = plain_client(server)
        cut_short(client, server, target, 100_000)
        server.data, server.validators = NEW, [("ETag", '"v2"')]
        client.download(server.url + "/m.mp3", target)
    assert target.read_bytes() == NEW
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=100000-", None]


def test_a_416_with_another_total_starts_over(
    plain_client: Callable[[RequestServer], soundcloud.Client], tmp_path: Path
) -> None:
    # The recorded file was 300000 bytes; the part holds them all; now the file is shorter.
    target = tmp_path / "m.mp3"
    with ChangingMediaServer(OLD, [("ETag", '"v1"')], if_range=False) as server:
        client = plain_client(server)
        with pytest.raises(KeyboardInterrupt):
            client.download(server.url + "/m.mp3", target, progress=interrupt_after(10**9))
        server.data = NEW[:1000]
        client.download(server.url + "/m.mp3", target)
    assert target.read_bytes() == NEW[:1000]
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=300000-", None]


def test_last_modified_is_the_validator_without_an_etag(
    plain_client: Callable[[RequestServer], soundcloud.Client], tmp_path: Path
) -> None:
    target = tmp_path / "m.mp3"
    with ChangingMediaServer(OLD, [("Last-Modified", EARLIER), ("Date", DATE)]) as server:
        client = plain_client(server)
        cut_short(client, server, target, 100_000)
        assert client.download(server.url + "/m.mp3", target) == len(OLD)
        assert target.read_bytes() == OLD
        cut_short(client, server, target, 50_000)
        server.data, server.validators = NEW, [("Last-Modified", DATE), ("Date", DATE)]
        client.download(server.url + "/m.mp3", target)
    assert target.read_bytes() == NEW
    assert [(r.headers.get("range"), r.headers.get("if-range")) for r in server.requests] == [
        (None, None),
        ("bytes=100000-", EARLIER),
        (None, None),
        ("bytes=50000-", EARLIER),
    ]


@pytest.mark.parametrize(
    "validators",
    [
        [],
        [("ETag", 'W/"weak"')],  # RFC 9110 13.1.5: never in If-Range
        [("ETag", 'W/"weak"'), ("Last-Modified", EARLIER), ("Date", DATE)],  # an entity tag exists: no date
        [("Last-Modified", DATE), ("Date", DATE)],  # not a second older than Date: weak (8.8.2.2)
        [("Last-Modified", EARLIER)],  # no Date to tell it is strong
        [("ETag", "unquoted")],
    ],
    ids=["none", "weak-etag", "weak-etag-and-date", "same-second", "no-date", "malformed-etag"],
)
def test_without_a_strong_validator_nothing_is_kept(
    plain_client: Callable[[RequestServer], soundcloud.Client], tmp_path: Path, validators: List[Tuple[str, str]]
) -> None:
    target = tmp_path / "m.mp3"
    with ChangingMediaServer(OLD, validators) as server:
        client = plain_client(server)
        server.cut = 100_000
        with pytest.raises(ProtocolError) as caught:
            client.download(server.url + "/m.mp3", target)
        assert "kept in" not in str(caught.value)
        assert os.listdir(tmp_path) == []
        assert client.download(server.url + "/m.mp3", target) == len(OLD)
    assert target.read_bytes() == OLD
    assert [r.headers.get("range") for r in server.requests] == [None, None]
