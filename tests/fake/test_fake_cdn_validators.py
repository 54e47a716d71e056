"""The fake CDN's validators, over real sockets with http.client: a strong ETag per object, a
Last-Modified (the track's creation) a Date at least a second later, and If-Range honoured
like a real CDN (RFC 9110 13.1.5 and 13.2.2): a Range is served only when the If-Range
validator matches exactly (a strong ETag, or the Last-Modified date); otherwise the whole
object comes back with 200."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from support.fake_calls import call

from soundcloud.testing import FakeSoundCloud


def test_audio_carries_a_strong_etag_and_last_modified(fake: FakeSoundCloud) -> None:
    reply = call(fake.media_url(3))
    etag = reply.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert etag != call(fake.media_url(4)).headers["etag"]
    assert call(fake.media_url(3), headers={"Range": "bytes=5-"}).headers["etag"] == etag
    modified = parsedate_to_datetime(reply.headers["last-modified"])
    date = parsedate_to_datetime(reply.headers["date"])
    assert reply.headers["last-modified"].endswith(" GMT")
    assert (date - modified).total_seconds() >= 1  # strong by RFC 9110 8.8.2.2
    track = fake.add_track(title="new")
    assert "last-modified" in call(fake.media_url(track["id"])).headers


def test_if_range_with_the_etag(fake: FakeSoundCloud) -> None:
    url = fake.media_url(3)
    data = fake.media_bytes(3)
    etag = call(url).headers["etag"]
    same = call(url, headers={"Range": "bytes=100-", "If-Range": etag})
    assert same.status == 206 and same.body == data[100:]
    other = call(url, headers={"Range": "bytes=100-", "If-Range": '"something-else"'})
    assert other.status == 200 and other.body == data
    assert "content-range" not in other.headers
    weak = call(url, headers={"Range": "bytes=100-", "If-Range": "W/" + etag})
    assert weak.status == 200 and weak.body == data  # weak tags never match for If-Range
    assert call(url, headers={"If-Range": '"something-else"'}).status == 200  # no Range: ignored


def test_if_range_with_the_date(fake: FakeSoundCloud) -> None:
    url = fake.media_url(3)
    data = fake.media_bytes(3)
    modified = call(url).headers["last-modified"]
    same = call(url, headers={"Range": "bytes=-10", "If-Range": modified})
    assert same.status == 206 and same.body == data[-10:]
    other = call(url, headers={"Range": "bytes=-10", "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert other.status == 200 and other.body == data


def test_if_range_is_evaluated_before_an_unsatisfiable_range(fake: FakeSoundCloud) -> None:
    url = fake.media_url(3)
    size = len(fake.media_bytes(3))
    etag = call(url).headers["etag"]
    matched = call(url, headers={"Range": f"bytes={size}-", "If-Range": etag})
    assert matched.status == 416 and matched.headers["content-range"] == f"bytes */{size}"
    assert matched.headers["etag"] == etag
    changed = call(url, headers={"Range": f"bytes={size}-", "If-Range": '"old"'})
    assert changed.status == 200 and len(changed.body) == size
