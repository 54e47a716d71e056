"""Fixtures of the spec checks: ids to put in requests, taken from a running fake, and closing
the clients each test opened.

``fake`` is the usual fake, its user on a creator plan (so that every operation can succeed);
``seeds`` is a :class:`Seeds` of it: URNs of things that exist there (the
user's own track and playlist, someone else's track, a followed and an unfollowed user, a
follower) so that every operation can be asked with a path that names something real.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator, List, Optional

import pytest

from support.clients import close_opened, logged_in

if TYPE_CHECKING:
    import soundcloud
    from soundcloud.testing import FakeSoundCloud


@pytest.fixture(autouse=True)
def _close_opened() -> Iterator[None]:
    yield
    close_opened()


class Seeds:
    """URNs of what exists in one fake, a client logged in to it and that client's token."""

    def __init__(self, fake: "FakeSoundCloud", client: "soundcloud.Client") -> None:
        from support.spec import fetch

        self.fake = fake
        self.client = client
        token = client.access_token
        assert token
        self.token = token
        self.me = fake.user_id
        owners = {tid: (fake.get_track(tid) or {}).get("user_id") for tid in fake.track_ids}
        mine = [tid for tid, owner in owners.items() if owner == self.me]
        theirs = [tid for tid, owner in owners.items() if owner != self.me]
        assert mine and theirs, "the fake's catalogue has tracks of its user and of others"
        self.my_track = f"soundcloud:tracks:{mine[0]}"
        self.other_track = f"soundcloud:tracks:{theirs[0]}"
        self.other_track_owner = f"soundcloud:users:{owners[theirs[0]]}"
        self.user = f"soundcloud:users:{self.me}"
        self.permalink = str(fake.user["permalink"])
        headers = {"Authorization": "OAuth " + token, "Accept": "application/json"}

        def first(path: str) -> Optional[Any]:
            status, _, body = fetch(f"{fake.api_url}{path}?linked_partitioning=true&limit=1", headers=headers)
            if status != 200:
                return None
            page = json.loads(body)
            items: List[Any] = page.get("collection", []) if isinstance(page, dict) else page
            return items[0] if items else None

        def urn(item: Optional[Any], kind: str, default: str) -> str:
            if not item:
                return default
            return str(item.get("urn") or f"soundcloud:{kind}:{item['id']}")

        self.my_track_id = int(mine[0])
        self.other_track_id = int(theirs[0])
        self.playlist = urn(first("/me/playlists"), "playlists", "soundcloud:playlists:1")
        self.followed = urn(first("/me/followings"), "users", self.other_track_owner)
        self.follower = urn(first("/me/followers"), "users", self.other_track_owner)
        self.unfollowed = self.other_track_owner
        if fake.is_following(int(self.unfollowed.rsplit(":", 1)[1])):
            self.unfollowed = f"soundcloud:users:{fake.add_user(username='not-followed-yet')['id']}"

    @staticmethod
    def number(urn: str) -> int:
        """The numeric id in a URN (what a caller of the generic verbs may still pass)."""
        return int(urn.rsplit(":", 1)[1])


@pytest.fixture
def fake() -> Iterator["FakeSoundCloud"]:
    """The fake, its user on a creator plan: PUT /tracks/{urn}/storefront answers 403 to a
    user without one (the spec's description), and every operation is asked for success here."""
    from soundcloud.testing import FakeSoundCloud

    with FakeSoundCloud(user={"plan": "Pro Unlimited"}) as server:
        yield server


@pytest.fixture
def seeds(fake: "FakeSoundCloud") -> Seeds:
    # The README flow: authorize, then exchange the code (closed after the test).
    return Seeds(fake, logged_in(fake))
