"""A user's script against the typed API: what an application writes, checked two ways.

- ``make check`` (and so CI) runs ``mypy --strict`` on this file: every ``assert_type`` must
  hold, so a change that loosens a return type to ``Any`` or ``Optional`` fails the build.
- ``tests/typed/test_user_script.py`` runs :func:`main` against the fake SoundCloud, on the
  source tree and on each installed wheel (pure and compiled).

``assert_type`` is ``typing.assert_type`` (Python 3.11+); on older interpreters it is the
identity at run time, and mypy checks this file as 3.11+ code either way.
"""

from __future__ import annotations

import sys
from typing import Dict, List, Optional, Union

import soundcloud
from soundcloud.models import Comment, Me, Playlist, Streams, Track, User
from soundcloud.pages import Pages

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover - run-time stand-in; mypy reads the branch above

    def assert_type(value: object, expected: object) -> object:
        return value


def main(client: soundcloud.Client, track_id: int) -> Dict[str, object]:
    """Exercise the fixed names; return what was seen, for the test to check."""
    track = client.tracks.get(track_id)
    assert_type(track, Track)
    assert_type(track.title, str)
    assert_type(track.urn, str)
    assert_type(track.user, User)
    assert_type(track.user.username, str)
    assert_type(track.description, Optional[str])

    same = client.tracks.get(track)  # a model instance is a valid id
    assert_type(same, Track)
    by_urn = client.tracks.get(track.urn)
    assert_type(by_urn, Track)

    found: List[str] = []
    results = client.tracks.search(q="ambient", page_size=2, max_items=5)
    assert_type(results, Pages[Track])
    for item in results:
        assert_type(item, Track)
        found.append(item.title)

    streams = client.tracks.streams(track)
    assert_type(streams, Streams)
    assert_type(streams.hls_aac_160_url, str)

    comment = client.tracks.comment(track, "Lovely", timestamp=1200)
    assert_type(comment, Comment)
    assert_type(comment.body, str)

    me = client.me.get()
    assert_type(me, Me)
    assert_type(me.username, str)

    user = client.users.get(track.user)
    assert_type(user, User)
    assert_type(user.username, str)
    assert_type(client.users.get(user), User)

    activities = client.me.activities(page_size=5)
    for activity in activities:
        assert_type(activity.created_at, str)
    assert_type(activities.future_href, Optional[str])

    resolved = client.resolve(track.permalink_url)
    assert_type(resolved, Union[Track, User, Playlist])

    # The generic verbs and Resource stay, for everything else.
    legacy = client.get(f"/tracks/{track.urn}")
    assert isinstance(legacy, soundcloud.Resource)

    return {
        "title": track.title,
        "same": same.urn == track.urn == by_urn.urn,
        "found": found,
        "comment": comment.body,
        "me": me.username,
        "user": user.username,
        "resolved": type(resolved).__name__,
        "legacy": legacy.title,
    }
