"""HLS playlists (RFC 8216) as SoundCloud serves them, and every shape the parser refuses.

Pure unit tests of :mod:`soundcloud.media.hls`: text in, values or errors out.
"""

from __future__ import annotations

import math
import pickle
import time
from typing import List, Type

import pytest

from soundcloud.errors import DownloadError
from soundcloud.media.hls import (
    MAX_PLAYLIST_BYTES,
    MAX_SEGMENTS,
    ByteRange,
    EncryptedStreamError,
    InitSection,
    MasterPlaylist,
    MediaPlaylist,
    PlaylistError,
    Segment,
    Variant,
    best_variant,
    parse_playlist,
)

CDN = "https://playback.media-streaming.soundcloud.cloud"
SIGNATURE = "Xq3kz9~Zb1yYc-Sig0nature-Secret7Value__"
POLICY = "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiKiJ9XX0_"
SIGNED = f"Policy={POLICY}&Signature={SIGNATURE}&Key-Pair-Id=APKAJSECRETKEYPAIR"
PLAYLIST_URL = f"{CDN}/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/playlist.m3u8?{SIGNED}"


def signed(path: str) -> str:
    return f"{CDN}/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/{path}?{SIGNED}"


def media(
    body: str, *, head: str = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n", end: str = "#EXT-X-ENDLIST\n"
) -> str:
    return head + body + end


def parse_media(text: str, url: str = PLAYLIST_URL) -> MediaPlaylist:
    playlist = parse_playlist(text, url)
    assert isinstance(playlist, MediaPlaylist)
    return playlist


def parse_master(text: str, url: str = PLAYLIST_URL) -> MasterPlaylist:
    playlist = parse_playlist(text, url)
    assert isinstance(playlist, MasterPlaylist)
    return playlist


def refused(text: str, part: str, error: Type[DownloadError] = PlaylistError, url: str = PLAYLIST_URL) -> str:
    """Parse ``text``, expect ``error`` whose message has ``part``; return the message."""
    with pytest.raises(error) as caught:
        parse_playlist(text, url)
    message = str(caught.value)
    assert part in message, message
    assert SIGNATURE not in message and POLICY not in message, message
    return message


SOUNDCLOUD_PLAYLIST = f"""#EXTM3U
#EXT-X-VERSION:7
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-TARGETDURATION:10
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="{signed('init.mp4')}"
#EXTINF:9.984,
{signed('seg-1.m4s')}
#EXTINF:9.984,
{signed('seg-2.m4s')}
#EXTINF:9.984,
{signed('seg-3.m4s')}
#EXTINF:3.993,
{signed('seg-4.m4s')}
#EXT-X-ENDLIST
"""


# --- SoundCloud's shape ----------------------------------------------------------------------


def test_a_soundcloud_media_playlist_gives_signed_segments_sharing_one_init_section() -> None:
    playlist = parse_media(SOUNDCLOUD_PLAYLIST)

    init = InitSection(signed("init.mp4"), None)
    assert playlist.init == init
    assert playlist.ended is True
    assert playlist.target_duration == 10
    assert playlist.media_sequence == 0
    assert playlist.segments == [
        Segment(signed("seg-1.m4s"), 9.984, 0, None, init),
        Segment(signed("seg-2.m4s"), 9.984, 1, None, init),
        Segment(signed("seg-3.m4s"), 9.984, 2, None, init),
        Segment(signed("seg-4.m4s"), 3.993, 3, None, init),
    ]
    assert playlist.total_duration == pytest.approx(33.945)


def test_signed_queries_are_kept_byte_for_byte() -> None:
    # CloudFront signatures use '~', '-', '_' and percent escapes that must not be re-encoded.
    odd = f"{CDN}/a/seg.m4s?Policy=ab%2Bcd~ef&Signature=x~y_z-%3D&Key-Pair-Id=K1&empty="
    playlist = parse_media(media(f"#EXTINF:4,\n{odd}\n"))
    assert playlist.segments[0].uri == odd


def test_the_repr_shows_no_uri() -> None:
    playlist = parse_media(SOUNDCLOUD_PLAYLIST)
    assert repr(playlist) == "<MediaPlaylist 4 segments, 33.945 s, init=yes>"
    assert "<MasterPlaylist 1 variants>" == repr(MasterPlaylist([Variant("https://x/y", 1, None)]))


# --- URIs ---------------------------------------------------------------------------------


def test_relative_uris_resolve_against_the_playlist_url_without_its_query() -> None:
    text = media(
        '#EXT-X-MAP:URI="init.mp4"\n'
        "#EXTINF:10,\nseg-1.m4s\n"
        "#EXTINF:10,\n../aac_96k/seg-2.m4s?token=abc\n"
        "#EXTINF:10,\n/root/seg-3.m4s\n"
        "#EXTINF:10,\n//other.cdn.example/seg-4.m4s\n"
    )
    playlist = parse_media(text)

    base = f"{CDN}/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/"
    assert playlist.init == InitSection(base + "init.mp4", None)
    assert [segment.uri for segment in playlist.segments] == [
        base + "seg-1.m4s",
        f"{CDN}/3Vx1ZyPlaylist/aac_160k/aac_96k/seg-2.m4s?token=abc",
        f"{CDN}/root/seg-3.m4s",
        "https://other.cdn.example/seg-4.m4s",
    ]


def test_a_fragment_is_dropped_and_the_query_kept() -> None:
    playlist = parse_media(media("#EXTINF:1,\nseg.m4s?a=1&b=2#part\n"))
    assert playlist.segments[0].uri == f"{CDN}/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/seg.m4s?a=1&b=2"


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "data:audio/mp4;base64,AAAAGGZ0eXA=",
        "ftp://cdn.example/seg.m4s",
        "javascript:alert(1)",
        "https:///no-host",
    ],
)
def test_a_segment_uri_that_is_not_http_is_refused(uri: str) -> None:
    message = refused(media(f"#EXTINF:1,\n{uri}\n"), "line 4: segment URI")
    assert "is not an http(s) URL" in message


def test_relative_uris_under_a_non_http_playlist_url_are_refused() -> None:
    refused(
        media("#EXTINF:1,\nseg.m4s\n"), "file:///tmp/seg.m4s is not an http(s) URL", url="file:///tmp/p.m3u8"
    )


def test_an_init_uri_that_is_not_http_is_refused() -> None:
    refused(media('#EXT-X-MAP:URI="file:///etc/passwd"\n#EXTINF:1,\ns.m4s\n'), "line 3: EXT-X-MAP URI")


@pytest.mark.parametrize("uri", ["seg 1.m4s", "seg\x1b[31m.m4s", "seg\x85.m4s"])
def test_a_uri_with_whitespace_or_control_characters_is_refused(uri: str) -> None:
    refused(media(f"#EXTINF:1,\n{uri}\n"), "line 4: segment URI contains whitespace or control characters")


def test_a_uri_with_a_bad_port_or_host_is_refused() -> None:
    refused(
        media("#EXTINF:1,\nhttps://cdn.example:99999/s.m4s\n"),
        "line 4: segment URI https://cdn.example:99999/s.m4s",
    )
    refused(media("#EXTINF:1,\nhttp://[::1/s.m4s\n"), "is not a valid URL")


def test_an_empty_init_uri_is_refused() -> None:
    refused(media('#EXT-X-MAP:URI=""\n#EXTINF:1,\ns.m4s\n'), "line 3: EXT-X-MAP URI is empty")


# --- Byte ranges, init sections, sequence numbers ----------------------------------------


def test_byte_ranges_with_and_without_offsets_continue_in_the_same_resource() -> None:
    text = media(
        '#EXT-X-MAP:URI="all.mp4",BYTERANGE="720@0"\n'
        "#EXT-X-BYTERANGE:1000@720\n#EXTINF:10,\nall.mp4\n"
        "#EXT-X-BYTERANGE:2000\n#EXTINF:10,\nall.mp4\n"
        "#EXTINF:10,\n#EXT-X-BYTERANGE:500\nall.mp4\n"  # the tags of one segment in any order
        "#EXT-X-BYTERANGE:64@0\n#EXTINF:1,\nother.mp4\n"
    )
    playlist = parse_media(text)

    init = InitSection(f"{CDN}/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/all.mp4", ByteRange(0, 720))
    assert playlist.init == init
    assert [segment.byterange for segment in playlist.segments] == [
        ByteRange(720, 1000),
        ByteRange(1720, 2000),
        ByteRange(3720, 500),
        ByteRange(0, 64),
    ]
    assert all(segment.init == init for segment in playlist.segments)


def test_a_map_byterange_without_offset_starts_at_zero() -> None:
    playlist = parse_media(media('#EXT-X-MAP:BYTERANGE="812",URI="init.mp4"\n#EXTINF:1,\ns.m4s\n'))
    assert playlist.init is not None and playlist.init.byterange == ByteRange(0, 812)


def test_a_byterange_without_offset_needs_a_previous_subrange_of_the_same_resource() -> None:
    first = media("#EXT-X-BYTERANGE:100\n#EXTINF:1,\na.mp4\n")
    refused(first, "line 5: EXT-X-BYTERANGE (line 3) has no offset")
    whole_before = media("#EXTINF:1,\na.mp4\n#EXT-X-BYTERANGE:100\n#EXTINF:1,\na.mp4\n")
    refused(whole_before, "previous segment is not a sub-range of the same resource")
    other_resource = media(
        "#EXT-X-BYTERANGE:100@0\n#EXTINF:1,\na.mp4\n#EXT-X-BYTERANGE:100\n#EXTINF:1,\nb.mp4\n"
    )
    refused(other_resource, "line 8: EXT-X-BYTERANGE (line 6) has no offset")


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("", "EXT-X-BYTERANGE without a value"),
        ("0@10", "EXT-X-BYTERANGE is empty (length 0)"),
        ("-5@0", "EXT-X-BYTERANGE length '-5' is not a decimal integer"),
        ("10@", "EXT-X-BYTERANGE offset '' is not a decimal integer"),
        ("1e3@0", "EXT-X-BYTERANGE length '1e3'"),
        ("18446744073709551616@0", "EXT-X-BYTERANGE length '18446744073709551616' is not"),  # 2**64
    ],
)
def test_malformed_byteranges_are_refused(value: str, part: str) -> None:
    refused(media(f"#EXT-X-BYTERANGE:{value}\n#EXTINF:1,\na.mp4\n"), f"line 3: {part}")


def test_the_largest_decimal_integer_is_accepted() -> None:
    largest = 2**64 - 1
    playlist = parse_media(
        media(f"#EXT-X-MEDIA-SEQUENCE:{largest}\n#EXT-X-BYTERANGE:{largest}@{largest}\n#EXTINF:1,\na\n")
    )
    assert playlist.segments[0].sequence == largest
    assert playlist.segments[0].byterange == ByteRange(largest, largest)


def test_two_byteranges_for_one_segment_are_refused() -> None:
    refused(
        media("#EXT-X-BYTERANGE:1@0\n#EXT-X-BYTERANGE:1@1\n#EXTINF:1,\na\n"),
        "line 4: a second EXT-X-BYTERANGE",
    )


def test_segments_are_numbered_from_the_media_sequence() -> None:
    text = media("#EXT-X-MEDIA-SEQUENCE:41\n#EXTINF:2,\na\n#EXTINF:2,\nb\n#EXTINF:2,\nc\n")
    playlist = parse_media(text)
    assert playlist.media_sequence == 41
    assert [segment.sequence for segment in playlist.segments] == [41, 42, 43]


def test_a_media_sequence_after_the_first_segment_or_twice_is_refused() -> None:
    refused(
        media("#EXTINF:2,\na\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2,\nb\n"),
        "line 5: EXT-X-MEDIA-SEQUENCE after the first segment",
    )
    refused(
        media("#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2,\nb\n"),
        "line 4: a second EXT-X-MEDIA-SEQUENCE (line 3)",
    )


def test_the_same_map_repeated_is_accepted_and_a_different_one_refused() -> None:
    repeated = media(
        '#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1,\na\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1,\nb\n'
    )
    assert len(parse_media(repeated).segments) == 2
    other_uri = media('#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1,\na\n#EXT-X-MAP:URI="j.mp4"\n#EXTINF:1,\nb\n')
    refused(other_uri, "line 6: a second EXT-X-MAP, different from line 3: only one init section per stream")
    other_range = media(
        '#EXT-X-MAP:URI="i.mp4",BYTERANGE="10@0"\n#EXTINF:1,\na\n#EXT-X-MAP:URI="i.mp4",BYTERANGE="10@10"\n'
    )
    refused(other_range, "a second EXT-X-MAP, different from line 3")


def test_a_map_after_segments_without_one_is_refused() -> None:
    refused(
        media('#EXTINF:1,\na\n#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1,\nb\n'),
        "line 5: EXT-X-MAP after segments that have no init section",
    )


def test_a_map_without_uri_is_refused() -> None:
    refused(media('#EXT-X-MAP:BYTERANGE="10@0"\n#EXTINF:1,\na\n'), "line 3: EXT-X-MAP without a URI")


def test_a_playlist_without_map_has_no_init_section() -> None:
    playlist = parse_media(media("#EXTINF:1,\na.ts\n"))
    assert playlist.init is None and playlist.segments[0].init is None


# --- Durations ----------------------------------------------------------------------------


def test_extinf_durations_may_be_integers_or_decimals_with_or_without_title() -> None:
    text = media("#EXTINF:10,\na\n#EXTINF:4.5,Intro, part 1\nb\n#EXTINF:3\nc\n#EXTINF:0.000,\nd\n")
    playlist = parse_media(text)
    assert [segment.duration for segment in playlist.segments] == [10.0, 4.5, 3.0, 0.0]
    assert playlist.total_duration == 17.5


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "1e3", "1_0", "", "1.2.3", "٣", "9" * 16])
def test_an_extinf_duration_that_is_not_a_non_negative_decimal_is_refused(value: str) -> None:
    refused(media(f"#EXTINF:{value},\na\n"), "line 3: EXTINF")


def test_two_extinf_for_one_segment_are_refused() -> None:
    refused(media("#EXTINF:1,\n#EXTINF:2,\na\n"), "line 4: a second EXTINF for one segment (line 3)")


def test_a_missing_target_duration_is_the_longest_rounded_extinf() -> None:
    text = media("#EXTINF:9.4,\na\n#EXTINF:6.6,\nb\n", head="#EXTM3U\n")
    assert parse_media(text).target_duration == 9
    assert parse_media(media("#EXTINF:9.5,\na\n", head="#EXTM3U\n")).target_duration == 10


def test_a_bad_or_repeated_target_duration_is_refused() -> None:
    refused(
        media("#EXTINF:1,\na\n", head="#EXTM3U\n#EXT-X-TARGETDURATION:ten\n"),
        "line 2: EXT-X-TARGETDURATION 'ten' is not a decimal integer",
    )
    refused(media("#EXT-X-TARGETDURATION:10\n#EXTINF:1,\na\n"), "line 3: a second EXT-X-TARGETDURATION")


# --- Lines, comments, unknown tags --------------------------------------------------------


def test_crlf_line_ends_a_byte_order_mark_blank_lines_and_comments_are_accepted() -> None:
    text = "\ufeff" + SOUNDCLOUD_PLAYLIST.replace("\n", "\r\n").replace(
        "#EXT-X-VERSION:7\r\n",
        "#EXT-X-VERSION:7\r\n\r\n# a comment\r\n#ext-x-endlist is a comment too\r\n   \r\n",
    )
    playlist = parse_media(text)
    assert [segment.uri for segment in playlist.segments] == [signed(f"seg-{n}.m4s") for n in range(1, 5)]
    assert playlist.init == InitSection(signed("init.mp4"), None)


def test_a_lone_carriage_return_does_not_end_a_line() -> None:
    refused(SOUNDCLOUD_PLAYLIST.replace("\n", "\r"), "not an HLS playlist")


def test_unknown_tags_and_unused_known_tags_are_ignored() -> None:
    text = media(
        "#EXT-X-ALLOW-CACHE:NO\n#EXT-X-PROGRAM-DATE-TIME:2025-11-15T00:00:00Z\n"
        '#EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXT-X-SOUNDCLOUD-SOMETHING:A=1,B="x,y"\n'
        "#EXT-X-START:TIME-OFFSET=0\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1,\na\n#EXT-X-DISCONTINUITY\n#EXTINF:1,\nb\n"
    )
    assert len(parse_media(text).segments) == 2


def test_a_text_that_does_not_start_with_extm3u_is_refused() -> None:
    refused("<html><body>403 Forbidden</body></html>", "not an HLS playlist (the first line is not #EXTM3U)")
    refused("\n#EXTM3U\n#EXTINF:1,\na\n#EXT-X-ENDLIST\n", "first line is not #EXTM3U")
    refused("", "first line is not #EXTM3U")


def test_a_text_longer_than_the_limit_is_refused() -> None:
    refused("#EXTM3U\n" + "#" * MAX_PLAYLIST_BYTES, f"longer than {MAX_PLAYLIST_BYTES} bytes")


# --- Attribute lists ----------------------------------------------------------------------


def test_quoted_attribute_values_may_contain_commas_and_equals_signs() -> None:
    text = (
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:CODECS="mp4a.40.2,mp4a.40.5",BANDWIDTH=160000,NAME="a=b, c"\n'
        "hi.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=96000, CODECS="mp4a.40.2", RESOLUTION=0x0\n'
        "lo.m3u8\n"
    )
    master = parse_master(text)
    assert [(v.bandwidth, v.codecs) for v in master.variants] == [
        (160000, "mp4a.40.2,mp4a.40.5"),
        (96000, "mp4a.40.2"),
    ]


def test_an_encryption_key_in_a_quoted_uri_with_commas_still_counts() -> None:
    text = media('#EXT-X-KEY:URI="skd://a,b,METHOD=NONE",METHOD=SAMPLE-AES\n#EXTINF:1,\na\n')
    refused(text, "METHOD=SAMPLE-AES", EncryptedStreamError)


@pytest.mark.parametrize(
    ("attributes", "part"),
    [
        ('URI="init.mp4', "at character 5: the quoted value of URI is not closed"),
        ('URI="init.mp4"BYTERANGE="1@0"', "at character 15: expected ',' after the quoted value of URI"),
        ('URI="init.mp4",', "a trailing comma"),
        ('URI="init.mp4",BYTERANGE', "expected NAME=value"),
        ('uri="init.mp4"', "an attribute name is not [A-Z0-9-]+"),
        ('="init.mp4"', "an attribute name is not [A-Z0-9-]+"),
        ('URI="a.mp4",URI="b.mp4"', "attribute URI appears twice"),
        ('URI="a.mp4",BYTERANGE=', "the value of BYTERANGE is empty or malformed"),
        ('URI="a.mp4",BYTERANGE=1"0', "the value of BYTERANGE is empty or malformed"),
    ],
)
def test_a_malformed_attribute_list_is_refused_with_its_line(attributes: str, part: str) -> None:
    message = refused(
        media(f"#EXT-X-MAP:{attributes}\n#EXTINF:1,\na\n"), "line 3: malformed attribute list in EXT-X-MAP"
    )
    assert part in message


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["SAMPLE-AES", "AES-128", "SAMPLE-AES-CTR"])
def test_an_encrypted_stream_is_refused_as_drm(method: str) -> None:
    text = media(
        f'#EXT-X-KEY:METHOD={method},URI="skd://{SIGNATURE}",KEYFORMAT="com.apple.streamingkeydelivery"\n'
        "#EXTINF:1,\na\n"
    )
    message = refused(
        text,
        f"line 3: the stream is encrypted (EXT-X-KEY METHOD={method}, DRM) and cannot be downloaded",
        EncryptedStreamError,
    )
    assert (
        "playback.media-streaming.soundcloud.cloud/3Vx1ZyPlaylist/aac_160k/f0e8c1d2/playlist.m3u8?..."
        in message
    )


def test_a_key_after_segments_is_still_refused_and_encryption_is_no_playlist_error() -> None:
    with pytest.raises(EncryptedStreamError) as caught:
        parse_playlist(
            media('#EXTINF:1,\na\n#EXT-X-KEY:METHOD=AES-128,URI="k"\n#EXTINF:1,\nb\n'), PLAYLIST_URL
        )
    assert isinstance(caught.value, DownloadError) and not isinstance(caught.value, PlaylistError)


def test_a_key_without_method_is_refused() -> None:
    refused(media('#EXT-X-KEY:URI="k"\n#EXTINF:1,\na\n'), "line 3: EXT-X-KEY without a METHOD")


def test_a_master_session_key_is_refused_as_drm() -> None:
    text = (
        '#EXTM3U\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://k"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n'
    )
    refused(
        text, "line 2: the stream is encrypted (EXT-X-SESSION-KEY METHOD=SAMPLE-AES", EncryptedStreamError
    )


def test_a_playlist_without_endlist_is_refused_as_unfinished() -> None:
    refused(media("#EXTINF:1,\na\n", end=""), "not a finished (VOD) playlist")
    refused(media("#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:1,\na\n", end=""), "no EXT-X-ENDLIST")


def test_a_segment_uri_without_extinf_is_refused() -> None:
    refused(media("#EXTINF:1,\na\nb\n"), "line 5: a URI line without an EXTINF")


def test_a_trailing_extinf_or_byterange_without_uri_is_refused() -> None:
    refused(
        "#EXTM3U\n#EXTINF:1,\na\n#EXT-X-ENDLIST\n#EXTINF:1,\n",
        "line 5: EXTINF is not followed by a segment URI",
    )
    refused(
        "#EXTM3U\n#EXTINF:1,\na\n#EXT-X-ENDLIST\n#EXT-X-BYTERANGE:5@0\n",
        "line 5: EXT-X-BYTERANGE is not followed",
    )


def test_a_playlist_without_segments_is_refused() -> None:
    refused(media(""), "the playlist has no segments")
    refused("#EXTM3U\n", "the playlist has no segments")


def test_more_than_max_segments_are_refused() -> None:
    text = media("#EXTINF:1,\na\n" * (MAX_SEGMENTS + 1))
    refused(text, f"line {3 + 2 * MAX_SEGMENTS + 1}: more than {MAX_SEGMENTS} segments")


def test_an_i_frames_only_playlist_is_refused() -> None:
    refused(media("#EXT-X-I-FRAMES-ONLY\n#EXTINF:1,\na\n"), "line 3: an I-frames-only playlist")


@pytest.mark.parametrize("tag", ["#EXTINF", "#EXT-X-MAP", "#EXT-X-KEY:", "#EXT-X-TARGETDURATION"])
def test_a_tag_without_its_value_is_refused(tag: str) -> None:
    refused(media(f"{tag}\n#EXTINF:1,\na\n"), f"line 3: {tag.strip('#:')} without a value")


def test_master_and_media_tags_mixed_are_refused() -> None:
    refused(
        media("#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"),
        "line 3: master playlist tag EXT-X-STREAM-INF in a media playlist (line 2)",
    )
    text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXTINF:1,\na\n#EXT-X-ENDLIST\n"
    refused(text, "line 4: media playlist tag EXTINF in a master playlist (line 2)")


# --- Master playlists ---------------------------------------------------------------------

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",DEFAULT=YES,URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=96000,AVERAGE-BANDWIDTH=90000,CODECS="mp4a.40.2"
aac_96k/playlist.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080
video/playlist.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2"
https://cdn.example/aac_160k/playlist.m3u8?Signature=abc
#EXT-X-STREAM-INF:BANDWIDTH=320000,CODECS="opus"
opus/playlist.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=80000,URI="iframes.m3u8"
"""


def test_a_master_playlist_lists_its_variants_in_order() -> None:
    master = parse_master(MASTER, "https://cdn.example/track/master.m3u8")
    assert master.variants == [
        Variant("https://cdn.example/track/aac_96k/playlist.m3u8", 96000, "mp4a.40.2"),
        Variant("https://cdn.example/track/video/playlist.m3u8", 5000000, "avc1.640028,mp4a.40.2"),
        Variant("https://cdn.example/aac_160k/playlist.m3u8?Signature=abc", 160000, "mp4a.40.2"),
        Variant("https://cdn.example/track/opus/playlist.m3u8", 320000, "opus"),
    ]


def test_the_best_variant_is_the_highest_bandwidth_of_aac_only_codecs() -> None:
    master = parse_master(MASTER, "https://cdn.example/track/master.m3u8")
    assert best_variant(master) == Variant(
        "https://cdn.example/aac_160k/playlist.m3u8?Signature=abc", 160000, "mp4a.40.2"
    )


def test_variants_without_codecs_count_and_the_first_wins_a_tie() -> None:
    master = MasterPlaylist(
        [
            Variant("https://x/a", 128000, None),
            Variant("https://x/b", 256000, "mp4a.40.5, mp4a.40.2"),
            Variant("https://x/c", 256000, None),
            Variant("https://x/d", 900000, "mp3"),
        ]
    )
    assert best_variant(master).uri == "https://x/b"


def test_no_aac_variant_is_refused() -> None:
    master = MasterPlaylist(
        [Variant("https://x/a", 1, "opus"), Variant("https://x/b", 2, "avc1.4d401f,mp4a.40.2")]
    )
    with pytest.raises(
        PlaylistError,
        match=r"none of the 2 variant streams of the master playlist is AAC audio \(CODECS: 'avc1.4d401f,mp4a.40.2', 'opus'\)",
    ):
        best_variant(master)
    with pytest.raises(PlaylistError, match="none of the 0 variant streams"):
        best_variant(MasterPlaylist([]))


def test_master_playlist_refusals() -> None:
    refused(
        '#EXTM3U\n#EXT-X-STREAM-INF:CODECS="mp4a.40.2"\nv.m3u8\n',
        "line 2: EXT-X-STREAM-INF without a BANDWIDTH",
    )
    refused(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=high\nv.m3u8\n",
        "line 2: EXT-X-STREAM-INF BANDWIDTH 'high' is not a decimal integer",
    )
    refused(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", "line 2: EXT-X-STREAM-INF is not followed by a URI line"
    )
    refused(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv\n",
        "line 3: EXT-X-STREAM-INF on line 2 has no URI line",
    )
    refused(
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="a",URI="a.m3u8"\n',
        "a master playlist without EXT-X-STREAM-INF variants",
    )
    refused(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nfile:///etc/passwd\n",
        "line 3: variant URI file:///etc/passwd is not an http(s) URL",
    )


# --- Size, speed, secrets -----------------------------------------------------------------


def test_a_thousand_segment_playlist_parses_quickly() -> None:
    body = "".join(f"#EXTINF:10.005333,\n{signed(f'seg-{n}.m4s')}\n" for n in range(1, 1001))
    text = media(f'#EXT-X-MAP:URI="{signed("init.mp4")}"\n' + body)

    started = time.perf_counter()
    playlist = parse_media(text)
    elapsed = time.perf_counter() - started

    assert len(playlist.segments) == 1000
    assert playlist.segments[-1] == Segment(signed("seg-1000.m4s"), 10.005333, 999, None, playlist.init)
    assert math.isclose(playlist.total_duration, 10005.333, rel_tol=1e-12)
    assert elapsed < 1.0, f"1000 segments took {elapsed:.3f} s"


SIGNED_FAILURES: List[str] = [
    media(f"#EXTINF:1,\n{signed('seg.m4s')}\n{signed('orphan.m4s')}\n"),
    media(f"#EXTINF:1,\n{signed('seg.m4s')} trailing\n"),
    media(
        f'#EXT-X-MAP:URI="{signed("i.mp4")}"\n#EXTINF:1,\n{signed("a")}\n#EXT-X-MAP:URI="{signed("j.mp4")}"\n'
    ),
    media(f'#EXT-X-MAP:URI="{signed("i.mp4")}",BYTERANGE="x"\n'),
    media(f'#EXT-X-MAP:URI="{signed("i.mp4")}\n'),
    media(f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{signed("key")}"\n'),
    media(f"#EXTINF:1,\n{signed('a')}\n", end=""),
    media(f"#EXTINF:1,\nhttps://cdn.example:0/s.m4s?{SIGNED}\n"),
    media(f"#EXTINF:1,\nfile:///s.m4s?{SIGNED}\n"),
    media(f"#EXTINF:1,\nhttps://user:{SIGNATURE}@cdn.example/s\n#EXTINF:nan,\na\n"),
    f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS={SIGNATURE}\n",
    "not a playlist " + SIGNED,
]


@pytest.mark.parametrize("text", SIGNED_FAILURES)
def test_errors_never_show_a_signature(text: str) -> None:
    with pytest.raises(DownloadError) as caught:
        parse_playlist(text, PLAYLIST_URL)
    shown = [str(caught.value), repr(caught.value), str(pickle.loads(pickle.dumps(caught.value)))]
    for message in shown:
        assert (
            SIGNATURE not in message and POLICY not in message and "APKAJSECRETKEYPAIR" not in message
        ), message
    assert "3Vx1ZyPlaylist/aac_160k/f0e8c1d2/playlist.m3u8?..." in shown[0]


def test_errors_pickle_with_their_type_and_message() -> None:
    with pytest.raises(PlaylistError) as caught:
        parse_playlist(media(""), PLAYLIST_URL)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is PlaylistError and str(copy) == str(caught.value)


def test_an_unparsable_playlist_url_is_not_shown() -> None:
    refused("nope", "HLS playlist (an unparsable URL): not an HLS playlist", url="https://[bad/" + SIGNED)


def test_a_long_url_is_shortened_in_messages() -> None:
    long_url = "https://cdn.example/" + "a" * 500 + "/p.m3u8"
    message = refused("nope", "...: not an HLS playlist", url=long_url)
    assert len(message) < 250
