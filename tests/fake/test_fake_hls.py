"""The fake CDN's AAC HLS, as the live service serves audio since 15 November 2025, checked with
plain http.client and an independent reader (no soundcloud client, no package parser):

- ``/streams`` URLs are signed CloudFront style (Policy, Signature, Key-Pair-Id) and expire;
  tampered, expired (by the clock or ``expire_stream_urls``) URLs get CloudFront's 403, and
  fetching ``/streams`` again gives URLs that work;
- every stream shape (``set_stream``) parses as RFC 8216 and its init segment plus segments,
  fetched as the playlist says, decode with PyAV to the fixture's sample count: several
  segments, one, nine (the fixture's fragments repeat), a thousand (playlist and continuity),
  byte ranges with and without explicit offsets, a master playlist, relative URIs, ``styp``
  boxes, one rendition; DRM shows as ``EXT-X-KEY``;
- ``break_segment`` statuses, counts and cut connections, seen through ``segment_fetches``;
- the preview is 30 seconds; ``/download`` gives the original with Content-Disposition;
  artwork is a real JPEG (or PNG, or none).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import struct
from typing import Any, Dict, List, NamedTuple, Optional, Tuple
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from support.fake_calls import Clock, Reply, call

import soundcloud.testing
from soundcloud.testing import FakeSoundCloud, hls_fixture
from soundcloud.testing.hls import fixture_bytes

TRACK = 3
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


# --------------------------------------------------------------------------- an independent reader


class Segment(NamedTuple):
    duration: float
    uri: str  # absolute
    byterange: Optional[Tuple[int, int]]  # (offset, length)


class Playlist(NamedTuple):
    tags: Dict[str, str]  # single tags: name -> value (after the colon)
    map_uri: Optional[str]
    map_range: Optional[Tuple[int, int]]
    segments: List[Segment]
    variants: List[Tuple[str, Dict[str, str]]]  # master: (absolute URI, attributes)
    lines: List[str]


def attributes(text: str) -> Dict[str, str]:
    return {name: value.strip('"') for name, value in ATTRIBUTE.findall(text)}


def parse_range(text: str, follows: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    length, _, offset = text.partition("@")
    if offset:
        return int(offset), int(length)
    assert follows is not None, "a BYTERANGE without an offset must follow a range (RFC 8216 4.3.2.2)"
    return follows[0] + follows[1], int(length)


def parse(text: str, url: str) -> Playlist:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    tags: Dict[str, str] = {}
    map_uri: Optional[str] = None
    map_range: Optional[Tuple[int, int]] = None
    segments: List[Segment] = []
    variants: List[Tuple[str, Dict[str, str]]] = []
    duration: Optional[float] = None
    byterange: Optional[Tuple[int, int]] = None
    stream_inf: Optional[Dict[str, str]] = None
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line.startswith("#EXT-X-BYTERANGE:"):
            previous = segments[-1].byterange if segments else None
            byterange = parse_range(line.split(":", 1)[1], previous)
        elif line.startswith("#EXT-X-MAP:"):
            found = attributes(line.split(":", 1)[1])
            map_uri = urljoin(url, found["URI"])
            map_range = parse_range(found["BYTERANGE"], None) if "BYTERANGE" in found else None
        elif line.startswith("#EXT-X-STREAM-INF:"):
            stream_inf = attributes(line.split(":", 1)[1])
        elif line.startswith("#"):
            name, _, value = line[1:].partition(":")
            tags[name] = value
        elif line:
            if stream_inf is not None:
                variants.append((urljoin(url, line), stream_inf))
                stream_inf = None
            else:
                assert duration is not None, f"a URI without EXTINF: {line}"
                segments.append(Segment(duration, urljoin(url, line), byterange))
                duration, byterange = None, None
    return Playlist(tags, map_uri, map_range, segments, variants, lines)


def fetch_playlist(url: str) -> Playlist:
    reply = call(url)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == PLAYLIST_TYPE
    return parse(reply.body.decode("utf-8"), url)


def ranged(uri: str, byterange: Optional[Tuple[int, int]]) -> Reply:
    if byterange is None:
        return call(uri)
    offset, length = byterange
    return call(uri, headers={"Range": f"bytes={offset}-{offset + length - 1}"})


def fetch_audio(playlist: Playlist) -> bytes:
    """The init segment then every segment, fetched as the playlist says, checked on the way."""
    assert playlist.map_uri is not None
    parts: List[bytes] = []
    for uri, byterange in [(playlist.map_uri, playlist.map_range)] + [(s.uri, s.byterange) for s in playlist.segments]:
        reply = ranged(uri, byterange)
        assert reply.status == (200 if byterange is None else 206), reply.body
        assert reply.headers["content-type"] == "audio/mp4"
        assert reply.headers["content-length"] == str(len(reply.body))
        if byterange is not None:
            assert reply.headers["content-range"].startswith(f"bytes {byterange[0]}-{sum(byterange) - 1}/")
            assert len(reply.body) == byterange[1]
        parts.append(reply.body)
    return b"".join(parts)


def decode(data: bytes) -> Tuple[int, str, int, int]:
    """(samples per channel, codec, sample rate, channels) as PyAV decodes the whole file."""
    av: Any = pytest.importorskip("av")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        context = stream.codec_context
        return samples, context.name, context.sample_rate, context.layout.nb_channels


def streams(fake: FakeSoundCloud, token: str, track: int = TRACK) -> Dict[str, str]:
    reply = call(f"{fake.api_url}/tracks/soundcloud:tracks:{track}/streams", token=token)
    assert reply.status == 200, reply.body
    answer: Dict[str, str] = reply.json()
    return answer


def policy_of(url: str) -> Dict[str, Any]:
    query = parse_qs(urlsplit(url).query)
    raw = query["Policy"][0].translate(str.maketrans("-_~", "+=/"))
    document: Dict[str, Any] = json.loads(base64.b64decode(raw))
    return document


def tfdt(segment: bytes) -> int:
    """baseMediaDecodeTime of the first traf of a segment (ISO/IEC 14496-12 8.8.12), read by hand."""
    where = segment.index(b"tfdt") - 4
    version = segment[where + 8]
    return int(struct.unpack_from(">Q" if version == 1 else ">I", segment, where + 12)[0])


def ticks(segment: bytes) -> int:
    """The media duration of a segment's trun (8.8.8): per-sample durations, else the tfhd default."""
    tfhd = segment.index(b"tfhd") - 4
    tfhd_flags = int.from_bytes(segment[tfhd + 9 : tfhd + 12], "big")
    default = 0
    if tfhd_flags & 0x8:  # default-sample-duration-present, after the optional fields before it
        skip = (8 if tfhd_flags & 0x1 else 0) + (4 if tfhd_flags & 0x2 else 0)
        default = struct.unpack_from(">I", segment, tfhd + 16 + skip)[0]
    trun = segment.index(b"trun") - 4
    flags = int.from_bytes(segment[trun + 9 : trun + 12], "big")
    count = struct.unpack_from(">I", segment, trun + 12)[0]
    if not flags & 0x100:
        return int(count * default)
    rows = trun + 16 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    width = 4 * bin(flags & 0xF00).count("1")
    return sum(struct.unpack_from(">I", segment, rows + row * width)[0] for row in range(count))


# --------------------------------------------------------------------------- signed URLs


def test_streams_urls_are_signed_like_cloudfront_and_expire(timed: FakeSoundCloud, clock: Clock) -> None:
    token = timed.issue_token()
    listed = streams(timed, token)
    assert set(listed) == {"hls_aac_160_url", "hls_aac_96_url", "preview_mp3_128_url"}
    url = listed["hls_aac_160_url"]
    query = parse_qs(urlsplit(url).query)
    assert sorted(query) == ["Key-Pair-Id", "Policy", "Signature"]
    statement = policy_of(url)["Statement"][0]
    assert statement["Resource"] == url.split("?", 1)[0]
    expiry = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    assert expiry == int(clock.now) + soundcloud.testing.CDN_URL_LIFETIME
    playlist = fetch_playlist(url)
    assert all("Signature=" in s.uri for s in playlist.segments) and "Signature=" in (playlist.map_uri or "")
    assert call(playlist.segments[0].uri).status == 200
    clock.advance(soundcloud.testing.CDN_URL_LIFETIME + 1)
    for stale in (url, playlist.map_uri or "", playlist.segments[0].uri, listed["preview_mp3_128_url"]):
        refused = call(stale)
        assert refused.status == 403 and refused.headers["content-type"] == "text/xml"
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in refused.body
    fresh = fetch_playlist(streams(timed, token)["hls_aac_160_url"])  # fetch /streams again
    assert call(fresh.segments[0].uri).status == 200


def test_tampered_and_unsigned_urls_are_refused(fake: FakeSoundCloud, token: str) -> None:
    playlist = fetch_playlist(streams(fake, token)["hls_aac_160_url"])
    first, second = playlist.segments[0].uri, playlist.segments[1].uri
    assert call(first).status == 200
    path, query = first.split("?", 1)
    other_query = second.split("?", 1)[1]
    signature = parse_qs(query)["Signature"][0]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    cases = {
        "another segment's signature": f"{path}?{other_query}",
        "a changed signature": first.replace(signature, flipped),
        "no query": path,
        "another key pair": first.replace("Key-Pair-Id=", "Key-Pair-Id=X"),
        "another track": first.replace(f"/hls/{TRACK}/", "/hls/4/"),
    }
    for why, url in cases.items():
        refused = call(url)
        assert refused.status == 403, why
        assert refused.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>')


def test_expire_stream_urls_expires_what_was_handed_out(fake: FakeSoundCloud, token: str) -> None:
    listed = streams(fake, token)
    playlist = fetch_playlist(listed["hls_aac_96_url"])
    media = fake.media_url(TRACK)
    fake.expire_stream_urls()
    for stale in (listed["hls_aac_96_url"], playlist.segments[2].uri, playlist.map_uri or "", media):
        refused = call(stale)
        assert refused.status == 403 and b"Request has expired" in refused.body
    again = fetch_playlist(streams(fake, token)["hls_aac_96_url"])
    assert call(again.segments[2].uri).status == 200
    assert call(fake.media_url(TRACK)).status == 200


# --------------------------------------------------------------------------- shapes


def test_the_default_media_playlist(fake: FakeSoundCloud, token: str) -> None:
    facts = hls_fixture()
    url = streams(fake, token)["hls_aac_160_url"]
    playlist = fetch_playlist(url)
    assert playlist.lines[1] == "#EXT-X-VERSION:7"
    assert playlist.tags["EXT-X-TARGETDURATION"] == "1"  # 1.02 s rounds to 1 (RFC 8216 4.3.3.1)
    assert playlist.tags["EXT-X-MEDIA-SEQUENCE"] == "0"
    assert playlist.lines[-1] == "#EXT-X-ENDLIST"
    assert "EXT-X-KEY" not in playlist.tags
    base = f"{fake.cdn_url}/hls/{TRACK}/aac_160/"
    assert (playlist.map_uri or "").startswith(base + "init.mp4?Policy=")
    assert [s.uri.split("?")[0] for s in playlist.segments] == [f"{base}seg-{n}.m4s" for n in (1, 2, 3, 4)]
    assert [s.duration for s in playlist.segments] == pytest.approx([1.021678] * 3 + [0.958186], abs=1e-6)
    assert [s.duration for s in playlist.segments] == pytest.approx([facts.segment_seconds(i) for i in range(4)])
    assert facts.samples(4) == 178176 and facts.sample_rate == 44100 and facts.channels == 2
    assert facts.media_samples(4) == 178176 - facts.end_trim and facts.end_trim == 752
    assert facts.media_samples(9) == 2 * facts.media_samples(4) + 45056
    assert sum(s.duration for s in playlist.segments) == pytest.approx(facts.duration(4), abs=1e-5)


@pytest.mark.parametrize(
    "shape, rendition",
    [
        ({}, "aac_160"),
        ({}, "aac_96"),
        ({"segments": 1}, "aac_160"),
        ({"segments": 9}, "aac_96"),
        ({"styp": True, "segments": 5}, "aac_160"),
        ({"absolute_uris": False}, "aac_160"),
        ({"byteranges": True}, "aac_160"),
        ({"byteranges": True, "range_offsets": False, "segments": 6}, "aac_96"),
        ({"byteranges": True, "absolute_uris": False, "styp": True}, "aac_160"),
    ],
    ids=["default", "aac_96", "one", "nine", "styp", "relative", "byteranges", "implicit-offsets", "relative-ranges"],
)
def test_every_shape_decodes_to_the_fixture_samples(
    fake: FakeSoundCloud, token: str, shape: Dict[str, Any], rendition: str
) -> None:
    fake.set_stream(TRACK, **shape)
    segments = int(shape.get("segments", 4))
    playlist = fetch_playlist(streams(fake, token)[f"hls_{rendition}_url"])
    text = "\n".join(playlist.lines)
    assert len(playlist.segments) == segments
    if shape.get("absolute_uris") is False:
        assert not any(line.startswith("http") for line in playlist.lines)
        assert re.search(r'URI="(init|stream)\.mp4\?Policy=', text)
    if shape.get("byteranges"):
        ranges = [line for line in playlist.lines if line.startswith("#EXT-X-BYTERANGE:")]
        explicit = [line for line in ranges if "@" in line]
        assert len(ranges) == segments
        assert len(explicit) == (1 if shape.get("range_offsets") is False else segments)
        assert re.search(r'#EXT-X-MAP:URI="[^"]*stream\.mp4\?[^"]*",BYTERANGE="\d+@0"', text)
        assert {s.uri for s in playlist.segments} == {playlist.map_uri}
        assert playlist.map_range is not None and playlist.map_range[0] == 0
        spans = [playlist.map_range] + [s.byterange for s in playlist.segments if s.byterange is not None]
        assert all(after[0] == before[0] + before[1] for before, after in zip(spans, spans[1:]))  # contiguous
    data = fetch_audio(playlist)
    if shape.get("styp"):
        assert data.count(b"styp") == segments
    samples, codec, rate, channels = decode(data)
    facts = hls_fixture(rendition)
    assert (samples, codec, rate, channels) == (facts.samples(segments), "aac", 44100, 2)
    assert sum(s.duration for s in playlist.segments) == pytest.approx(facts.duration(segments), abs=1e-5)
    assert not fake.cdn_authorization_seen


def test_a_thousand_segments_play_as_one_continuous_stream(fake: FakeSoundCloud, token: str) -> None:
    facts = hls_fixture()
    fake.set_stream(TRACK, segments=1000)
    playlist = fetch_playlist(streams(fake, token)["hls_aac_160_url"])
    assert len(playlist.segments) == 1000
    assert sum(s.duration for s in playlist.segments) == pytest.approx(facts.duration(1000), abs=1e-3)
    last = call(playlist.segments[999].uri).body
    assert last == call(playlist.segments[999].uri).body  # the same bytes each time
    # The timeline runs on across repeated fragments: each segment starts where the one before
    # ended (every fourth one ends on the encoder's trimmed frame).
    for index in (0, 3, 4, 7, 8, 998):
        segment = call(playlist.segments[index].uri).body
        following = call(playlist.segments[index + 1].uri).body
        assert tfdt(segment) == facts.media_samples(index)
        assert tfdt(segment) + ticks(segment) == tfdt(following), index
    assert tfdt(last) + ticks(last) == facts.media_samples(1000) == facts.samples(1000) - 250 * facts.end_trim
    assert call(playlist.segments[0].uri.replace("seg-1.m4s", "seg-1001.m4s")).status == 403  # not signed
    assert call(fake.hls_url(TRACK).replace("playlist.m3u8", "seg-0.m4s")).status == 403


def test_master_playlist_lists_both_renditions(fake: FakeSoundCloud, token: str) -> None:
    fake.set_stream(TRACK, master=True, absolute_uris=False)
    listed = streams(fake, token)
    assert listed["hls_aac_160_url"].startswith(f"{fake.cdn_url}/hls/{TRACK}/master.m3u8?Policy=")
    assert listed["hls_aac_96_url"].split("?")[0] == listed["hls_aac_160_url"].split("?")[0]
    master = fetch_playlist(listed["hls_aac_160_url"])
    assert master.segments == [] and len(master.variants) == 2
    (best, best_attributes), (second, second_attributes) = master.variants
    assert best.startswith(f"{fake.cdn_url}/hls/{TRACK}/aac_160/playlist.m3u8?Policy=")
    assert second.startswith(f"{fake.cdn_url}/hls/{TRACK}/aac_96/playlist.m3u8?Policy=")
    assert best_attributes["CODECS"] == second_attributes["CODECS"] == "mp4a.40.2"
    assert int(best_attributes["BANDWIDTH"]) > int(second_attributes["BANDWIDTH"]) > 96_000
    samples, *_ = decode(fetch_audio(fetch_playlist(second)))
    assert samples == hls_fixture().samples(4)
    fake.set_stream(TRACK)  # back to media playlists: the master is gone
    assert call(listed["hls_aac_160_url"]).status == 404


def test_one_rendition_and_drm(fake: FakeSoundCloud, token: str) -> None:
    fake.set_stream(TRACK, renditions=("aac_96",), encrypted=True)
    listed = streams(fake, token)
    assert set(listed) == {"hls_aac_96_url", "preview_mp3_128_url"}
    playlist = fetch_playlist(listed["hls_aac_96_url"])
    key = [line for line in playlist.lines if line.startswith("#EXT-X-KEY:")]
    assert len(key) == 1 and attributes(key[0].split(":", 1)[1])["METHOD"] == "SAMPLE-AES"
    assert attributes(key[0].split(":", 1)[1])["URI"].startswith("skd://")
    assert playlist.lines.index(key[0]) < [i for i, line in enumerate(playlist.lines) if "EXT-X-MAP" in line][0]
    assert call(fake.hls_url(TRACK, "aac_160")).status == 404
    with pytest.raises(ValueError, match="renditions"):
        fake.set_stream(TRACK, renditions=("opus_64",))
    with pytest.raises(ValueError, match="segments"):
        fake.set_stream(TRACK, segments=0)


def test_preview_and_blocked_tracks(fake: FakeSoundCloud, token: str) -> None:
    preview_only = fake.add_track(title="Go+ only", access="preview")
    assert set(streams(fake, token, preview_only["id"])) == {"preview_mp3_128_url"}
    blocked = fake.add_track(title="Not in your country", access="blocked")
    for path in ("streams", "stream"):
        refused = call(f"{fake.api_url}/tracks/{blocked['id']}/{path}", token=token)
        assert refused.status == 404 and refused.json()["errors"][0]["error_message"] == "track is not streamable"
    samples, codec, rate, channels = decode(call(streams(fake, token)["preview_mp3_128_url"]).body)
    assert (codec, channels) == ("mp3float", 1)
    assert samples / rate == pytest.approx(soundcloud.testing.PREVIEW_SECONDS, abs=0.1)
    assert call(fake.preview_url(TRACK)).body == fixture_bytes("preview.mp3")


# --------------------------------------------------------------------------- faults


def test_break_segment_statuses_and_counts(fake: FakeSoundCloud, token: str) -> None:
    playlist = fetch_playlist(streams(fake, token)["hls_aac_160_url"])
    fake.clear_requests()
    fake.break_segment(TRACK, 1, status=500, times=2)
    fake.break_segment(TRACK, 2, status=403)
    fake.break_segment(TRACK, 3, status=410, rendition="aac_160")
    fake.break_segment(TRACK, 0, status=503, rendition="aac_96")  # another rendition: not this one
    answers = [call(s.uri) for s in playlist.segments]
    assert [a.status for a in answers] == [200, 500, 403, 410]
    assert b"<Code>InternalError</Code>" in answers[1].body
    for expired in answers[2:]:  # like an expired signed URL
        assert expired.headers["content-type"] == "text/xml"
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.body
    assert [call(s.uri).status for s in playlist.segments] == [200, 500, 200, 200]
    assert [call(s.uri).status for s in playlist.segments] == [200, 200, 200, 200]
    assert fake.segment_fetches(TRACK) == {0: 3, 1: 3, 2: 3, 3: 3}
    assert fake.segment_fetches(TRACK, "aac_96") == {}
    assert [r.path.rsplit("/", 1)[1] for r in fake.stream_requests(TRACK)][:2] == ["seg-1.m4s", "seg-2.m4s"]
    other = fetch_playlist(streams(fake, token)["hls_aac_96_url"])
    assert call(other.segments[0].uri).status == 503
    with pytest.raises(ValueError):
        fake.break_segment(TRACK, 0, status=200)


def test_break_segment_can_cut_the_connection(fake: FakeSoundCloud, token: str) -> None:
    playlist = fetch_playlist(streams(fake, token)["hls_aac_160_url"])
    fake.break_segment(TRACK, 0, truncate=True)
    with pytest.raises(http.client.IncompleteRead):
        call(playlist.segments[0].uri)
    whole = call(playlist.segments[0].uri)
    assert whole.status == 200 and len(whole.body) == int(whole.headers["content-length"])


def test_break_segment_in_the_byte_range_shape(fake: FakeSoundCloud, token: str) -> None:
    fake.set_stream(TRACK, byteranges=True, range_offsets=False)
    playlist = fetch_playlist(streams(fake, token)["hls_aac_160_url"])
    fake.clear_requests()
    fake.break_segment(TRACK, 2, status=403)
    statuses = [ranged(s.uri, s.byterange).status for s in playlist.segments]
    assert statuses == [206, 206, 403, 206]
    assert ranged(playlist.segments[2].uri, playlist.segments[2].byterange).status == 206
    assert fake.segment_fetches(TRACK) == {0: 1, 1: 1, 2: 2, 3: 1}


# --------------------------------------------------------------------------- originals and artwork


def test_download_gives_the_uploaded_original(fake: FakeSoundCloud, token: str) -> None:
    original = b"fLaC" + bytes(range(256)) * 8
    boundary = "fake-hls-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="track[title]"\r\n\r\nCaf\u00e9 / \u266b take\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="track[downloadable]"\r\n\r\ntrue\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="track[asset_data]"; filename="take.flac"\r\n'
        "Content-Type: audio/flac\r\n\r\n",
    ]
    body = "".join(parts).encode() + original + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    created = call(f"{fake.api_url}/tracks", "POST", token=token, headers=headers, body=body)
    assert created.status == 201, created.body
    track = created.json()
    reply = call(track["download_url"], token=token)
    assert reply.status == 302
    location = reply.headers["location"]
    assert location.startswith(f"{fake.cdn_url}/media/{track['id']}.flac?Policy=")
    got = call(location)
    assert got.status == 200 and got.body == original and got.headers["content-type"] == "audio/flac"
    disposition = got.headers["content-disposition"]
    assert disposition == "attachment; filename=\"Cafe take.flac\"; filename*=UTF-8''Caf%C3%A9%20%E2%99%AB%20take.flac"
    tail = call(location, headers={"Range": "bytes=-4", "If-Range": got.headers["etag"]})
    assert tail.status == 206 and tail.body == original[-4:]
    assert call(location.replace(".flac?", ".mp3?")).status == 403  # the signature is for the path


def test_artwork_is_a_real_jpeg_on_the_cdn(fake: FakeSoundCloud, token: str) -> None:
    track = call(f"{fake.api_url}/tracks/{TRACK}", token=token).json()
    assert track["artwork_url"] == f"{fake.cdn_url}/artworks/artworks-{TRACK:012d}-large.jpg"
    image = call(track["artwork_url"])
    assert image.status == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.body.startswith(b"\xff\xd8\xff") and image.body.endswith(b"\xff\xd9")
    assert call(track["artwork_url"].replace("-large.", "-t500x500.")).body == image.body
    assert call(track["artwork_url"].replace("-large.", "-original.")).status == 200
    assert call(track["artwork_url"].replace("-large.", "-huge.")).status == 404
    fake.set_artwork(TRACK, "png")
    png_url = (fake.get_track(TRACK) or {})["artwork_url"]
    assert png_url.endswith("-large.png")
    png = call(png_url)
    assert png.headers["content-type"] == "image/png" and png.body.startswith(b"\x89PNG\r\n\x1a\n")
    fake.set_artwork(TRACK, None)
    assert call(f"{fake.api_url}/tracks/{TRACK}", token=token).json()["artwork_url"] is None
    assert call(png_url).status == 404
    assert not fake.cdn_authorization_seen
