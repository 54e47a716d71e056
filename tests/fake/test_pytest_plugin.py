"""The pytest plugin, as a project that installed the package sees it.

Each test writes a small test file into a ``pytester`` project and runs pytest on it in
this process. The inner pytest finds the plugin the way an installed package offers it:
through its ``pytest11`` entry point (the wheel's, when the package under test is
installed; otherwise an installed distribution's metadata written for the test, declaring
the same entry point: tests/support/plugin_project.py). So ``-p no:soundcloud`` is tested
as users would use it, and the plugin is never registered twice.

The start-up cost is measured in fresh interpreters: pytest imports the plugin in every
project where the package is installed, so importing it may load nothing new.
"""

from __future__ import annotations

import ast
import importlib
import socket
import subprocess
import sys
from pathlib import Path
from typing import List
from urllib.parse import parse_qsl, urlsplit

import pytest

import soundcloud
import soundcloud.client  # imported here, like the fake below: `import soundcloud` is lazy
import soundcloud.testing
import soundcloud.testing.fake  # imported here, so pytester's module snapshot keeps it
import soundcloud.testing.pytest_plugin

from support.plugin_project import STRICT, installed_plugin_project

pytest_plugins = ["pytester"]

PACKAGE_PARENT = str(Path(soundcloud.__file__).resolve().parent.parent)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project where the package is installed: pytest loads the plugin from its entry point."""
    return installed_plugin_project(pytester, monkeypatch)


def output_of(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# --- the fixtures --------------------------------------------------------------------------


def test_the_client_is_logged_in_to_a_running_fake_that_stops_after_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from pathlib import Path
        from urllib.parse import parse_qs, urlsplit

        def test_me(soundcloud_client, soundcloud_fake):
            assert soundcloud_client.get("/me").username == soundcloud_fake.user["username"]
            (request,) = soundcloud_fake.requests
            assert (request.server, request.method, request.path) == ("api", "GET", "/me")
            assert request.header("authorization") == "OAuth " + soundcloud_client.token.access_token
            assert (soundcloud_client.api_url, soundcloud_client.auth_url) == (
                soundcloud_fake.api_url, soundcloud_fake.auth_url)
            login = urlsplit(soundcloud_client.authorize_url())
            assert login.geturl().startswith(soundcloud_fake.auth_url + "/")
            assert parse_qs(login.query)["redirect_uri"] == [soundcloud_fake.redirect_uri]
            assert soundcloud_client.client_id == soundcloud_fake.client_id
            assert soundcloud_client.token.refresh_token and not soundcloud_client.token.is_app_token
            assert soundcloud_fake.tokens_issued == 0  # minted, not asked for: counters start at 0
            Path("api_url").write_text(soundcloud_fake.api_url)
        """
    )
    project.runpytest(*STRICT).assert_outcomes(passed=1)
    address = urlsplit((project.path / "api_url").read_text())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address.hostname, address.port), timeout=5).close()


def test_each_test_gets_a_fresh_fake(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_first(soundcloud_fake, soundcloud_client):
            soundcloud_fake.add_track(id=424242, title="Left behind")
            soundcloud_client.get("/tracks/424242")
            assert len(soundcloud_fake.requests) == 1

        def test_second(soundcloud_fake):
            assert soundcloud_fake.requests == []
            assert soundcloud_fake.get_track(424242) is None
        """
    )
    project.runpytest(*STRICT).assert_outcomes(passed=2)


def test_the_client_renews_its_token_on_the_fakes_clock(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        class Clock:
            now = 1_700_000_000.0

            def __call__(self):
                return self.now

        CLOCK = Clock()

        @pytest.mark.soundcloud_fake(clock=CLOCK, expires_in=600)
        def test_expired_on_the_shared_clock(soundcloud_fake, soundcloud_client):
            assert soundcloud_client.token.expires_at == CLOCK.now + 600
            CLOCK.now += 601
            assert soundcloud_client.get("/me").id == soundcloud_fake.user_id
            # The client saw the expiry on the fake's clock: renewed first, no 401 round trip.
            assert [r.path for r in soundcloud_fake.requests] == ["/oauth/token", "/me"]
            assert soundcloud_fake.grant_counts == {"refresh_token": 1}

        def test_revoked_while_valid(soundcloud_fake, soundcloud_client):
            soundcloud_fake.expire_tokens()
            assert soundcloud_client.get("/me").id == soundcloud_fake.user_id
            assert soundcloud_fake.refresh_tokens_used == 1
        """
    )
    project.runpytest(*STRICT).assert_outcomes(passed=2)


# --- the marker ------------------------------------------------------------------------------


def test_marker_options_reach_the_fake_the_closest_winning(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.soundcloud_fake(tracks=2, user={"username": "module-user"})

        def test_module_options(soundcloud_fake):
            assert soundcloud_fake.user["username"] == "module-user"
            assert len(soundcloud_fake.track_ids) <= 3  # the two asked for, and Flickermood

        @pytest.mark.soundcloud_fake(user={"username": "test-user"})
        def test_own_options_over_the_modules(soundcloud_fake):
            assert soundcloud_fake.user["username"] == "test-user"
            assert len(soundcloud_fake.track_ids) <= 3

        @pytest.mark.soundcloud_fake(require_secret=True, client_secret="shh")
        def test_the_client_has_the_secret_the_fake_wants(soundcloud_fake, soundcloud_client):
            soundcloud_fake.expire_tokens()
            soundcloud_client.get("/me")
            assert soundcloud_fake.refresh_tokens_used == 1
        """
    )
    project.runpytest(*STRICT).assert_outcomes(passed=3)
    described = project.runpytest("--markers")
    described.stdout.fnmatch_lines(["@pytest.mark.soundcloud_fake(**options): keyword arguments for *FakeSoundCloud*"])


def test_a_marker_with_positional_arguments_is_a_setup_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.soundcloud_fake(5)
        def test_positional(soundcloud_fake):
            pass
        """
    )
    result = project.runpytest(*STRICT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.soundcloud_fake() takes keyword arguments only*"])


def test_p_no_soundcloud_turns_the_plugin_off(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_uses_the_fake(soundcloud_fake):
            pass
        """
    )
    project.runpytest(*STRICT).assert_outcomes(passed=1)
    result = project.runpytest(*STRICT, "-p", "no:soundcloud")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'soundcloud_fake' not found*"])


# --- the report of a failing test --------------------------------------------------------------


def test_a_failing_test_lists_the_requests_and_no_secret(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import urllib.request
        from pathlib import Path

        def test_fails(soundcloud_fake, soundcloud_client):
            secrets = [soundcloud_fake.client_secret, soundcloud_client.token.access_token,
                       soundcloud_client.token.refresh_token]
            soundcloud_client.get("/tracks", q="ambient", limit=2)
            soundcloud_fake.expire_tokens()
            soundcloud_client.get("/me")  # 401, then the refresh grant, then /me again
            preview = soundcloud_fake.preview_url(293)  # signed: Policy, Signature, Key-Pair-Id
            urllib.request.urlopen(preview, timeout=10).close()
            secrets += [soundcloud_client.token.access_token, soundcloud_client.token.refresh_token,
                        preview.partition("?")[2]]
            Path("secrets.txt").write_text("\\n".join(secrets))
            assert False, "the code under test failed"

        def test_passes(soundcloud_fake, soundcloud_client):
            soundcloud_client.get("/me")

        def test_fails_without_the_fake():
            assert False
        """
    )
    result = project.runpytest(*STRICT)
    result.assert_outcomes(failed=2, passed=1)
    output = output_of(result)
    assert output.count("requests to the fake SoundCloud") == 1
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails _*",
            "*- requests to the fake SoundCloud -*",
            "5 requests, oldest first. Query values, headers and bodies are not shown*",
            "api  GET    /tracks?q&limit",
            "api  GET    /me",
            "auth POST   /oauth/token",
            "api  GET    /me",
            "cdn  GET    /preview/293.mp3?Policy&Signature&Key-Pair-Id",
            "*_ test_fails_without_the_fake _*",
        ]
    )
    secrets = (project.path / "secrets.txt").read_text().splitlines()
    values = [value for value in secrets[:-1]] + [value for _, value in parse_qsl(secrets[-1])]
    assert len(values) == 8 and all(values)
    assert [value for value in values if value in output] == []


def test_the_report_escapes_control_characters_and_lists_the_last_requests(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import socket
        from urllib.parse import urlsplit

        def test_fails(soundcloud_fake, soundcloud_client):
            for _ in range(104):
                soundcloud_client.get("/me")
            address = urlsplit(soundcloud_fake.api_url)
            with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
                sock.sendall(b"GET /\\x1b[2J?\\x1b]0;title=1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                while sock.recv(65536):
                    pass
            assert len(soundcloud_fake.requests) == 105
            assert False
        """
    )
    result = project.runpytest(*STRICT)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "105 requests, oldest first.*",
            "(5 earlier requests not listed)",
            "api  GET    /me",
        ]
    )
    listed = output_of(result).split("(5 earlier requests not listed)\n")[1].splitlines()[:100]
    assert listed[:-1] == ["api  GET    /me"] * 99
    assert listed[-1] == "api  GET    /\\x1b[2J?\\x1b]0;title"
    assert "\x1b" not in output_of(result)


def test_a_test_failing_in_setup_and_teardown_lists_the_requests_once(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def breaks_at_teardown(soundcloud_fake):
            yield
            raise RuntimeError("teardown failed")
        """
    )
    project.makepyfile(
        """
        def test_fails_twice(breaks_at_teardown, soundcloud_fake):
            assert False
        """
    )
    result = project.runpytest(*STRICT)
    result.assert_outcomes(failed=1, errors=1)
    output = output_of(result)
    assert output.count("requests to the fake SoundCloud") == 1
    assert "The fake received no requests." in output


# --- what it costs at start-up ------------------------------------------------------------------

# Prints with repr, not json: the script must not load what it measures.
STARTUP_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
import soundcloud, pytest
before = set(sys.modules)
started = time.perf_counter()
import soundcloud.testing.pytest_plugin
elapsed = time.perf_counter() - started
print(repr((sorted(set(sys.modules) - before), elapsed)))
"""


def run_python(script: str, tmp_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, PACKAGE_PARENT],
        capture_output=True, text=True, timeout=60, check=True, cwd=str(tmp_path),
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_plugin_loads_nothing_beyond_soundcloud_and_pytest(tmp_path: Path) -> None:
    loaded, seconds = ast.literal_eval(run_python(STARTUP_SCRIPT, tmp_path))
    assert loaded == ["soundcloud.testing", "soundcloud.testing.pytest_plugin"]
    assert seconds < 1.0  # about a millisecond; the bound only catches an import gone astray


LAZY_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import soundcloud
before = set(sys.modules)
import soundcloud.testing
on_import = sorted(set(sys.modules) - before)
from soundcloud.testing import FakeSoundCloud
print(repr((on_import, FakeSoundCloud.__module__, "soundcloud.testing.fake" in sys.modules)))
"""


def test_soundcloud_testing_imports_the_fake_only_when_a_name_is_used(tmp_path: Path) -> None:
    on_import, module, fake_loaded = ast.literal_eval(run_python(LAZY_SCRIPT, tmp_path))
    # Of the package's modules: `import soundcloud` no longer loads typing and importlib, so
    # where no start-up hook has (a clean venv), they come with soundcloud.testing here.
    assert [name for name in on_import if name.startswith("soundcloud")] == ["soundcloud.testing"]
    assert (module, fake_loaded) == ("soundcloud.testing.fake", True)


def test_soundcloud_testing_names_are_the_defining_modules_objects() -> None:
    names: List[str] = list(soundcloud.testing.__all__)
    assert set(names) == set(soundcloud.testing._MODULE_OF)
    assert set(names) <= set(dir(soundcloud.testing))
    for name in names:
        defining = importlib.import_module(f"soundcloud.testing.{soundcloud.testing._MODULE_OF[name]}")
        assert getattr(soundcloud.testing, name) is getattr(defining, name), name
    assert soundcloud.testing.FakeSoundCloud is soundcloud.testing.fake.FakeSoundCloud
    with pytest.raises(AttributeError, match="module 'soundcloud.testing' has no attribute 'FakeSoundcloud'"):
        getattr(soundcloud.testing, "FakeSoundcloud")  # noqa: B009 - mypy would refuse the misspelling
    with pytest.raises(ImportError):
        exec("from soundcloud.testing import fixtures_of_the_fake", {})  # noqa: S102

