"""pytest fixtures for testing your own code against the fake SoundCloud.

The package installs this module as a pytest plugin (the ``pytest11`` entry point
``soundcloud``), so in a project where it is installed a test only names what it needs::

    def test_my_app_shows_the_user(soundcloud_client, soundcloud_fake):
        assert my_app.greeting(soundcloud_client) == "Hello " + soundcloud_fake.user["username"]
        assert [r.path for r in soundcloud_fake.requests] == ["/me"]

``soundcloud_fake``
    A running ``FakeSoundCloud``, fresh for each test and stopped after it; every request
    it receives is in ``soundcloud_fake.requests``.
``soundcloud_client``
    A ``soundcloud.Client`` wired to that fake (its origins, client id and secret, redirect
    URI and clock) holding a user token with a refresh token, as after a login: expiry and
    renewal work as against SoundCloud. Closed after the test.
``@pytest.mark.soundcloud_fake(**options)``
    Keyword arguments for ``FakeSoundCloud(...)``, on a test, a class or a module
    (``pytestmark``); the closest one wins for each option.

When a test that used the fake fails, its report gets a section listing the requests the
fake received: origin, method, path and the names of the query parameters. Query values,
headers and bodies are left out, so no token, code or signature reaches a CI log.
``-p no:soundcloud`` turns the plugin off.

pytest imports every installed plugin at start-up, in every project. So this module
imports nothing but pytest at the top; its parents ``soundcloud`` and ``soundcloud.testing``
are lazy (they import no module of their own), and the fixtures import what they use: the
fake (``http.server``, ``socketserver``, the store, the HLS fixture) and the client.

This is the one module of the package that imports pytest (the test
``test_pytest_import_boundary`` checks it). Unlike the fake, which shares no code with the
client, it uses the client's public names: it is where the two meet, as in a user's test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Final, Generator, Iterator, List, Protocol, Sequence

import pytest

if TYPE_CHECKING:
    from .. import Client
    from .fake import FakeSoundCloud
    from .http import RecordedRequest

__all__ = ["soundcloud_client", "soundcloud_fake"]

MARKER: Final = "soundcloud_fake"
MARKER_HELP: Final = (
    "soundcloud_fake(**options): keyword arguments for the soundcloud_fake fixture's"
    " soundcloud.testing.FakeSoundCloud(...)"
)
REPORT_SECTION: Final = "requests to the fake SoundCloud"
# A failing download can make hundreds of segment requests: the report lists the last ones.
MAX_LISTED: Final = 100

# The fake a test used (for its report), and whether a report of that test already lists
# its requests (a test failing in its call and its teardown gets the list once).
_FAKE: Final = pytest.StashKey["FakeSoundCloud"]()
_LISTED: Final = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    # Registered, so that --strict-markers accepts it and `pytest --markers` describes it.
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture
def soundcloud_fake(request: pytest.FixtureRequest) -> Iterator[FakeSoundCloud]:
    """A running fake SoundCloud, fresh for each test and stopped after it.

    Options come from ``@pytest.mark.soundcloud_fake(...)``, for example
    ``@pytest.mark.soundcloud_fake(tracks=3, require_secret=True)``.
    """
    from .fake import FakeSoundCloud  # here, not at the top: see the module docstring

    with FakeSoundCloud(**_marker_options(request)) as fake:
        request.node.stash[_FAKE] = fake
        yield fake


@pytest.fixture
def soundcloud_client(soundcloud_fake: FakeSoundCloud) -> Iterator[Client]:
    """A ``soundcloud.Client`` logged in to ``soundcloud_fake`` as its user; closed after the test."""
    from .. import Client, Token  # here, not at the top: see the module docstring

    fake = soundcloud_fake
    # Minted directly, as /oauth/token would answer an authorization code: the token
    # endpoint's counters (tokens_issued, grant_counts) and fake.requests start empty.
    issued = fake.issue_token_response()
    token = Token(
        issued["access_token"],
        issued["refresh_token"],
        issued["expires_in"],
        fake.clock() + issued["expires_in"],
        issued["scope"],
        issued["token_type"],
        grant_type="authorization_code",
    )
    client = Client(
        client_id=fake.client_id,
        client_secret=fake.client_secret or None,
        redirect_uri=fake.redirect_uri,
        token=token,
        api_url=fake.api_url,
        auth_url=fake.auth_url,
        clock=fake.clock,
    )
    with client:
        yield client


class _Outcome(Protocol):
    """What an old-style hook wrapper receives: pluggy's result, of which only this is used
    (typed here rather than imported: the package imports nothing but pytest outside the
    standard library)."""

    def get_result(self) -> pytest.TestReport: ...


@pytest.hookimpl(hookwrapper=True)  # the old style: new-style wrappers need pluggy 1.1
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, _Outcome, None]:
    outcome = yield
    report = outcome.get_result()
    fake = item.stash.get(_FAKE, None)
    if fake is None or not report.failed or item.stash.get(_LISTED, False):
        return
    item.stash[_LISTED] = True
    report.sections.append((REPORT_SECTION, _describe_requests(fake.requests)))


def _marker_options(request: pytest.FixtureRequest) -> Dict[str, Any]:
    """The soundcloud_fake markers' options, the closest marker winning for each option."""
    options: Dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # iter_markers: closest first
        if marker.args:
            raise TypeError(
                f"@pytest.mark.{MARKER}() takes keyword arguments only (FakeSoundCloud's options),"
                f" not {len(marker.args)} positional"
            )
        options.update(marker.kwargs)
    return options


def _describe_requests(requests: Sequence[RecordedRequest]) -> str:
    """One line per request (origin, method, path, query parameter names): nothing secret."""
    if not requests:
        return "The fake received no requests."
    shown = requests[-MAX_LISTED:]
    lines: List[str] = [
        f"{len(requests)} request{'s' if len(requests) > 1 else ''}, oldest first. Query values,"
        " headers and bodies are not shown: soundcloud_fake.requests has them."
    ]
    if len(shown) < len(requests):
        lines.append(f"({len(requests) - len(shown)} earlier requests not listed)")
    for request in shown:
        query = "&".join(_printable(name) for name in request.query)
        lines.append(
            f"{request.server:<4} {_printable(request.method):<6} {_printable(request.path)}"
            + (f"?{query}" if query else "")
        )
    return "\n".join(lines)


def _printable(text: str) -> str:
    # The request line is whatever the code under test sent: escape what a terminal acts on.
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
