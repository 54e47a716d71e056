"""Compressed answers (issue 14): when the transport asks for ``gzip, deflate`` (requests
without a body or a Range, unless the caller chose an Accept-Encoding; never an upload
or a media download), decoding gzip and deflate whole and streamed, the size limits on
the decoded body, the decompression bomb, bodies whose coding is a lie or unknown, and
which connections survive. Against :class:`support.compressed.CompressedServer` and the
fake SoundCloud, asserting on what arrived at the server."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from soundcloud import DecodeError, ProtocolError, ResponseTooLargeError
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport
from soundcloud.transport.decoding import MAX_RATIO, RATIO_FLOOR, content_codings

from support.compressed import Body, CompressedServer, gzip_bomb, gzip_bytes, raw_deflate, zlib_bytes
from support.transport_calls import fetch, send

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

MIB = 1024 * 1024
ASKED = "gzip, deflate"
# A JSON collection (146 KB) that compresses about 14:1, as API collections do.
DOCUMENT = {"collection": [{"id": n, "kind": "track", "title": "Track %d" % n, "genre": "Ambient"} for n in range(2000)]}
JSON = json.dumps(DOCUMENT).encode()
# What the bomb tests allow: CPU of the refusing thread, and the peak of traced memory.
BOMB_CPU_SECONDS = 0.5
BOMB_PEAK_BYTES = 4 * MIB

Make = Callable[..., Tuple[HTTPTransport, Any]]


@pytest.fixture
def server() -> Iterator[CompressedServer]:
    with CompressedServer() as started:
        yield started


@pytest.fixture
def transport(make_transport: Make) -> HTTPTransport:
    made, _ = make_transport()
    return made


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """1 GiB of zeros as one gzip member of about 1 MiB (built once, never held unpacked)."""
    data = gzip_bomb(1024)
    assert len(data) < 1.05 * MIB and 1024 * MIB / len(data) > MAX_RATIO
    return data


# -- when the transport asks -----------------------------------------------------------------


def test_requests_without_a_body_ask_for_gzip_and_deflate(transport: HTTPTransport, server: CompressedServer) -> None:
    for method in ("GET", "HEAD", "DELETE"):
        send(transport, method, server.url + "/x").read_all()
    assert server.accept_encodings() == [ASKED] * 3
    # Sent once, under one name (http.client's own "identity" is not added beside it).
    assert [name for name, _ in server.requests[0].raw_headers if name.lower() == "accept-encoding"] == [
        "Accept-Encoding"
    ]


def test_uploads_and_ranges_never_ask(transport: HTTPTransport, server: CompressedServer) -> None:
    url = server.url + "/x"
    send(transport, "POST", url, b'{"a": 1}').read_all()
    send(transport, "PUT", url, iter([b"ab", b"cd"]), replayable=False).read_all()
    send(transport, "DELETE", url, b"{}").read_all()
    send(transport, "GET", url, headers={"Range": "bytes=0-9"}).read_all()
    send(transport, "GET", url, headers={"range": "bytes=10-"}).read_all()
    assert server.accept_encodings() == [None] * 5
    assert [r.body for r in server.requests[:3]] == [b'{"a": 1}', b"abcd", b"{}"]


def test_the_callers_accept_encoding_wins(transport: HTTPTransport, server: CompressedServer) -> None:
    url = server.url + "/x"
    for headers in ({"Accept-Encoding": "identity"}, {"accept-encoding": "br"}, {"ACCEPT-ENCODING": "gzip"}):
        send(transport, "GET", url, headers=headers).read_all()
    assert server.accept_encodings() == ["identity", "br", "gzip"]
    assert all(len([n for n, _ in r.raw_headers if n.lower() == "accept-encoding"]) == 1 for r in server.requests)


def test_the_client_asks_on_api_gets_but_not_on_uploads(fake: "FakeSoundCloud", tmp_path: Path) -> None:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=10) as client:
        client.get("/me")
        client.post("/tracks", track={"title": "mine", "asset_data": ("a.mp3", b"\x00" * 1000)})
        client.post("/tracks", track={"title": "from a file", "asset_data": _file(tmp_path, b"\x01" * 5000)})
    api = [r for r in fake.requests if r.server == "api"]
    assert [(r.method, r.header("accept-encoding")) for r in api] == [
        ("GET", ASKED),
        ("POST", None),
        ("POST", None),
    ]


def test_media_downloads_ask_for_identity(fake: "FakeSoundCloud", tmp_path: Path) -> None:
    progressive = fake.add_track(title="Original", downloadable=True)
    streamed = fake.add_track(title="Streamed")
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=10) as client:
        fake.clear_requests()
        assert client.download(progressive["id"], tmp_path / "a.mp3") == len(fake.media_bytes(progressive["id"]))
        original = [r for r in fake.requests if r.server == "cdn"]
        fake.clear_requests()
        client.download(streamed["id"], tmp_path / "b.m4a")
        hls = [r for r in fake.requests if r.server == "cdn" and "artwork" not in r.path]
        api = [r for r in fake.requests if r.server == "api"]
    assert [r.header("accept-encoding") for r in original] == ["identity"]
    assert len(hls) > 2 and {r.header("accept-encoding") for r in hls} == {"identity"}
    # The track's JSON and its stream list are API answers: those ask.
    assert api and {r.header("accept-encoding") for r in api} == {ASKED}


def test_a_resumed_download_asks_for_identity_with_its_range(fake: "FakeSoundCloud", tmp_path: Path) -> None:
    track = fake.add_track(title="Resumed", downloadable=True)
    media = fake.media_bytes(track["id"])
    target = tmp_path / "r.mp3"
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=10) as client:
        stopped: List[int] = []

        def stop(done: int, total: Optional[int]) -> None:
            if done >= len(media) // 2 and not stopped:
                stopped.append(done)
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            client.download(track["id"], target, progress=stop, resume=True)
        fake.clear_requests()
        assert client.download(track["id"], target, resume=True) == len(media)
    assert target.read_bytes() == media
    cdn = [r for r in fake.requests if r.server == "cdn"]
    assert [(r.header("range") is not None, r.header("accept-encoding")) for r in cdn] == [(True, "identity")]


def _file(directory: Path, data: bytes) -> Path:
    path = directory / "upload.mp3"
    path.write_bytes(data)
    return path


# -- decoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "coding, pack",
    [
        ("gzip", gzip_bytes),
        ("x-gzip", gzip_bytes),
        ("GZip", gzip_bytes),
        ("deflate", zlib_bytes),
        ("deflate", raw_deflate),
        ("identity", lambda data: data),
        ("gzip, identity", gzip_bytes),
        ("gzip, gzip", lambda data: gzip_bytes(gzip_bytes(data))),
        ("deflate, gzip", lambda data: gzip_bytes(zlib_bytes(data))),
    ],
    ids=["gzip", "x-gzip", "case", "deflate-zlib", "deflate-raw", "identity", "with-identity", "gzip-gzip", "deflate-gzip"],
)
@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_json_is_decoded_whole(
    transport: HTTPTransport, server: CompressedServer, coding: str, pack: Callable[[bytes], bytes], framing: str
) -> None:
    url = server.put("/doc", Body(pack(JSON), coding=coding, framing=framing))
    response = send(transport, "GET", url)
    assert response.read_all() == JSON
    # The headers stay as received: the coding, and the length of what was sent.
    assert response.headers["content-encoding"] == coding
    if framing == "length":
        assert response.headers["content-length"] == str(len(pack(JSON)))


def test_the_client_decodes_json_and_error_bodies(server: CompressedServer) -> None:
    server.put("/tracks", Body(gzip_bytes(JSON)))
    error = {"errors": [{"error_message": "no such track"}], "message": "404 - Not Found"}
    server.put("/missing", Body(gzip_bytes(json.dumps(error).encode()), status=404))
    with soundcloud.Client(access_token="t", api_url=server.url, timeout=10, max_retries=0) as client:
        assert client.get("/tracks").fields() == DOCUMENT
        with pytest.raises(soundcloud.NotFoundError) as caught:
            client.get("/missing")
    assert caught.value.message == "no such track"
    assert server.accept_encodings() == [ASKED, ASKED]
    assert server.connections == 1


def test_a_dripped_body_is_decoded(transport: HTTPTransport, server: CompressedServer) -> None:
    # One byte per chunk: the gzip magic and the zlib header arrive split.
    for coding, pack in (("gzip", gzip_bytes), ("deflate", zlib_bytes), ("deflate", raw_deflate)):
        url = server.put("/drip", Body(pack(JSON[:3000]), coding=coding, framing="chunked", chunk=1))
        assert fetch(transport, "GET", url)[1] == JSON[:3000]


def test_several_gzip_members_are_one_body(transport: HTTPTransport, server: CompressedServer) -> None:
    url = server.put("/members", Body(gzip_bytes(JSON[:1000]) + gzip_bytes(b"") + gzip_bytes(JSON[1000:])))
    assert fetch(transport, "GET", url)[1] == JSON


def test_streamed_reads_give_decoded_bytes(transport: HTTPTransport, server: CompressedServer) -> None:
    data = bytes(range(256)) * 4000  # 1 MB
    url = server.put("/blob", Body(gzip_bytes(data), framing="chunked", content_type="application/octet-stream"))
    response = send(transport, "GET", url)
    pieces = [response.read(1000), response.read(300000)]
    assert [len(piece) for piece in pieces] == [1000, 300000]  # as much as asked, until the end
    while True:
        piece = response.read(65536)
        if not piece:
            break
        pieces.append(piece)
    assert b"".join(pieces) == data
    assert response.read(10) == b""
    assert send(transport, "GET", url).read(-1) == data
    assert server.connections == 1  # read to the end: both went back to the pool


def test_a_stream_response_is_decoded_and_has_no_length(server: CompressedServer, tmp_path: Path) -> None:
    data = b"waveform " * 50000
    server.put("/waveform", Body(gzip_bytes(data), content_type="application/octet-stream"))
    server.put("/plain", Body(data, coding=None, content_type="application/octet-stream"))
    progress: List[Tuple[int, Optional[int]]] = []
    with soundcloud.Client(access_token="t", api_url=server.url, timeout=10) as client:
        stream = client.get("/waveform")
        assert isinstance(stream, soundcloud.StreamResponse)
        # The Content-Length counts compressed bytes: not the size of what is read.
        assert stream.content_length is None and stream.headers["content-length"] == str(len(gzip_bytes(data)))
        assert stream.save(tmp_path / "w.bin", progress=lambda done, total: progress.append((done, total))) == len(data)
        assert stream.bytes_read == len(data)
        plain = client.get("/plain")
        assert isinstance(plain, soundcloud.StreamResponse) and plain.content_length == len(data)
        plain.close()
    assert (tmp_path / "w.bin").read_bytes() == data
    assert progress[-1] == (len(data), None) and all(total is None for _, total in progress)


def test_an_empty_or_bodiless_answer_needs_no_decoding(transport: HTTPTransport, server: CompressedServer) -> None:
    url = server.put("/empty", Body(b"", coding="br"))  # nothing to decode, whatever the coding
    assert fetch(transport, "GET", url)[:2] == (200, b"")
    url = server.put("/head", Body(gzip_bytes(JSON)))
    response = send(transport, "HEAD", url)
    assert response.read_all() == b"" and response.headers["content-length"] == str(len(gzip_bytes(JSON)))
    assert server.connections == 1


# -- limits on the decoded size --------------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_the_limit_counts_decoded_bytes(transport: HTTPTransport, server: CompressedServer, framing: str) -> None:
    data = b"[" + b"0," * 100000 + b"0]"  # 200 KB that compress to under 1 KB
    url = server.put("/zeros", Body(gzip_bytes(data), framing=framing))
    assert send(transport, "GET", url).read_all(len(data)) == data
    with pytest.raises(ResponseTooLargeError, match="decoded response body .* over the limit of 100000 bytes"):
        send(transport, "GET", url).read_all(100000)
    assert fetch(transport, "GET", url)[1] == data
    assert server.connections == 2  # the refused body closed its connection


def test_the_clients_max_body_size_counts_decoded_bytes(server: CompressedServer) -> None:
    server.put("/tracks", Body(gzip_bytes(JSON)))
    with soundcloud.Client(access_token="t", api_url=server.url, timeout=10, max_body_size=len(JSON)) as client:
        assert client.get("/tracks").fields() == DOCUMENT
    with soundcloud.Client(access_token="t", api_url=server.url, timeout=10, max_body_size=len(JSON) - 1) as client:
        with pytest.raises(ResponseTooLargeError):
            client.get("/tracks")


def test_a_compressed_body_too_long_for_the_limit_is_refused_unread(
    transport: HTTPTransport, server: CompressedServer
) -> None:
    url = server.put("/long", Body(gzip_bytes(bytes(range(256)) * 1000, level=0)))  # stored: longer than its data
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError, match="compressed response body is"):
        send(transport, "GET", url).read_all(1000)
    assert time.monotonic() - started < 2
    assert fetch(transport, "GET", url)[1] == bytes(range(256)) * 1000
    assert server.connections == 2


def test_a_flood_of_empty_members_stops_at_the_limit(transport: HTTPTransport, server: CompressedServer) -> None:
    empty = gzip_bytes(b"")
    url = server.put("/flood", Body(empty * 20000, framing="chunked"))  # 400 KB of nothing
    with pytest.raises(ResponseTooLargeError, match="compressed response body is over"):
        send(transport, "GET", url).read_all(1000)


# -- the decompression bomb --------------------------------------------------------------------


def _refuse_bomb(read: Callable[[], object]) -> Tuple[float, float, int, str]:
    """Run ``read`` (which must raise ResponseTooLargeError): its thread's CPU seconds, wall
    seconds, traced memory peak and the error's message."""
    tracemalloc.start()
    try:
        cpu = time.thread_time()
        wall = time.perf_counter()
        with pytest.raises(ResponseTooLargeError) as caught:
            read()
        cpu = time.thread_time() - cpu
        wall = time.perf_counter() - wall
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return cpu, wall, peak, str(caught.value)


@pytest.mark.parametrize("limit", [64 * MIB, 8 * 1024 * MIB], ids=["default-limit", "huge-limit"])
def test_a_gzip_bomb_is_refused_quickly_with_bounded_memory(
    transport: HTTPTransport, server: CompressedServer, bomb: bytes, limit: int
) -> None:
    url = server.put("/bomb", Body(bomb))
    response = send(transport, "GET", url)
    cpu, wall, peak, message = _refuse_bomb(lambda: response.read_all(limit))
    print(f"\nbomb refused ({limit // MIB} MiB limit): {cpu * 1000:.1f} ms CPU, {wall * 1000:.1f} ms wall,"
          f" traced peak {peak / MIB:.2f} MiB")
    assert "decompression bomb" in message and f"more than {MAX_RATIO}:1" in message
    assert cpu < BOMB_CPU_SECONDS
    assert peak < BOMB_PEAK_BYTES
    # Refused: its connection went, the next request gets a new one.
    assert fetch(transport, "GET", server.url + "/x")[0] == 200
    assert server.connections == 2


def test_a_gzip_bomb_is_refused_when_streamed(transport: HTTPTransport, server: CompressedServer, bomb: bytes) -> None:
    url = server.put("/bomb", Body(bomb, framing="chunked", content_type="application/octet-stream"))
    response = send(transport, "GET", url)
    seen = [0]

    def drain() -> None:
        while True:
            piece = response.read(65536)
            if not piece:
                return
            seen[0] += len(piece)

    cpu, _, peak, message = _refuse_bomb(drain)
    assert "decompression bomb" in message
    assert RATIO_FLOOR <= seen[0] <= 2 * RATIO_FLOOR  # stopped just past the floor
    assert cpu < BOMB_CPU_SECONDS and peak < BOMB_PEAK_BYTES


def test_a_bomb_under_a_small_limit_is_the_limits(transport: HTTPTransport, server: CompressedServer, bomb: bytes) -> None:
    # Chunked: no announced length to refuse it by before reading.
    url = server.put("/bomb", Body(bomb, framing="chunked"))
    with pytest.raises(ResponseTooLargeError, match="over the limit of 524288 bytes"):
        send(transport, "GET", url).read_all(512 * 1024)


def test_the_bomb_is_a_real_one() -> None:
    # The builder's output decodes to what it claims (checked on a small one: 8 MiB).
    assert gzip.decompress(gzip_bomb(8)) == bytes(8 * MIB)


# -- bad encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "x-gzip"])
def test_a_plain_body_labelled_gzip_is_a_decode_error(
    transport: HTTPTransport, server: CompressedServer, coding: str
) -> None:
    url = server.put("/liar", Body(JSON, coding=coding))
    with pytest.raises(DecodeError, match=f"not {coding} data.*Content-Encoding: {coding}"):
        send(transport, "GET", url).read_all()
    assert fetch(transport, "GET", server.url + "/x")[0] == 200
    assert server.connections == 2


BROKEN = [
    # (name, body as sent, its Content-Encoding, the error, what its message says)
    ("bad-crc", gzip_bytes(JSON)[:-8] + b"\0\0\0\0" + gzip_bytes(JSON)[-4:], "gzip", DecodeError, "not valid gzip"),
    ("bad-adler", zlib_bytes(JSON)[:-1] + bytes([zlib_bytes(JSON)[-1] ^ 1]), "deflate", DecodeError, "not valid deflate"),
    ("no-trailer", gzip_bytes(JSON)[:-8], "gzip", ProtocolError, "ended inside its gzip data"),
    ("cut", gzip_bytes(JSON)[:200], "gzip", ProtocolError, "truncated"),
    ("garbage", gzip_bytes(JSON) + b"<html>", "gzip", DecodeError, "trailing garbage"),
    ("garbage-byte", gzip_bytes(JSON) + b"\x1f", "gzip", DecodeError, "trailing garbage"),
    ("deflate-garbage", zlib_bytes(JSON) + b"\x1f\x8b", "deflate", DecodeError, "trailing garbage"),
]


@pytest.mark.parametrize("what, data, coding, error, match", [pytest.param(*case, id=case[0]) for case in BROKEN])
@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_broken_compressed_bodies_are_refused(
    transport: HTTPTransport,
    server: CompressedServer,
    what: str,
    data: bytes,
    coding: str,
    error: type,
    match: str,
    framing: str,
) -> None:
    url = server.put("/" + what, Body(data, coding=coding, framing=framing, chunk=7))
    with pytest.raises(error, match=match) as caught:
        send(transport, "GET", url).read_all()
    assert f"Content-Encoding: {coding}" in str(caught.value)
    streamed = send(transport, "GET", url)
    with pytest.raises(error, match=match):
        while streamed.read(100):
            pass
    assert fetch(transport, "GET", server.url + "/x")[0] == 200
    assert server.connections == 3  # each refused body took its connection along


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "x-compress", "exi", "gzip, br"])
def test_unknown_codings_are_a_clear_decode_error(
    transport: HTTPTransport, server: CompressedServer, coding: str
) -> None:
    url = server.put("/unknown", Body(b"\x0b\x02\x80hello\x03", coding=coding))
    with pytest.raises(DecodeError, match="which is not supported") as caught:
        send(transport, "GET", url).read_all()
    assert repr(coding.split(", ")[-1]) in str(caught.value)  # the coding it could not undo
    assert "only gzip and deflate were asked for" in str(caught.value)


def test_an_inner_coding_cut_short_is_a_decode_error(transport: HTTPTransport, server: CompressedServer) -> None:
    url = server.put("/inner", Body(gzip_bytes(gzip_bytes(JSON)[:300]), coding="gzip, gzip"))
    with pytest.raises(DecodeError, match="inner gzip data is incomplete"):
        send(transport, "GET", url).read_all()


def test_too_many_codings_are_refused(transport: HTTPTransport, server: CompressedServer) -> None:
    data = JSON
    for _ in range(6):
        data = gzip_bytes(data)
    url = server.put("/layers", Body(data, coding=", ".join(["gzip"] * 6)))
    with pytest.raises(DecodeError, match="6 content codings"):
        send(transport, "GET", url).read_all()


def test_content_codings_are_read_as_rfc_9110_lists() -> None:
    assert content_codings("gzip") == ["gzip"]
    assert content_codings(" GZIP ,\tidentity, deflate,, ") == ["gzip", "deflate"]
    assert content_codings("identity") == []


def test_the_total_deadline_is_the_error_when_it_cuts_a_compressed_body(
    transport: HTTPTransport, server: CompressedServer
) -> None:
    # No length: when the deadline shuts the socket, the body looks as if it ended early.
    url = server.put("/stall", Body(gzip_bytes(JSON), framing="close", stall_after=300))
    response = send(transport, "GET", url, timeout=Timeout(read=5, total=0.5))
    started = time.monotonic()
    try:
        with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.5 s"):
            response.read_all()
    finally:
        server.release()
    assert time.monotonic() - started < 3


# -- connections ------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_decoded_body_leaves_its_connection_reusable(
    transport: HTTPTransport, server: CompressedServer, framing: str
) -> None:
    url = server.put("/doc", Body(gzip_bytes(JSON), framing=framing))
    for _ in range(3):
        assert fetch(transport, "GET", url)[1] == JSON
    streamed = send(transport, "GET", url)
    assert b"".join(iter(lambda: streamed.read(4096), b"")) == JSON
    assert server.connections == 1
    assert [r.connection for r in server.requests] == [1, 1, 1, 1]
