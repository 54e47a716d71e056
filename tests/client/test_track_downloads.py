"""Client.download of a track as SoundCloud serves it today, against the fake: originals,
AAC HLS remuxed to a tagged M4A (checked with PyAV and mutagen), previews only when allowed,
expired segment URLs, resume without mixing, DRM, and every playlist shape."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Tuple

import pytest

import soundcloud
from soundcloud.errors import DownloadError, ProtocolError
from soundcloud.media.hls import EncryptedStreamError
from support.audio import decodable_samples, expected_seconds, read_tags

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

av = pytest.importorskip("av")
mutagen_mp4 = pytest.importorskip("mutagen.mp4")

TIMEOUT = 10.0
RATE = 44100


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


def decode(path: Any) -> Tuple[str, int, int, int]:
    """(codec, sample rate, channels, decoded samples per channel), decoding every packet."""
    with av.open(path if isinstance(path, io.BytesIO) else str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.sample_rate, stream.codec_context.channels, samples


def top_level_boxes(data: bytes) -> List[str]:
    kinds, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        kinds.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return kinds


def assert_whole_m4a(path: Path, segments: int, rendition: str = "aac_160") -> None:
    codec, rate, channels, samples = decode(path)
    assert (codec, rate, channels) == ("aac", RATE, 2)
    assert samples in decodable_samples(rendition, segments)
    boxes = top_level_boxes(path.read_bytes())
    assert boxes[:1] == ["ftyp"] and boxes.index("moov") < boxes.index("mdat")
    assert "moof" not in boxes
    assert abs(read_tags(path).length - expected_seconds(rendition, segments)) < 0.01


def cdn_paths(fake: "FakeSoundCloud") -> List[str]:
    return [r.path for r in fake.requests if r.server == "cdn"]


def api_paths(fake: "FakeSoundCloud") -> List[str]:
    return [r.path for r in fake.requests if r.server == "api"]


def segment_fetches(fake: "FakeSoundCloud") -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for path in cdn_paths(fake):
        if path.endswith(".m4s"):
            name = path.rsplit("/", 1)[-1]
            counts[name] = counts.get(name, 0) + 1
    return counts


# -- the stream, remuxed ------------------------------------------------------------------------


def test_a_track_is_its_whole_aac_stream_as_a_tagged_m4a(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Night Drive", genre="Synthwave", created_at="2024/03/09 21:00:00 +0000")
    target = tmp_path / "night.m4a"
    seen: List[Tuple[int, Any]] = []
    size = client.download(track["id"], target, progress=lambda done, total: seen.append((done, total)))
    assert size == target.stat().st_size
    assert_whole_m4a(target, 4)
    tags = mutagen_mp4.MP4(str(target)).tags
    assert tags["\xa9nam"] == ["Night Drive"]
    assert tags["\xa9ART"] == [track["user"]["username"]]
    assert tags["\xa9gen"] == ["Synthwave"]
    assert tags["\xa9day"] == ["2024-03-09"]
    assert tags["\xa9cmt"] == [track["permalink_url"]]
    cover = tags["covr"][0]
    assert cover.imageformat == mutagen_mp4.MP4Cover.FORMAT_JPEG and bytes(cover)[:3] == b"\xff\xd8\xff"
    # Nothing but the file is left, and the token never reached the CDN.
    assert sorted(os.listdir(tmp_path)) == ["night.m4a"]
    assert not fake.cdn_authorization_seen
    assert seen[-1] == (size, size)
    assert any(path.endswith("/streams") for path in api_paths(fake))
    assert not any(path.endswith("/stream") for path in api_paths(fake))


def test_into_a_directory_the_file_is_named_after_the_title(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="AC/DC: Live?")
    client.download(track["urn"], tmp_path)
    assert os.listdir(tmp_path) == ["AC_DC_ Live_.m4a"]
    assert_whole_m4a(tmp_path / "AC_DC_ Live_.m4a", 4)


def test_a_binary_file_object_gets_the_m4a(fake: "FakeSoundCloud", client: soundcloud.Client) -> None:
    track = fake.add_track(title="To memory")
    buffer = io.BytesIO()
    size = client.download(soundcloud.Resource(track), buffer)
    assert size == len(buffer.getvalue())
    buffer.seek(0)
    codec, rate, channels, samples = decode(buffer)
    assert (codec, rate, channels) == ("aac", RATE, 2) and samples in decodable_samples("aac_160", 4)


@pytest.mark.parametrize("concurrency", [1, 2, 8])
def test_segments_are_written_in_order_whatever_the_concurrency(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path, concurrency: int
) -> None:
    track = fake.add_track(title="Order")
    fake.set_stream(track["id"], segments=24)
    client.download(track["id"], tmp_path / "o.m4a", concurrency=concurrency)
    assert_whole_m4a(tmp_path / "o.m4a", 24)
    assert sum(segment_fetches(fake).values()) == 24


@pytest.mark.parametrize(
    "shape",
    [
        {"segments": 1},
        {"master": True},
        {"byteranges": True},
        {"absolute_uris": False},
        {"styp": True},
        {"master": True, "byteranges": True, "absolute_uris": False},
    ],
    ids=["one-segment", "master", "byteranges", "relative-uris", "styp", "all-at-once"],
)
def test_every_playlist_shape(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path, shape: Dict[str, Any]
) -> None:
    track = fake.add_track(title="Shape")
    fake.set_stream(track["id"], **shape)
    client.download(track["id"], tmp_path / "s.m4a")
    assert_whole_m4a(tmp_path / "s.m4a", int(shape.get("segments", 4)))
    assert not fake.cdn_authorization_seen


def test_a_thousand_segments(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="Long mix")
    fake.set_stream(track["id"], segments=1000)
    client.download(track["id"], tmp_path / "mix.m4a", quality="aac_96", concurrency=8)
    assert_whole_m4a(tmp_path / "mix.m4a", 1000, "aac_96")


def test_quality_picks_the_rendition(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="Q")
    client.download(track["id"], tmp_path / "96.m4a", quality="aac_96")
    assert all("/aac_96/" in path for path in cdn_paths(fake) if path.endswith((".m4s", ".m3u8", ".mp4")))
    fake.set_stream(track["id"], renditions=("aac_96",))
    client.download(track["id"], tmp_path / "best.m4a")  # best falls back to 96
    assert_whole_m4a(tmp_path / "best.m4a", 4, "aac_96")
    with pytest.raises(DownloadError, match="hls_aac_160_url"):
        client.download(track["id"], tmp_path / "160.m4a", quality="aac_160")
    assert not (tmp_path / "160.m4a").exists()
    with pytest.raises(ValueError, match="quality"):
        client.download(track["id"], tmp_path / "x.m4a", quality="lossless")


# -- originals and previews ---------------------------------------------------------------------


def test_a_downloadable_track_gives_its_original(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="Stems", downloadable=True)
    client.download(track["id"], tmp_path / "stems.wav")
    assert (tmp_path / "stems.wav").read_bytes() == fake.media_bytes(track["id"])
    # Into a directory, the extension is the original's.
    (tmp_path / "dir").mkdir()
    client.download(track["id"], tmp_path / "dir")
    names = os.listdir(tmp_path / "dir")
    assert len(names) == 1 and names[0].startswith("Stems.") and not names[0].endswith(".m4a")
    # The stream instead, when asked.
    client.download(track["id"], tmp_path / "stream.m4a", quality="stream")
    assert_whole_m4a(tmp_path / "stream.m4a", 4)
    assert not fake.cdn_authorization_seen


def test_original_only_when_there_is_one(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="Closed")
    with pytest.raises(DownloadError, match="no original file"):
        client.download(track["id"], tmp_path / "o.wav", quality="original")
    assert os.listdir(tmp_path) == []


def test_a_preview_only_track_is_an_error_without_allow_preview(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Go plus", access="preview")
    with pytest.raises(DownloadError, match="30-second preview") as raised:
        client.download(track["id"], tmp_path)
    assert "allow_preview" in str(raised.value)
    assert os.listdir(tmp_path) == []
    assert not any(path.endswith((".mp3", ".m4s")) for path in cdn_paths(fake))
    client.download(track["id"], tmp_path, allow_preview=True)
    (name,) = os.listdir(tmp_path)
    with av.open(str(tmp_path / name)) as container:
        assert 29.0 <= container.duration / 1e6 <= 31.0


def test_the_legacy_stream_path_is_a_preview_and_refused(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Legacy")
    with pytest.raises(DownloadError, match="30-second preview"):
        client.download(f"/tracks/{track['urn']}/stream", tmp_path / "l.mp3")
    assert os.listdir(tmp_path) == []
    client.download(f"/tracks/{track['urn']}/stream", tmp_path / "l.mp3", allow_preview=True)
    with av.open(str(tmp_path / "l.mp3")) as container:
        assert container.duration / 1e6 < 31.0


def test_a_soundcloud_url_resolves_to_the_track(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="Resolved")
    client.download(track["permalink_url"], tmp_path / "r.m4a")
    assert_whole_m4a(tmp_path / "r.m4a", 4)
    with pytest.raises(ValueError, match="download_all"):
        client.download(fake.user["permalink_url"], tmp_path / "u.m4a")


def test_a_streams_answer_is_downloaded_as_the_stream_it_lists(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Listing")
    streams = client.get(f"/tracks/{track['urn']}/streams")
    client.download(streams, tmp_path / "l.m4a")
    assert_whole_m4a(tmp_path / "l.m4a", 4)
    client.download(f"/tracks/{track['urn']}/streams", tmp_path / "p.m4a")
    assert_whole_m4a(tmp_path / "p.m4a", 4)


# -- expired URLs, resume, refusals -------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 410])
def test_an_expired_segment_url_fetches_streams_again_and_continues(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path, status: int
) -> None:
    track = fake.add_track(title="Expiring")
    fake.set_stream(track["id"], segments=6)
    fake.break_segment(track["id"], 3, status=status)
    client.download(track["id"], tmp_path / "e.m4a", concurrency=1)
    assert_whole_m4a(tmp_path / "e.m4a", 6)
    assert sum(path.endswith("/streams") for path in api_paths(fake)) == 2
    fetched = segment_fetches(fake)
    # Segments before the expired one are not fetched again; the expired one twice.
    assert fetched["seg-1.m4s"] == 1 and fetched["seg-3.m4s"] == 1 and fetched["seg-4.m4s"] == 2


def test_urls_that_expired_before_the_download_started(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Stale")
    streams = client.get(f"/tracks/{track['urn']}/streams")
    fake.expire_stream_urls()
    client.download(streams, tmp_path / "s.m4a")
    assert_whole_m4a(tmp_path / "s.m4a", 4)


def test_urls_that_keep_expiring_give_up_and_keep_what_they_have(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Always expired")
    fake.set_stream(track["id"], segments=6)
    fake.break_segment(track["id"], 2, status=403, times=50)
    with pytest.raises(DownloadError, match="kept expiring"):
        client.download(track["id"], tmp_path / "a.m4a", concurrency=1)
    assert not (tmp_path / "a.m4a").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.m4a.part", "a.m4a.part.json"]
    assert sum(path.endswith("/streams") for path in api_paths(fake)) <= 5


def test_an_interrupted_download_resumes_without_fetching_again(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Resume me")
    fake.set_stream(track["id"], segments=8)
    fake.break_segment(track["id"], 5, truncate=True)
    with pytest.raises(ProtocolError):
        client.download(track["id"], tmp_path / "r.m4a", concurrency=1)
    assert not (tmp_path / "r.m4a").exists() and (tmp_path / "r.m4a.part").exists()
    before = segment_fetches(fake)
    client.download(track["id"], tmp_path / "r.m4a", concurrency=3)
    after = segment_fetches(fake)
    assert_whole_m4a(tmp_path / "r.m4a", 8)
    # The five complete segments came from the .part file, not the CDN.
    assert all(after.get(f"seg-{n}.m4s", 0) == before.get(f"seg-{n}.m4s", 0) for n in range(1, 6))
    assert sorted(os.listdir(tmp_path)) == ["r.m4a"]


def test_another_track_or_a_changed_stream_never_mixes_in(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    first = fake.add_track(title="First")
    second = fake.add_track(title="Second")
    fake.set_stream(first["id"], segments=8)
    fake.break_segment(first["id"], 5, truncate=True)
    with pytest.raises(ProtocolError):
        client.download(first["id"], tmp_path / "x.m4a", concurrency=1)
    # Another track to the same target: starts over, and holds only the second track's audio.
    fake.set_stream(second["id"], segments=3)
    client.download(second["id"], tmp_path / "x.m4a")
    assert_whole_m4a(tmp_path / "x.m4a", 3)
    # The same track whose stream changed (other segments): starts over too.
    fake.break_segment(first["id"], 5, truncate=True)
    with pytest.raises(ProtocolError):
        client.download(first["id"], tmp_path / "y.m4a", concurrency=1)
    fake.set_stream(first["id"], segments=2)
    client.download(first["id"], tmp_path / "y.m4a")
    assert_whole_m4a(tmp_path / "y.m4a", 2)


def test_resume_false_starts_over(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    track = fake.add_track(title="No resume")
    fake.set_stream(track["id"], segments=6)
    fake.break_segment(track["id"], 4, truncate=True)
    with pytest.raises(ProtocolError):
        client.download(track["id"], tmp_path / "n.m4a", concurrency=1, resume=False)
    assert os.listdir(tmp_path) == []
    client.download(track["id"], tmp_path / "n.m4a", resume=False)
    assert_whole_m4a(tmp_path / "n.m4a", 6)


def test_an_encrypted_stream_is_refused_and_nothing_is_written(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="DRM")
    fake.set_stream(track["id"], encrypted=True)
    with pytest.raises(EncryptedStreamError, match="DRM"):
        client.download(track["id"], tmp_path / "d.m4a")
    assert os.listdir(tmp_path) == []
    assert not any(path.endswith(".m4s") for path in cdn_paths(fake))


def test_a_broken_segment_is_an_error_and_is_never_written(
    fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path
) -> None:
    track = fake.add_track(title="Broken")
    fake.break_segment(track["id"], 1, status=404, times=1)
    with pytest.raises(soundcloud.NotFoundError):
        client.download(track["id"], tmp_path / "b.m4a", concurrency=1)
    assert not (tmp_path / "b.m4a").exists()
