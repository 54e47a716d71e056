"""Fixtures of the client's tests: a fake on the test's clock, and closing what each test opened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

from support.clients import close_opened
from support.fake_calls import Clock

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud


@pytest.fixture(autouse=True)
def _close_opened() -> Iterator[None]:
    yield
    close_opened()


@pytest.fixture
def timed_fake(clock: Clock) -> Iterator["FakeSoundCloud"]:
    """A fake SoundCloud driven by the test's clock (tokens live 3600 s)."""
    from soundcloud.testing import FakeSoundCloud

    with FakeSoundCloud(clock=clock) as server:
        yield server
