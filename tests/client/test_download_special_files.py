"""Client.download never writes through a symbolic link and never opens a FIFO, a socket or a
directory planted at the target, at its ``.part`` file or at its ``.part.json`` record: it
raises DownloadError before sending anything, and nothing on disk changes. Real links and
FIFOs in a temporary directory, downloads from the fake SoundCloud: a downloadable track's
original (progressive), and a track's AAC stream (whose ``<target>.tmp``, the M4A being
remuxed, is guarded too)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import soundcloud
from soundcloud.errors import DownloadError
from soundcloud.media.download import part_path

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX links and FIFOs")

TIMEOUT = 10.0
VICTIM = b"the victim's own bytes, which no download may touch\n"


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as made:
        yield made


@pytest.fixture
def original(fake: "FakeSoundCloud") -> soundcloud.Resource:
    """A downloadable track, as a Resource: nothing is fetched before the target is checked."""
    return soundcloud.Resource(fake.add_track(title="Original", downloadable=True))


@pytest.fixture
def streamed(fake: "FakeSoundCloud") -> soundcloud.Resource:
    """A track that is not downloadable: its AAC stream, remuxed to an M4A."""
    return soundcloud.Resource(fake.add_track(title="Streamed"))


def hls_requests(fake: "FakeSoundCloud") -> List[Any]:
    """Requests for a stream's playlists, init section or segments."""
    return [r for r in fake.requests if r.server == "cdn" and r.path.startswith("/hls/")]


def snapshot(root: Path) -> Dict[str, Tuple[int, bytes]]:
    """Every path under ``root``: its file type and its content (a link's destination)."""
    found: Dict[str, Tuple[int, bytes]] = {}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                content = os.readlink(path).encode()
            elif stat.S_ISREG(mode):
                content = Path(path).read_bytes()
            else:
                content = b""
            found[os.path.relpath(path, root)] = (stat.S_IFMT(mode), content)
    return found


def in_thread(run: Callable[[], object], fifos: List[str]) -> Optional[BaseException]:
    """Run ``run`` in a thread for at most TIMEOUT seconds; return what it raised. A call
    blocked opening one of ``fifos`` (no reader) is released before the test fails."""
    raised: List[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # noqa: B036 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # a reader: the writer's open returns
            except OSError:
                pass
        thread.join(TIMEOUT)
        pytest.fail("the download blocked on a FIFO")
    return raised[0] if raised else None


@pytest.fixture
def places(tmp_path: Path) -> Dict[str, Path]:
    (tmp_path / "dl").mkdir()
    (tmp_path / "elsewhere").mkdir()
    victim = tmp_path / "elsewhere" / "victim.mp3"
    victim.write_bytes(VICTIM)
    target = tmp_path / "dl" / "out.mp3"
    return {
        "target": target,
        "part": Path(part_path(target)),
        "record": Path(part_path(target) + ".json"),
        "tmp": Path(str(target) + ".tmp"),
        "victim": victim,
        "absent": tmp_path / "elsewhere" / "created.mp3",
    }


def plant(kind: str, at: Path, places: Dict[str, Path]) -> None:
    if kind == "symlink":
        os.symlink(places["victim"], at)
    elif kind == "dangling-symlink":
        os.symlink(places["absent"], at)
    elif kind == "fifo":
        os.mkfifo(at)
    else:
        assert kind == "directory"
        at.mkdir()


def planted_cases(*wheres: str) -> List[Tuple[str, str]]:
    """(where, kind) pairs: every kind of special file at each place, except a directory at
    the target, which is where a download goes (named after the title; test_track_downloads.py)."""
    kinds = ("symlink", "dangling-symlink", "fifo", "directory")
    return [(where, kind) for where in wheres for kind in kinds if (where, kind) != ("target", "directory")]


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "no-resume"])
@pytest.mark.parametrize("where, kind", planted_cases("target", "part", "record"))
def test_special_files_are_refused_and_nothing_changes(
    fake: "FakeSoundCloud",
    client: soundcloud.Client,
    original: soundcloud.Resource,
    tmp_path: Path,
    places: Dict[str, Path],
    where: str,
    kind: str,
    resume: bool,
) -> None:
    planted = places[where]
    plant(kind, planted, places)
    before = snapshot(tmp_path)
    error = in_thread(lambda: client.download(original, places["target"], resume=resume), [str(planted)])
    assert isinstance(error, DownloadError), repr(error)
    assert str(planted) in str(error)
    expected = "symbolic link" if "symlink" in kind else "not a regular file"
    assert expected in str(error)
    assert snapshot(tmp_path) == before
    assert places["victim"].read_bytes() == VICTIM
    assert not places["absent"].exists()
    assert fake.requests == []  # refused before anything was sent


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "no-resume"])
@pytest.mark.parametrize("where, kind", planted_cases("target", "part", "record", "tmp"))
def test_special_files_are_refused_for_a_stream_too(
    fake: "FakeSoundCloud",
    client: soundcloud.Client,
    streamed: soundcloud.Resource,
    tmp_path: Path,
    places: Dict[str, Path],
    where: str,
    kind: str,
    resume: bool,
) -> None:
    planted = places[where]
    plant(kind, planted, places)
    before = snapshot(tmp_path)
    error = in_thread(lambda: client.download(streamed, places["target"], resume=resume), [str(planted)])
    assert isinstance(error, DownloadError), repr(error)
    assert str(planted) in str(error)
    assert ("symbolic link" if "symlink" in kind else "not a regular file") in str(error)
    assert snapshot(tmp_path) == before
    assert places["victim"].read_bytes() == VICTIM
    assert not places["absent"].exists()
    assert hls_requests(fake) == []  # refused before the stream was asked for


@pytest.mark.parametrize("where", ["part", "record"])
def test_a_link_swapped_in_after_an_interruption_is_refused(
    fake: "FakeSoundCloud",
    client: soundcloud.Client,
    original: soundcloud.Resource,
    tmp_path: Path,
    places: Dict[str, Path],
    where: str,
) -> None:
    # A real .part (and record) first; then one of them is replaced by a link to the victim.
    def interrupt(done: int, total: Optional[int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.download(original, places["target"], progress=interrupt)
    assert places["part"].is_file() and places["record"].is_file()
    places[where].unlink()
    os.symlink(places["victim"], places[where])
    before = snapshot(tmp_path)
    fake.clear_requests()
    with pytest.raises(DownloadError, match="symbolic link"):
        client.download(original, places["target"])
    assert snapshot(tmp_path) == before
    assert places["victim"].read_bytes() == VICTIM
    assert fake.requests == []


@pytest.mark.parametrize("where", ["part", "record"])
def test_a_link_swapped_in_after_an_interrupted_stream_is_refused(
    fake: "FakeSoundCloud",
    client: soundcloud.Client,
    streamed: soundcloud.Resource,
    tmp_path: Path,
    places: Dict[str, Path],
    where: str,
) -> None:
    fake.set_stream(streamed.id, segments=6)
    fake.break_segment(streamed.id, 3, truncate=True)
    with pytest.raises(soundcloud.ProtocolError):
        client.download(streamed, places["target"], concurrency=1)
    assert places["part"].is_file() and places["record"].is_file()
    places[where].unlink()
    os.symlink(places["victim"], places[where])
    before = snapshot(tmp_path)
    fake.clear_requests()
    with pytest.raises(DownloadError, match="symbolic link"):
        client.download(streamed, places["target"])
    assert snapshot(tmp_path) == before
    assert places["victim"].read_bytes() == VICTIM
    assert hls_requests(fake) == []


@pytest.mark.parametrize("source", ["original", "streamed"])
def test_a_regular_part_file_is_written_with_the_usual_mode(
    fake: "FakeSoundCloud", client: soundcloud.Client, places: Dict[str, Path], request: pytest.FixtureRequest, source: str
) -> None:
    # Created exclusively, with the mode open() would give it (0o666 less the umask).
    track = request.getfixturevalue(source)
    umask = os.umask(0o022)
    try:
        client.download(track, places["target"])
    finally:
        os.umask(umask)
    if source == "original":
        assert places["target"].read_bytes() == fake.media_bytes(track.id)
    else:
        assert places["target"].read_bytes()[4:8] == b"ftyp"  # the M4A
    assert stat.S_IMODE(places["target"].stat().st_mode) == 0o644
    assert sorted(os.listdir(places["target"].parent)) == ["out.mp3"]
