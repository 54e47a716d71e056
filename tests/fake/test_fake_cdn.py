"""The fake SoundCloud's streaming and CDN origin, over real sockets with http.client: the
API's stream and download redirects to signed CDN URLs (sent without credentials), the
CDN's refusal of tampered, unsigned and expired URLs, byte ranges, HEAD, and the
``/streams`` HLS playlists and previews.
"""

from __future__ import annotations

from support.fake_calls import Clock, call

import soundcloud.testing
from soundcloud.testing import FakeSoundCloud


def test_stream_redirects_to_signed_cdn_url(fake: FakeSoundCloud, token: str) -> None:
    reply = call(f"{fake.api_url}/tracks/1/stream", token=token)
    assert reply.status == 302
    location = reply.headers["location"]
    assert location.startswith(f"{fake.cdn_url}/media/1.mp3?") and "sig=" in location
    assert reply.json() == {"status": "302 - Found", "location": location}
    audio = call(location)
    assert audio.status == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.headers["accept-ranges"] == "bytes"
    assert audio.body == fake.media_bytes(1) and len(audio.body) == soundcloud.testing.MEDIA_SIZE
    assert audio.body != fake.media_bytes(2)
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
    assert reply.status == 302 and reply.headers["location"].startswith(f"{fake.cdn_url}/media/")


def test_cdn_rejects_tampered_and_expired_urls(timed: FakeSoundCloud, clock: Clock) -> None:
    location = timed.media_url(1)
    assert call(location).status == 200
    tampered = location.replace("/media/1.mp3", "/media/2.mp3")
    denied = call(tampered)
    assert denied.status == 403 and denied.headers["content-type"] == "text/xml"
    assert call(f"{timed.cdn_url}/media/1.mp3").status == 403
    clock.now += soundcloud.testing.CDN_URL_LIFETIME + 1
    assert call(location).status == 403


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


def test_streams_and_hls(fake: FakeSoundCloud, token: str) -> None:
    streams = call(f"{fake.api_url}/tracks/soundcloud:tracks:1/streams", token=token).json()
    for key in ("hls_aac_160_url", "hls_mp3_128_url", "preview_mp3_128_url"):
        assert streams[key].startswith(fake.cdn_url)
    playlist = call(streams["hls_aac_160_url"])
    assert playlist.status == 200 and playlist.body.startswith(b"#EXTM3U")
    segment = [line for line in playlist.body.decode().splitlines() if line.startswith("http")][0]
    assert call(segment).body == fake.media_bytes(1)
    preview = call(streams["preview_mp3_128_url"])
    assert preview.body == fake.media_bytes(1)[: soundcloud.testing.PREVIEW_SIZE]
