"""Client.download_all and `soundcloud download URL -o DIR`: a playlist, a user's tracks, a
user's likes; skipping finished files, failures with reasons, the album tag, the exit status."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest

import soundcloud
from support.cli_runs import cli_env, run_cli

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud

av = pytest.importorskip("av")
mutagen_mp4 = pytest.importorskip("mutagen.mp4")

TIMEOUT = 10.0


@pytest.fixture
def client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


def make_set(fake: "FakeSoundCloud", client: soundcloud.Client, title: str, tracks: List[Dict[str, Any]]) -> Any:
    return client.post(
        "/playlists", playlist={"title": title, "sharing": "public", "tracks": [{"urn": t["urn"]} for t in tracks]}
    )


def decodes(path: Path) -> bool:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(container.streams.audio[0])) > 0


def test_a_playlist_with_a_preview_only_track(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    tracks = [
        fake.add_track(title="One"),
        fake.add_track(title="Two", downloadable=True),
        fake.add_track(title="Go plus only", access="preview"),
    ]
    playlist = make_set(fake, client, "Mixtape", tracks)
    summary = client.download_all(playlist, tmp_path, workers=3)
    assert [o.title for o in summary.done] == ["One", "Two"]
    assert [o.title for o in summary.failed] == ["Go plus only"]
    assert "30-second preview" in (summary.failed[0].reason or "")
    assert not summary.ok and str(summary) == "2 done, 0 skipped, 1 failed"
    names = sorted(os.listdir(tmp_path))
    assert "One.m4a" in names and any(n.startswith("Two.") for n in names) and len(names) == 2
    assert decodes(tmp_path / "One.m4a")
    assert mutagen_mp4.MP4(str(tmp_path / "One.m4a")).tags["\xa9alb"] == ["Mixtape"]
    # Again: what is there is skipped without fetching audio; previews now allowed.
    cdn_before = sum(1 for r in fake.requests if r.server == "cdn")
    again = client.download_all(playlist["urn"], tmp_path, allow_preview=True)
    assert [o.title for o in again.skipped] == ["One", "Two"] and [o.title for o in again.done] == ["Go plus only"]
    assert again.ok
    fetched = [r.path for r in fake.requests if r.server == "cdn"][cdn_before:]
    assert not any(p.endswith(".m4s") for p in fetched)
    assert "Go plus only.mp3" in os.listdir(tmp_path) and decodes(tmp_path / "Go plus only.mp3")


def test_same_titles_get_their_ids(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    a = fake.add_track(title="Intro")
    b = fake.add_track(title="Intro")
    summary = client.download_all(make_set(fake, client, "Twins", [a, b]), tmp_path)
    assert summary.ok
    assert sorted(os.listdir(tmp_path)) == sorted([f"Intro ({a['id']}).m4a", f"Intro ({b['id']}).m4a"])


def test_a_users_tracks_and_likes(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    artist = fake.add_user(username="artist")
    mine = [fake.add_track(title=f"Song {n}", user_id=artist["id"]) for n in range(3)]
    liked = fake.add_track(title="Liked one")
    client.post(f"/likes/tracks/{liked['urn']}")
    (tmp_path / "a").mkdir()
    summary = client.download_all(f"soundcloud:users:{artist['id']}", tmp_path / "a")
    assert sorted(o.title for o in summary.done) == [t["title"] for t in mine]
    (tmp_path / "likes").mkdir()
    me = fake.user
    likes = client.download_all(me["permalink_url"] + "/likes", tmp_path / "likes")
    assert [o.title for o in likes.done] == ["Liked one"]
    assert os.listdir(tmp_path / "likes") == ["Liked one.m4a"]


def test_bad_sources_and_directories(client: soundcloud.Client, tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        client.download_all("soundcloud:playlists:1", tmp_path / "missing")
    with pytest.raises(ValueError, match="URN"):
        client.download_all("soundcloud:comments:1", tmp_path)
    with pytest.raises(ValueError, match="workers"):
        client.download_all("soundcloud:users:1", tmp_path, workers=0)


def test_cli_downloads_a_set_and_reports(fake: "FakeSoundCloud", client: soundcloud.Client, tmp_path: Path) -> None:
    tracks = [fake.add_track(title="Alpha"), fake.add_track(title="Beta", access="preview")]
    playlist = make_set(fake, client, "CLI set", tracks)
    home = tmp_path / "home"
    home.mkdir()
    env = cli_env(home, fake)
    token_file = Path(env["XDG_CONFIG_HOME"]) / "soundcloud" / "token.json"
    token_file.parent.mkdir(parents=True)
    soundcloud.FileTokenStore(str(token_file)).save(soundcloud.Token(fake.issue_token()))
    out = tmp_path / "out"
    result = run_cli(["download", playlist["permalink_url"], "-o", str(out)], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "1 done, 0 skipped, 1 failed" in result.stderr
    assert "Beta" in result.stderr and "allow-preview" in result.stderr
    assert os.listdir(out) == ["Alpha.m4a"]
    result = run_cli(["download", playlist["permalink_url"], "-o", str(out), "--allow-preview"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 done, 1 skipped, 0 failed" in result.stderr
    assert sorted(os.listdir(out)) == ["Alpha.m4a", "Beta.mp3"]
