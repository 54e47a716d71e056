"""Token stores: FileTokenStore on disk (private file modes whatever the umask, atomic writes,
short writes continued, a corrupt file as a clear error) and a client's store in use against the
fake SoundCloud: loaded at start and saved on every change, winning over a spent refresh token,
surviving a corrupt file, and shared by clients or processes that never spend each other's
refresh token or fetch a second app token."""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any, List, Optional

import pytest

import soundcloud
from soundcloud.auth import FileTokenStore, Token

from support.clients import logged_in, make_client
from support.fake_calls import Clock


class MemoryStore(soundcloud.TokenStore):
    """A token store of the application's own (subclassing TokenStore is optional)."""

    def __init__(self, token: Optional[Token] = None) -> None:
        self.token = token
        self.saves: List[Token] = []
        self.clears = 0

    def load(self) -> Optional[Token]:
        return self.token

    def save(self, token: Token) -> None:
        self.token = token
        self.saves.append(token)

    def clear(self) -> None:
        self.token = None
        self.clears += 1


SAMPLE = Token("access-SECRET", "refresh-SECRET", 3599, 1_700_003_599.0, "", "bearer", "authorization_code")


def mode_of(path: Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- FileTokenStore ------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_store_is_private_even_with_a_permissive_umask(tmp_path: Any) -> None:
    path = tmp_path / "config" / "app" / "token.json"
    store = FileTokenStore(path)
    assert store.load() is None
    previous = os.umask(0)
    try:
        store.save(SAMPLE)
    finally:
        os.umask(previous)
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700
    assert json.loads(path.read_text()) == SAMPLE.to_dict()
    assert store.load() == SAMPLE
    # No temporary file left behind; the lock file stays (removing it would race).
    assert sorted(os.listdir(path.parent)) == ["token.json", "token.json.lock"]
    assert "SECRET" not in repr(store) and str(path) in repr(store)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_store_tightens_an_existing_file(tmp_path: Any) -> None:
    path = tmp_path / "token.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    FileTokenStore(str(path)).save(SAMPLE)
    assert mode_of(path) == 0o600 and FileTokenStore(path).load() == SAMPLE


def test_file_store_write_is_atomic(tmp_path: Any) -> None:
    path = tmp_path / "token.json"
    FileTokenStore(path).save(SAMPLE)
    newer = Token("newer-access", "newer-refresh", 3599, 1_700_007_199.0)

    def disk_full(fd: int, data: bytes) -> int:
        os.write(fd, data[:10])  # part of it reached the temporary file...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk filled up

    with pytest.raises(OSError, match="No space"):
        FileTokenStore(path, write=disk_full).save(newer)
    assert FileTokenStore(path).load() == SAMPLE  # the old token is intact
    assert sorted(os.listdir(tmp_path)) == ["token.json", "token.json.lock"]  # the temporary file is gone

    def one_byte_at_a_time(fd: int, data: bytes) -> int:
        return os.write(fd, data[:1])

    FileTokenStore(path, write=one_byte_at_a_time).save(newer)  # short writes are continued
    assert FileTokenStore(path).load() == newer


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[]", b'{"refresh_token": "r"}', b"null"])
def test_corrupt_token_file_is_a_clear_error(tmp_path: Any, content: bytes, fake: Any) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(content)
    with pytest.raises(soundcloud.errors.TokenStoreError) as info:
        FileTokenStore(path).load()
    message = str(info.value)
    assert str(path) in message and "log in again" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, soundcloud.SoundCloudError)
    if len(content) > 4:
        assert content.decode("latin-1") not in message
    with pytest.raises(soundcloud.errors.TokenStoreError):
        make_client(fake, token_store=FileTokenStore(path))
    FileTokenStore(path).clear()
    assert not path.exists()
    FileTokenStore(path).clear()  # clearing nothing is fine


# -- stores in use -------------------------------------------------------------------------


def test_store_is_loaded_at_start_and_saved_on_every_change(timed_fake: Any, clock: Clock, tmp_path: Any) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    client = logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    assert FileTokenStore(path).load() == client.token  # saved after the exchange
    clock.advance(3600)
    client.get("/me")
    assert FileTokenStore(path).load() == client.token  # saved after the refresh
    assert client.token.grant_type == "refresh_token"

    fake.clear_requests()
    later = make_client(fake, token_store=FileTokenStore(path), clock=clock)  # a new process
    assert later.token == client.token and fake.requests == []
    assert later.get("/me").username == fake.user["username"]
    later.sign_out()
    assert not path.exists() and later.token is None


def test_store_wins_over_a_spent_refresh_token(fake: Any) -> None:
    first = logged_in(fake)
    spent = first.token.refresh_token
    first.refresh()  # the refresh token given at the first run is dead now...
    store = MemoryStore(first.token)  # ...and the store holds its successor
    client = make_client(fake, client_secret=fake.client_secret, refresh_token=spent, token_store=store)
    assert client.token == first.token and fake.grant_counts.get("refresh_token") == 1


def test_a_corrupt_store_does_not_stop_a_renewal(timed_fake: Any, clock: Clock, tmp_path: Any) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    client = logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    path.write_text("{garbage")  # damaged while the client runs
    clock.advance(3600)
    assert client.get("/me").id == fake.user_id  # refreshed all the same...
    assert FileTokenStore(path).load() == client.token  # ...and the file is whole again


def test_store_keeps_one_app_token_across_clients(fake: Any, tmp_path: Any) -> None:
    path = tmp_path / "app-token.json"
    one = make_client(fake, client_secret=fake.client_secret, token_store=FileTokenStore(path))
    one.get("/tracks", limit=1)
    assert FileTokenStore(path).load() == one.token and one.token.is_app_token
    two = make_client(fake, client_secret=fake.client_secret, token_store=FileTokenStore(path))
    two.get("/tracks", limit=1)
    assert fake.grant_counts == {"client_credentials": 1}
    assert fake.requests_to("api")[-1].header("authorization") == "OAuth " + one.token.access_token
    # Two clients built before either fetched one: the second finds the first's in the store.
    store = MemoryStore()
    three = make_client(fake, client_secret=fake.client_secret, token_store=store)
    four = make_client(fake, client_secret=fake.client_secret, token_store=store)
    three.get("/tracks", limit=1)
    four.get("/tracks", limit=1)
    assert fake.grant_counts == {"client_credentials": 2} and four.token == three.token


def test_clients_sharing_a_store_do_not_spend_each_others_refresh_token(
    timed_fake: Any, clock: Clock, tmp_path: Any
) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    logged_in(fake, token_store=FileTokenStore(path), clock=clock)
    one = make_client(fake, token_store=FileTokenStore(path), clock=clock)
    two = make_client(fake, token_store=FileTokenStore(path), clock=clock)  # another process
    clock.advance(3600)
    one.get("/me")  # refreshes, rotating the shared refresh token
    assert two.get("/me").username == fake.user["username"]  # adopts the stored successor
    assert fake.grant_counts["refresh_token"] == 1 and two.token == one.token


def test_refused_refresh_adopts_a_token_another_process_stored(fake: Any) -> None:
    class RacingStore(MemoryStore):
        """Another process saves its rotated token between our look and our refresh."""

        def __init__(self) -> None:
            super().__init__()
            self.answers: List[Optional[Token]] = []

        def load(self) -> Optional[Token]:
            return self.answers.pop(0) if self.answers else self.token

    store = RacingStore()
    client = logged_in(fake, token_store=store)
    other = make_client(fake, token=client.token)  # another process, same session
    other.refresh()  # spends the shared refresh token
    store.answers = [None, other.token]
    assert client.refresh() == other.token  # refused, then the stored successor is adopted
    assert client.token == other.token and fake.grant_counts["refresh_token"] == 1
    assert client.get("/me").id == fake.user_id
