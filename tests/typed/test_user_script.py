"""The user's script (``user_script.py``) runs against the fake: on the source tree and on
each installed wheel, pure and compiled. ``make check`` runs mypy --strict on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import soundcloud
from typed.user_script import main

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud


def test_the_script_runs_against_the_fake(fake: "FakeSoundCloud") -> None:
    track = fake.add_track(title="Typed and tested", genre="Ambient")
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=10.0) as client:
        seen = main(client, track["id"])
    assert seen["title"] == "Typed and tested" and seen["same"] is True
    found = seen["found"]
    assert isinstance(found, list) and 1 <= len(found) <= 5
    assert seen["comment"] == "Lovely"
    assert seen["me"] == fake.user["username"] and seen["user"] == track["user"]["username"]
    assert seen["resolved"] == "Track" and seen["legacy"] == "Typed and tested"
