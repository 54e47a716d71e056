"""The fake SoundCloud's streaming and CDN origin, over real sockets with http.client: the
API's stream (a 30-second preview) and download (the original) redirects to signed CDN URLs
(sent without credentials), the CDN's refusal of tampered, unsigned and expired URLs, byte
ranges, HEAD, and the shape of ``/streams``. The HLS playlists and segments themselves are
pinned down in test_fake_hls.py.
"""

from __future__ import annotations

from support.fake_calls import Clock, call

import soundcloud.testing
from soundcloud.testing import FakeSoundCloud
from soundcloud.testing.hls import fixture_bytes


def test_stream_redirects_to_the_signed_preview(fake: FakeSoundCloud, token: str) -> None:
    reply = call(f"{fake.api_url}/tracks/1/stream", token=token)
    assert reply.status == 302
    location = reply.headers["location"]
    assert location.startswith(f"{fake.cdn_url}/preview/1.mp3?Policy=")
    assert "&Signature=" in location and "&Key-Pair-Id=" in location
    assert reply.json() == {"status": "302 - Found", "location": location}
    audio = call(location)
    assert audio.status == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["accept-ranges"] == "bytes"
    assert audio.body == fixture_bytes("preview.mp3")  # the 30-second preview, never the track
    assert not fake.cdn_authorization_seen
    cdn = fake.requests_to("cdn")
    assert len(cdn) == 1 and "authorization" not in cdn[0].headers
    call(location, token=token)
    assert fake.cdn_authorization_seen


def test_download_redirect_only_when_downloadable(fake: FakeSoundCloud, token: str) -> None:
    assert call(f"{fake.api_url}/tracks/1/download", token=token).status == 404
    track = fake.add_track(title="Free download", downloadable=True)
    assert track["download_url"] == f"{fake.api_url}/tracks/{track['id']}/download"
    reply = call(track["download_url"], token=token)
    assert reply.status == 302 and reply.headers["location"].startswith(f"{fake.cdn_url}/media/{track['id']}.mp3?")
    original = call(reply.headers["location"])
    assert original.status == 200 and original.body == fake.media_bytes(track["id"])
    assert len(original.body) == soundcloud.testing.MEDIA_SIZE and original.body != fake.media_bytes(1)
    assert original.headers["content-type"] == "audio/mpeg"
    assert original.headers["content-disposition"] == 'attachment; filename="Free download.mp3"'


def test_cdn_rejects_tampered_and_expired_urls(timed: FakeSoundCloud, clock: Clock) -> None:
    location = timed.media_url(1)
    assert call(location).status == 200
    tampered = location.replace("/media/1.mp3", "/media/2.mp3")
    denied = call(tampered)
    assert denied.status == 403 and denied.headers["content-type"] == "text/xml"
    assert denied.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>')
    assert call(f"{timed.cdn_url}/media/1.mp3").status == 403
    clock.now += soundcloud.testing.CDN_URL_LIFETIME
    assert call(location).status == 200  # still valid at its expiry second
    clock.now += 1
    expired = call(location)
    assert expired.status == 403 and b"Request has expired" in expired.body


def test_cdn_ranges(fake: FakeSoundCloud) -> None:
    url = fake.media_url(3)
    data = fake.media_bytes(3)
    size = len(data)
    tail = call(url, headers={"Range": "bytes=1000-"})
    assert tail.status == 206 and tail.body == data[1000:]
    assert tail.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    middle = call(url, headers={"Range": "bytes=10-19"})
    assert middle.body == data[10:20] and middle.headers["content-range"] == f"bytes 10-19/{size}"
    suffix = call(url, headers={"Range": "bytes=-5"})
    assert suffix.body == data[-5:]
    beyond = call(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert call(url, headers={"Range": "items=1-2"}).status == 200  # ignorable Range
    head = call(url, "HEAD")
    assert head.status == 200 and head.headers["content-length"] == str(size) and head.body == b""


def test_streams_lists_todays_formats_only(fake: FakeSoundCloud, token: str) -> None:
    streams = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/streams", token=token).json()
    assert set(streams) == {"hls_aac_160_url", "hls_aac_96_url", "preview_mp3_128_url"}
    assert streams["hls_aac_160_url"].startswith(f"{fake.cdn_url}/hls/1/aac_160/playlist.m3u8?Policy=")
    assert streams["hls_aac_96_url"].startswith(f"{fake.cdn_url}/hls/1/aac_96/playlist.m3u8?Policy=")
    playlist = call(streams["hls_aac_160_url"])
    assert playlist.status == 200 and playlist.body.startswith(b"#EXTM3U\n")
    preview = call(streams["preview_mp3_128_url"])
    assert preview.body == fixture_bytes("preview.mp3")
