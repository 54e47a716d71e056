"""Renewals that race, against real servers on loopback: threads that queued while a renewal
failed report its failure instead of sending another token request, however late they read the
client's state; six processes sharing one FileTokenStore, started together on an expired token
against one fake SoundCloud, make exactly one refresh between them (the store is locked across
processes around read, refresh and write) and all succeed; a client whose refresh token another
client spent adopts that client's token from the store instead of failing until restarted; and
a store of the application's own with a ``locked()`` method is locked the same way."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List, Optional, Set

import pytest

import soundcloud
from soundcloud.auth import FileTokenStore, Token

from support.clients import TIMEOUT, logged_in, make_client, token_requests
from support.request_server import FaultContext, RequestServer
from support.wire import wait_until
from support.workers import WORKER_RUN, assert_one_refresh, run_together

NOW = 1_700_000_000.0


def held_server_error(ctx: FaultContext) -> bool:
    """A token endpoint that answers 500, holding each answer until ``release()``."""
    ctx.wait_released(TIMEOUT * 2)
    body = b'{"error": "server_error", "error_description": "try later"}'
    return ctx.respond(500, body, [("Content-Type", "application/json")], keep_alive=False)


def test_twenty_threads_and_a_failing_token_endpoint_make_one_token_request(fake: Any) -> None:
    arrived: Set[int] = set()
    guard = threading.Lock()

    def clock() -> float:
        # The client reads the clock when it checks the token's expiry, after it has taken
        # note of the renewals so far and before it queues for the one in flight.
        with guard:
            arrived.add(threading.get_ident())
        return NOW

    errors: List[BaseException] = []

    def work() -> None:
        try:
            client.get("/me")
        except BaseException as exc:  # reported below
            with guard:
                errors.append(exc)

    with RequestServer(held_server_error) as server:
        expired = Token("access-x", "refresh-x", 3600, NOW - 10, grant_type="authorization_code")
        client = make_client(fake, auth_url=server.url, token=expired, clock=clock)
        first = threading.Thread(target=work, daemon=True)
        first.start()
        wait_until(lambda: server.count() == 1, message="the first thread's refresh reached the server")
        others = [threading.Thread(target=work, daemon=True) for _ in range(19)]
        for thread in others:
            thread.start()
        wait_until(
            lambda: {t.ident for t in others} <= arrived, message="every thread read the token's expiry"
        )
        server.release()  # the refresh fails with 500 while 19 threads wait for it
        for thread in [first] + others:
            thread.join(TIMEOUT * 2)
        assert not any(thread.is_alive() for thread in [first] + others)
        assert server.count() == 1, "a thread that waited for the failed refresh sent another"
    assert len(errors) == 20
    assert all(isinstance(e, soundcloud.OAuthError) and e.status_code == 500 for e in errors), errors
    assert fake.requests_to("api") == []
    assert client.token == expired  # kept: the next call tries again


# A client in its own process: loads the shared store (an expired token), waits until all six
# are ready, then calls the API, which needs a refresh first.
CHILD = r"""
import sys
import soundcloud

path, client_id, api_url, auth_url = sys.argv[1:5]
client = soundcloud.Client(client_id=client_id, api_url=api_url, auth_url=auth_url,
                           token_store=soundcloud.FileTokenStore(path), timeout=30)
assert client.token is not None and client.token.refresh_token, "the store was not loaded"
""" + WORKER_RUN


@pytest.mark.skipif(os.name != "posix", reason="the workers' barrier is a pipe (pass_fds)")
def test_six_processes_sharing_a_store_refresh_once(fake: Any, tmp_path: Path) -> None:
    issued = fake.issue_token_response()
    path = tmp_path / "token.json"
    expired = Token(issued["access_token"], issued["refresh_token"], 3600, time.time() - 600,
                    grant_type="authorization_code")
    FileTokenStore(path).save(expired)
    results = run_together(CHILD, [[str(path), fake.client_id, fake.api_url, fake.auth_url]] * 6)
    stored = FileTokenStore(path).load()
    assert stored is not None and stored.access_token != expired.access_token
    assert_one_refresh(fake, results, stored.access_token)


def test_a_client_whose_refresh_token_another_spent_recovers_from_the_store(
    timed_fake: Any, clock: Any, tmp_path: Path
) -> None:
    fake = timed_fake
    path = tmp_path / "token.json"
    first = logged_in(fake, clock=clock).token
    client = make_client(fake, token=first, token_store=FileTokenStore(path), clock=clock)
    other = make_client(fake, token=first, clock=clock)  # the same session, another store
    clock.advance(3600)
    other.refresh()  # spends the shared refresh token
    with pytest.raises(soundcloud.InvalidGrantError):
        client.get("/me")  # refused, and nothing newer in the store yet
    FileTokenStore(path).save(other.token)  # another process of this store saves its token
    # Before: the dead session sent its expired token and failed with 401 until restarted.
    assert client.get("/me").id == fake.user_id
    assert client.token == other.token and fake.grant_counts["refresh_token"] == 1


class RecordingStore:
    """A store of the application's own with a ``locked()`` context manager: it records the
    order in which the client locks, reads, saves and unlocks it."""

    def __init__(self, token: Optional[Token]) -> None:
        self.token = token
        self.events: List[str] = []

    def load(self) -> Optional[Token]:
        self.events.append("load")
        return self.token

    def save(self, token: Token) -> None:
        self.events.append("save")
        self.token = token

    def clear(self) -> None:
        self.token = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.events.append("lock")
        try:
            yield
        finally:
            self.events.append("unlock")


def test_a_store_with_a_lock_is_locked_around_read_refresh_and_write(timed_fake: Any, clock: Any) -> None:
    fake = timed_fake
    store = RecordingStore(logged_in(fake, clock=clock).token)
    client = make_client(fake, token_store=store, clock=clock)
    clock.advance(3600)
    store.events.clear()
    fake.clear_requests()
    assert client.get("/me").id == fake.user_id
    assert store.events == ["lock", "load", "save", "unlock"]
    assert len(token_requests(fake)) == 1 and store.token == client.token
