"""Shared fixtures: an isolated environment, real servers on 127.0.0.1, and build guards.

- Every test runs with the proxy, CA-bundle and SoundCloud credential variables removed
  and ``XDG_CONFIG_HOME`` pointing at a fresh directory, so a developer's environment
  cannot leak into a result (environment only: no code is patched).
- ``fake`` (soundcloud.testing.FakeSoundCloud), ``tls_server``, ``proxy``,
  ``auth_proxy`` and ``fault_server`` each start a fresh server and stop it at teardown.
- ``clock`` (a :class:`support.fake_calls.Clock` moved by hand), ``timed`` (a fake
  SoundCloud on that clock, seeded with 5 tracks) and ``token`` (a user token issued by
  ``fake``).
- ``SOUNDCLOUD_EXPECT_COMPILED=1`` makes the run fail at once unless the mypyc-compiled
  modules are extension modules, and the report header always names the ``soundcloud``
  files under test, so a run against an installed wheel shows it is not testing the
  source tree.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # `import support` works in any --import-mode
    sys.path.insert(0, str(TESTS_DIR))

from support.fake_calls import Clock  # noqa: E402
from support.faults import FaultServer  # noqa: E402
from support.proxy import PROXY_CREDENTIALS, ForwardProxy  # noqa: E402
from support.tls import TLSServer  # noqa: E402

if TYPE_CHECKING:
    import trustme

    from soundcloud.testing import FakeSoundCloud


def expected_compiled() -> List[str]:
    """Modules mypyc compiles (the package's own list); with SOUNDCLOUD_EXPECT_COMPILED=1 each
    must be an extension. Read on use: the package may be mid-rewrite when conftest loads."""
    from soundcloud._compiled import COMPILED_MODULES

    return [f"soundcloud.{name}" for name in COMPILED_MODULES]


#: Removed for every test (upper and lower case), so nothing from the host leaks in.
CLEARED_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SOUNDCLOUD_CLIENT_ID",
    "SOUNDCLOUD_CLIENT_SECRET",
)


def is_extension_module(path: Optional[str]) -> bool:
    """Whether ``path`` is a compiled extension module file (``.so`` / ``.pyd``)."""
    if not path:
        return False
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def _module_file(name: str) -> str:
    module = importlib.import_module(name)
    return str(getattr(module, "__file__", None) or "")


def pytest_report_header(config: pytest.Config) -> List[str]:
    try:
        import soundcloud
    except Exception as exc:  # the package may be mid-rewrite; the header must not crash
        return ["soundcloud: not importable (%s: %s)" % (type(exc).__name__, exc)]
    lines = ["soundcloud: %s" % getattr(soundcloud, "__file__", None)]
    for name in expected_compiled():
        try:
            path = _module_file(name)
        except Exception as exc:
            lines.append("  %s: not importable (%s)" % (name, type(exc).__name__))
            continue
        kind = "compiled" if is_extension_module(path) else "pure Python"
        lines.append("  %s: %s (%s)" % (name, kind, path))
    return lines


def pytest_collection(session: pytest.Session) -> None:
    # Runs after the report header is printed and before any test is collected or run.
    if os.environ.get("SOUNDCLOUD_EXPECT_COMPILED") != "1":
        return
    problems = []
    for name in expected_compiled():
        try:
            path = _module_file(name)
        except Exception as exc:
            problems.append("%s: import failed: %s: %s" % (name, type(exc).__name__, exc))
            continue
        if not is_extension_module(path):
            problems.append("%s: %s is not an extension module" % (name, path or "<no __file__>"))
    if problems:
        pytest.exit(
            "SOUNDCLOUD_EXPECT_COMPILED=1 but the compiled build is not what is under test:\n  "
            + "\n  ".join(problems),
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture
def fake() -> Iterator["FakeSoundCloud"]:
    """A started fake SoundCloud (API, auth and CDN origins on 127.0.0.1)."""
    from soundcloud.testing import FakeSoundCloud  # imported late: written in parallel

    with FakeSoundCloud() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(clock: Clock) -> Iterator["FakeSoundCloud"]:
    from soundcloud.testing import FakeSoundCloud  # imported late: written in parallel

    with FakeSoundCloud(clock=clock, tracks=5) as sc:
        yield sc


@pytest.fixture
def token(fake: "FakeSoundCloud") -> str:
    return fake.issue_token()


@pytest.fixture(scope="session")
def tls_ca() -> "trustme.CA":
    """One certificate authority for the session (key generation is the slow part)."""
    import trustme

    return trustme.CA()


@pytest.fixture
def tls_server(tls_ca: "trustme.CA") -> Iterator[TLSServer]:
    """HTTPS on https://localhost:<port>; trust it with ``tls_server.ca_path``."""
    with TLSServer(ca=tls_ca) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward proxy (absolute-form and CONNECT) to loopback targets, no credentials."""
    with ForwardProxy() as server:
        yield server


@pytest.fixture
def auth_proxy() -> Iterator[ForwardProxy]:
    """A forward proxy requiring ``Proxy-Authorization`` for ``PROXY_CREDENTIALS``."""
    with ForwardProxy(credentials=PROXY_CREDENTIALS) as server:
        yield server


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A scripted-fault HTTP server; the first path segment picks the scenario."""
    with FaultServer() as server:
        yield server
