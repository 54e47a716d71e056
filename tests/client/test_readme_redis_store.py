"""The README's Redis token store, as the README prints it, run against fakeredis: two clients on
two connections to one Redis (two machines of a fleet), started together on an expired token,
refresh once between them and both use the result; the store keeps JSON from
``Token.to_dict()`` and lets go of its lock.

The example is the first literal block after the comment ``.. redis-token-store-example`` in
README.rst. fakeredis (with Lua, for redis-py's lock) is a test requirement only, so the wheel
venvs, which do not install it, skip these tests.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Dict, List

import pytest

from soundcloud import Token

from support.clients import make_client, token_requests
from support.readme import README, readme_examples

MARKER = ".. redis-token-store-example"

# How long a thread of these tests may take before the test fails.
BOUND = 60.0


def readme_example() -> List[str]:
    return readme_examples(MARKER)


@pytest.fixture
def redis_store_class() -> Any:
    """RedisTokenStore, defined by running the README's first block after the marker."""
    pytest.importorskip("fakeredis", reason="fakeredis (requirements.txt) runs the README's Redis example")
    pytest.importorskip("lupa", reason="redis-py's lock needs fakeredis[lua] (requirements.txt)")
    namespace: Dict[str, Any] = {"__name__": "readme_redis_example"}
    exec(compile(readme_example()[0], str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace["RedisTokenStore"]


def test_the_readme_shows_how_a_worker_uses_the_store() -> None:
    blocks = readme_example()
    assert len(blocks) >= 2, "the README shows no worker using RedisTokenStore after the class"
    compile(blocks[1], str(README), "exec")
    assert "RedisTokenStore(" in blocks[1] and "token_store=store" in blocks[1]


def test_two_machines_sharing_the_readme_redis_store_refresh_once(fake: Any, redis_store_class: Any) -> None:
    import fakeredis

    server = fakeredis.FakeServer()  # one Redis; each store below has its own connection to it
    issued = fake.issue_token_response()
    expired = Token(issued["access_token"], issued["refresh_token"], 3600, time.time() - 600,
                    grant_type="authorization_code")  # fmt: skip
    redis_store_class(fakeredis.FakeRedis(server=server)).save(expired)
    stores = [redis_store_class(fakeredis.FakeRedis(server=server)) for _ in range(2)]
    clients = [make_client(fake, token_store=store) for store in stores]
    assert [client.token for client in clients] == [expired, expired]  # loaded from Redis

    start = threading.Barrier(len(clients), timeout=BOUND)
    results: List[Any] = [None] * len(clients)

    def work(index: int) -> None:
        start.wait()
        try:
            results[index] = clients[index].get("/me").id
        except BaseException as exc:  # reported below
            results[index] = exc

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert not any(thread.is_alive() for thread in threads)
    assert results == [fake.user_id] * len(clients), results
    assert len(token_requests(fake)) == 1 and fake.grant_counts == {"refresh_token": 1}

    reader = fakeredis.FakeRedis(server=server)
    saved = json.loads(reader.get(stores[0].key))
    assert Token.from_dict(saved) == clients[0].token == clients[1].token
    assert saved["access_token"] != expired.access_token
    assert reader.keys("*") == [stores[0].key.encode()]  # the lock was let go
    assert stores[0].load() == clients[0].token
    stores[0].clear()
    assert stores[1].load() is None
