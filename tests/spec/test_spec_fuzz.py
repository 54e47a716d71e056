"""Fuzzing the fake with schemathesis, from SoundCloud's OpenAPI spec (with spec/errata.json applied).

One test per operation of the spec: schemathesis generates requests from the operation
(valid ones, and invalid ones: wrong types, missing required values, strings where URNs go)
and sends them to a running fake with a user token. Whatever the input, the fake must not
answer 5xx (``not_a_server_error``), and every answer with a documented status must match
that status's schema (``response_schema_conformance``). Hypothesis runs a few examples per
operation, derandomized (the same inputs every run), with no example database (nothing is
written into the tree) and no deadline (a loaded CI machine is not a failure). An operation
the fake has no route for yet is an expected failure, named as such.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Iterator

import pytest

from support.request_server import FaultContext, RequestServer
from support.spec import AUTH_SERVER, checked_spec, fetch, operation_params, require_spec, route_served

require_spec()
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (Python 3.11+) is not installed")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402  (after the skips)
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

if TYPE_CHECKING:
    from conftest import Seeds


#: Examples per operation and id source: ~64 operations x 2 x this many requests must stay
#: well under 90 s on two cores (each example is one request plus Hypothesis's generation).
MAX_EXAMPLES = 6
NOT_SERVED = "not served by the fake yet"
#: A URN of the right kind for each path parameter of a routing probe (tests/support/spec.py).
PROBE_IDS = {"track_urn": "soundcloud:tracks:1", "playlist_urn": "soundcloud:playlists:1"}
CHECKS = [not_a_server_error, response_schema_conformance]

SCHEMA = schemathesis.openapi.from_dict(checked_spec())


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Hypothesis keeps caches (constants it found in the source, Unicode tables) in
    # ./.hypothesis even with database=None: in a temporary directory, never in the tree.
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


def _served(operation: str, origin: str, token: str) -> bool:
    """Whether the fake routes the operation (any answer but its 405 / unknown-path 404)."""
    method, path = operation.split(" ", 1)
    target = re.sub(r"\{(\w+)\}", lambda m: PROBE_IDS.get(m.group(1), "soundcloud:users:1"), path)
    status, _, body = fetch(origin + target, method, {"Authorization": "OAuth " + token})
    return route_served(status, body)


def fuzz(operation: str, origin: str, headers: Dict[str, str], path_parameters: Dict[str, str]) -> int:
    """Send MAX_EXAMPLES generated requests per id source (ids of things that exist, and
    generated strings) and modes (valid and invalid input) to ``origin``; raise on the first
    answer a check refuses. Returns how many requests went out."""
    method, path = operation.split(" ", 1)
    api_operation = SCHEMA[path][method]
    given_ids = {name: value for name, value in path_parameters.items() if "{" + name + "}" in path}
    cases = st.one_of(
        *[
            api_operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=ids)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for ids in ([given_ids, None] if given_ids else [None])
        ]
    )
    sent = []

    @settings(
        max_examples=MAX_EXAMPLES * (2 if given_ids else 1),
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the input as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call(base_url=origin, headers=headers, timeout=10)
        sent.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    return len(sent)


@pytest.mark.parametrize("operation", operation_params())
def test_fuzzed_requests_get_no_server_error_and_answers_match_the_spec(operation: str, seeds: Seeds) -> None:
    method, path = operation.split(" ", 1)
    spec_operation = checked_spec()["paths"][path][method.lower()]
    on_auth = (spec_operation.get("servers") or [{}])[0].get("url") == AUTH_SERVER
    fake = seeds.fake
    origin = fake.auth_url if on_auth else fake.api_url
    if not _served(operation, origin, seeds.token):
        pytest.xfail(NOT_SERVED)
    ids = {
        "track_urn": seeds.my_track,
        "playlist_urn": seeds.playlist,
        "user_urn": seeds.user,
        "follower_urn": seeds.follower,
        "following_urn": seeds.followed,
    }
    assert fuzz(operation, origin, {"Authorization": "OAuth " + seeds.token}, ids) > 0


class WrongAnswers(RequestServer):
    """Answers GET /me with a user whose username is a number, everything else with 500."""

    def answer(self, ctx: FaultContext) -> bool:
        if ctx.request.path == "/me":
            body = b'{"username": 5}'
            return ctx.respond(200, body, [("Content-Type", "application/json; charset=utf-8")])
        return ctx.respond(500, b'{"code": 500}', [("Content-Type", "application/json; charset=utf-8")])


def test_fuzzing_reports_wrong_answers_and_server_errors() -> None:
    # The harness itself: without this, a fuzz run that checked nothing would pass too.
    from schemathesis.core.failures import FailureGroup

    with WrongAnswers() as server:
        origin = f"http://{server.host}:{server.port}"
        with pytest.raises(FailureGroup, match="username"):
            fuzz("GET /me", origin, {"Authorization": "OAuth x"}, {})
        with pytest.raises(FailureGroup, match="Server error"):
            fuzz("GET /users/{user_urn}", origin, {"Authorization": "OAuth x"}, {"user_urn": "soundcloud:users:1"})
