"""Client.paginate against the fake SoundCloud: linked partitioning, next_href, limits."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator, List

import pytest

import soundcloud

if TYPE_CHECKING:
    from soundcloud.testing import FakeSoundCloud, RecordedRequest

TIMEOUT = 10.0


@pytest.fixture
def public_client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    """A client_id-only client (public reads with the id in the query)."""
    with soundcloud.Client(client_id=fake.client_id, api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def user_client(fake: "FakeSoundCloud") -> Iterator[soundcloud.Client]:
    with soundcloud.Client(access_token=fake.issue_token(), api_url=fake.api_url, timeout=TIMEOUT) as client:
        yield client


def api_gets(fake: "FakeSoundCloud") -> List["RecordedRequest"]:
    return [r for r in fake.requests if r.server == "api" and r.method == "GET"]


def public_track_ids(fake: "FakeSoundCloud") -> List[int]:
    ids = []
    for track_id in fake.track_ids:
        track = fake.get_track(track_id)
        assert track is not None
        if track["sharing"] == "public":
            ids.append(track_id)
    return ids


def test_follows_next_href_to_the_end(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    expected = public_track_ids(fake)
    assert len(expected) > 400  # the fake's seeded catalogue spans many pages
    items = list(public_client.paginate("/tracks", limit=50))
    assert [item.id for item in items] == expected
    assert all(isinstance(item, soundcloud.Resource) for item in items)
    assert all(isinstance(item.title, str) for item in items)

    requests = api_gets(fake)
    assert len(requests) == math.ceil(len(expected) / 50)
    first, rest = requests[0], requests[1:]
    assert first.path == "/tracks"
    assert first.query["linked_partitioning"] == ["true"]
    assert first.query["limit"] == ["50"]
    for request in rest:
        # Pages after the first are the server's next_href (an opaque cursor), as given.
        assert request.path == "/tracks"
        assert "cursor" in request.query
        assert request.query["page_size"] == ["50"]
    for request in requests:
        # client_id once per request: never appended again to a next_href that carries it.
        assert request.query["client_id"] == [fake.client_id]


def test_token_client_sends_no_client_id(fake: "FakeSoundCloud", user_client: soundcloud.Client) -> None:
    items = list(user_client.paginate("/tracks", limit=200))
    assert len(items) == len(public_track_ids(fake))
    requests = api_gets(fake)
    assert len(requests) == math.ceil(len(items) / 200)
    for request in requests:
        assert "client_id" not in request.query
        assert (request.header("authorization") or "").startswith("OAuth ")


def test_default_page_size(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    count = sum(1 for _ in public_client.paginate("/tracks"))
    assert count == len(public_track_ids(fake))
    assert len(api_gets(fake)) == math.ceil(count / 50)  # SoundCloud's default page


def test_other_collections(fake: "FakeSoundCloud", user_client: soundcloud.Client) -> None:
    followings = list(user_client.paginate("/me/followings", limit=25))
    assert len(followings) > 50  # the seeded artists the test user follows
    assert len({user.id for user in followings}) == len(followings)
    assert all(user.kind == "user" and fake.is_following(user.id) for user in followings)
    assert len(api_gets(fake)) == math.ceil(len(followings) / 25)
    # The same users as one page of 200 holds.
    single = user_client.get("/me/followings", limit=200, linked_partitioning=True)
    assert single.next_href is None
    assert [user.id for user in followings] == [user.id for user in single.collection]


@pytest.mark.parametrize("limit", [0, -1, 201, 1000, True, 2.5, "50"])
def test_limit_out_of_range_is_refused_before_sending(
    fake: "FakeSoundCloud", public_client: soundcloud.Client, limit: Any
) -> None:
    with pytest.raises(ValueError, match="limit is the page size, from 1 to 200"):
        public_client.paginate("/tracks", limit=limit)
    assert fake.requests == []


@pytest.mark.parametrize("limit", [1, 200])
def test_limit_bounds_are_accepted(fake: "FakeSoundCloud", public_client: soundcloud.Client, limit: int) -> None:
    items = list(public_client.paginate("/tracks", limit=limit, max_items=3))
    assert len(items) == 3
    assert api_gets(fake)[0].query["limit"] == [str(limit)]


def test_max_items_caps_the_total_and_the_requests(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    items = list(public_client.paginate("/tracks", limit=50, max_items=120))
    assert [item.id for item in items] == public_track_ids(fake)[:120]
    assert len(api_gets(fake)) == 3  # no page fetched beyond the one holding item 120


def test_max_items_zero_sends_nothing(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    assert list(public_client.paginate("/tracks", max_items=0)) == []
    assert fake.requests == []
    with pytest.raises(ValueError, match="max_items must be 0 or more"):
        public_client.paginate("/tracks", max_items=-1)


def test_pages_are_fetched_lazily(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    pages = public_client.paginate("/tracks", limit=10)
    assert fake.requests == []
    first = next(pages)
    assert first.id == public_track_ids(fake)[0]
    assert len(api_gets(fake)) == 1
    for _ in range(10):
        next(pages)
    assert len(api_gets(fake)) == 2


def test_an_empty_page_stops(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    assert list(public_client.paginate("/tracks", q="no track is called this", limit=50)) == []
    assert len(api_gets(fake)) == 1


def test_bare_array_endpoint(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    # Without linked partitioning the API answers a bare array: one page, no next_href.
    items = list(public_client.paginate("/tracks", linked_partitioning=False, limit=30))
    assert [item.id for item in items] == public_track_ids(fake)[:30]
    assert all(isinstance(item, soundcloud.Resource) for item in items)
    (request,) = api_gets(fake)
    assert request.query["linked_partitioning"] == ["false"]


def test_query_parameters_are_kept_across_pages(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    items = list(public_client.paginate("/tracks", genres="Ambient", limit=10))
    assert items and all(item.genre == "Ambient" for item in items)
    requests = api_gets(fake)
    assert len(requests) > 1
    assert all(request.query["genres"] == ["Ambient"] for request in requests)


def test_not_a_collection_is_an_error(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    with pytest.raises(TypeError, match="did not answer with a collection or an array"):
        list(public_client.paginate("/tracks/293"))


def test_errors_propagate(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    with pytest.raises(soundcloud.NotFoundError):
        list(public_client.paginate("/users/987654321/tracks"))


def test_request_options_apply_to_every_page(fake: "FakeSoundCloud", public_client: soundcloud.Client) -> None:
    items = list(public_client.paginate("/tracks", limit=200, headers={"X-Trace": "abc"}))
    assert len(items) == len(public_track_ids(fake))
    requests = api_gets(fake)
    assert len(requests) > 1
    assert [r.header("x-trace") for r in requests] == ["abc"] * len(requests)
