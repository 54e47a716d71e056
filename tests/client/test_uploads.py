"""Multipart uploads end to end: the fake SoundCloud, and a raw socket that resets mid-body.

What the server received is compared byte for byte with bodies written out by hand.
"""

from __future__ import annotations

import io
import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, NamedTuple, Optional, Tuple

import pytest

import soundcloud
from support.base import SocketServer
from support.wire import wait_until
from soundcloud import UploadInterruptedError

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud, RecordedRequest

TIMEOUT = 10.0
DATA = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n\r\n" + bytes(range(255, -1, -1))


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    """A client with a user token on the fake; its connections closed after the test."""
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


def writes(fake: "FakeSoundCloud") -> List["RecordedRequest"]:
    return [r for r in fake.requests if r.server == "api" and r.method in ("POST", "PUT", "PATCH")]


def boundary_of(request: "RecordedRequest") -> bytes:
    content_type = request.header("content-type") or ""
    match = re.fullmatch(r"multipart/form-data; boundary=([0-9a-f]{32})", content_type)
    assert match, content_type
    return match.group(1).encode("ascii")


def text_part(boundary: bytes, name: str, value: str) -> bytes:
    return (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode("utf-8") + b'"\r\n\r\n'
        + value.encode("utf-8") + b"\r\n"
    )


def file_part(boundary: bytes, name: str, filename: str, content_type: str, data: bytes) -> bytes:
    return (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode("utf-8") + b'"; filename="'
        + filename.encode("utf-8") + b'"\r\n'
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + data + b"\r\n"
    )


# -- the README example -----------------------------------------------------------------------


def test_readme_upload_example(fake: "FakeSoundCloud", tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mytrack.mp4").write_bytes(DATA)
    monkeypatch.chdir(tmp_path)  # the example opens a relative path
    client = soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT)
    with client, open("mytrack.mp4", "rb") as asset:
        track = client.post(
            "/tracks",
            track={"title": "This is a sample track", "sharing": "private", "asset_data": asset},
        )
    assert track.title == "This is a sample track"
    assert track.sharing == "private"
    assert track.status_code == 201

    (request,) = writes(fake)
    boundary = boundary_of(request)
    expected = (
        text_part(boundary, "track[title]", "This is a sample track")
        + text_part(boundary, "track[sharing]", "private")
        + file_part(boundary, "track[asset_data]", "mytrack.mp4", "video/mp4", DATA)
        + b"--" + boundary + b"--\r\n"
    )
    assert request.body == expected
    assert request.header("content-length") == str(len(expected))
    assert request.header("transfer-encoding") is None
    (upload,) = fake.uploads
    assert upload.files["track[asset_data]"].filename == "mytrack.mp4"
    assert upload.files["track[asset_data]"].data == DATA
    assert upload.fields == {"track[title]": "This is a sample track", "track[sharing]": "private"}
    assert fake.media_bytes(upload.track_id) == DATA


def test_upload_with_artwork_paths_bytes_and_progress(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    audio = tmp_path / "\u00e9t\u00e9 \"live\".mp3"
    audio.write_bytes(os.urandom(300 * 1024) + DATA)
    artwork = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    calls: List[Tuple[int, int]] = []
    track = client.post(
        "/tracks",
        track={
            "title": "Caf\u00e9 \u266b",
            "description": "line one\r\nline two \"quoted\"",
            "downloadable": True,
            "asset_data": audio,
            "artwork_data": ("cover.png", artwork),
        },
        progress=lambda sent, total: calls.append((sent, total)),
    )
    assert track.title == "Caf\u00e9 \u266b"
    assert track.downloadable is True
    assert track.artwork_url

    (request,) = writes(fake)
    boundary = boundary_of(request)
    expected = (
        text_part(boundary, "track[title]", "Caf\u00e9 \u266b")
        + text_part(boundary, "track[description]", "line one\r\nline two \"quoted\"")
        + text_part(boundary, "track[downloadable]", "true")
        + file_part(boundary, "track[asset_data]", "\u00e9t\u00e9 %22live%22.mp3", "audio/mpeg", audio.read_bytes())
        + file_part(boundary, "track[artwork_data]", "cover.png", "image/png", artwork)
        + b"--" + boundary + b"--\r\n"
    )
    assert request.body == expected
    (upload,) = fake.uploads
    assert upload.files["track[asset_data]"].data == audio.read_bytes()
    assert upload.files["track[artwork_data]"].data == artwork

    total = len(expected)
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    sent = [s for s, _ in calls]
    assert sent == sorted(set(sent)) and len(sent) >= 3  # strictly increasing, chunk by chunk


def test_multipart_put_updates_a_track(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    created = client.post("/tracks", track={"title": "first", "asset_data": b"\x00audio"})
    assert fake.uploads[0].files["track[asset_data]"].filename == "asset_data"
    updated = client.put(
        f"/tracks/{created.urn}",
        track={"title": "second", "artwork_data": ("a.jpg", io.BytesIO(b"\xff\xd8jpeg"))},
    )
    assert updated.title == "second"
    put = writes(fake)[-1]
    assert put.method == "PUT"
    assert (put.header("content-type") or "").startswith("multipart/form-data; boundary=")
    assert b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8jpeg\r\n' in put.body


# -- refused before anything is sent ------------------------------------------------------------


def test_text_mode_file_is_refused_before_sending(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    path = tmp_path / "t.mp3"
    path.write_bytes(b"abc")
    with open(path, "r") as handle:
        with pytest.raises(TypeError, match=r"'track\[asset_data\]'.*text mode.*'rb'"):
            client.post("/tracks", track={"title": "t", "asset_data": handle})
    assert fake.requests == []


def test_closed_file_is_refused_before_sending(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    path = tmp_path / "c.mp3"
    path.write_bytes(b"abc")
    handle = open(path, "rb")
    handle.close()
    with pytest.raises(ValueError, match=r"'track\[asset_data\]'.*closed"):
        client.post("/tracks", track={"title": "t", "asset_data": handle})
    assert fake.requests == []


def test_missing_path_is_refused_before_sending(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"'track\[artwork_data\]'.*no such file"):
        client.post(
            "/tracks",
            track={"title": "t", "asset_data": b"x", "artwork_data": tmp_path / "missing.png"},
        )
    assert fake.requests == []


def test_unseekable_stream_is_refused_before_sending(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    read_fd, write_fd = os.pipe()
    with open(read_fd, "rb") as reader, open(write_fd, "wb") as writer:
        writer.write(b"abc")
        writer.flush()
        with pytest.raises(ValueError, match="cannot tell the size"):
            client.post("/tracks", track={"title": "t", "asset_data": reader})
    assert fake.requests == []


# -- a file that changes while it is sent ---------------------------------------------------------


# -- a connection reset in the middle of the body --------------------------------------------------


class UploadSeen(NamedTuple):
    """What an :class:`UploadServer` saw of one request."""

    head: bytes
    declared: int  # its Content-Length
    received: int  # body bytes that arrived


class UploadServer(SocketServer):
    """A raw-socket server on 127.0.0.1 that records each request's head and how many body
    bytes arrived. With ``reset_after`` it resets the connection (SO_LINGER 0: a TCP RST, no
    response) once that many body bytes arrived; otherwise it reads the whole declared body
    (or until the client hangs up) and answers 201 ``{}`` when it got all of it (and resets
    when it did not)."""

    kind = "upload"

    def __init__(self, reset_after: Optional[int] = None) -> None:
        super().__init__()
        self.reset_after = reset_after

    @property
    def heads(self) -> List[bytes]:
        return [seen.head for seen in self.requests]

    @property
    def received(self) -> List[int]:
        return [seen.received for seen in self.requests]

    @property
    def declared(self) -> List[int]:
        return [seen.declared for seen in self.requests]

    def handle(self, conn: socket.socket, number: int) -> None:
        try:
            if self._answered(conn):
                return  # the base server closes the connection with a FIN
        except OSError:
            pass
        self._abort(number)

    def _answered(self, conn: socket.socket) -> bool:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return False
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        declared = int(match.group(1)) if match else 0
        limit = declared if self.reset_after is None else min(declared, self.reset_after)
        got = len(rest)
        while got < limit:
            data = conn.recv(65536)
            if not data:
                break
            got += len(data)
        self._record(UploadSeen(head, declared, got))
        if self.reset_after is not None or got != declared:
            return False
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        return True


def wait_finished(server: UploadServer) -> None:
    """Block until the server is done with the (one) upload connection."""
    wait_until(lambda: server.closed_connections >= 1, TIMEOUT, "the upload server finished the connection")


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.wav"
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        for _ in range(32):  # more than loopback socket buffers hold
            out.write(block)
    yield path


@pytest.mark.parametrize("method, retry", [("post", None), ("post", True), ("put", None)])
def test_reset_mid_upload_is_not_retried(big_file: Path, method: str, retry: Optional[bool]) -> None:
    with UploadServer(reset_after=256 * 1024) as server:
        client = soundcloud.Client(access_token="token", api_url=server.url, timeout=TIMEOUT, max_retries=3)
        calls: List[int] = []
        with client, pytest.raises(UploadInterruptedError) as caught:
            getattr(client, method)(
                "/tracks",
                track={"title": "t", "asset_data": big_file},
                retry=retry,
                progress=lambda sent, total: calls.append(sent),
            )
        message = str(caught.value)
        assert "not retried" in message
        assert "body" in message
    # The server saw the request once (never a second attempt), and only part of its body.
    wait_finished(server)
    assert len(server.heads) == 1
    assert server.heads[0].startswith(method.upper().encode() + b" /tracks ")
    assert server.received[0] < big_file.stat().st_size
    assert calls and calls[-1] < big_file.stat().st_size


# -- a file that changes while it is sent ---------------------------------------------------------


def test_file_truncated_during_upload_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "shrinks.mp3"
    path.write_bytes(b"a" * (512 * 1024))

    def shrink(sent: int, total: int) -> None:
        # Called after the first chunk went out: the file loses most of its bytes.
        if path.stat().st_size > 1000:
            with open(path, "r+b") as handle:
                handle.truncate(1000)

    with UploadServer() as server:
        client = soundcloud.Client(access_token="token", api_url=server.url, timeout=TIMEOUT)
        with client, pytest.raises(UploadInterruptedError, match=r"ended after 1000 of the 524288 bytes") as caught:
            client.post("/tracks", track={"title": "t", "asset_data": path}, progress=shrink)
        assert "not retried" in str(caught.value)
        wait_finished(server)
    # The body stopped short of its Content-Length: the server cannot take it as complete.
    assert len(server.heads) == 1
    assert server.received[0] < server.declared[0]


def test_well_behaved_upload_server_gets_all_of_it(tmp_path: Path) -> None:
    # The same server, when nothing goes wrong: the body is exactly as long as announced.
    path = tmp_path / "ok.mp3"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    with UploadServer() as server:
        with soundcloud.Client(access_token="token", api_url=server.url, timeout=TIMEOUT) as client:
            assert client.post("/tracks", track={"title": "t", "asset_data": path}).status_code == 201
        wait_finished(server)
    assert server.received == server.declared
    assert server.declared[0] > path.stat().st_size
