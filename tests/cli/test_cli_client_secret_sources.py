"""Where the ``soundcloud`` command takes the app's client secret from without putting it in
every local user's process list: ``--client-secret-file PATH`` (its first line, stripped),
``$SOUNDCLOUD_CLIENT_SECRET`` and ``$SOUNDCLOUD_CLIENT_SECRET_FILE``; ``--client-secret`` on the
command line still works but warns on stderr, never echoing the secret. One of the pair on the
command line silences the other's variable. Each run is a real process against the fake
SoundCloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from soundcloud.testing import FakeSoundCloud

WARNING = "soundcloud: warning: --client-secret on the command line is visible to other users"


@pytest.fixture
def sc() -> Iterator[FakeSoundCloud]:
    with FakeSoundCloud() as server:
        yield server


def app_token_grants(sc: FakeSoundCloud) -> int:
    return sc.grant_counts.get("client_credentials", 0)


def test_a_secret_on_the_command_line_warns_without_echoing_it(sc: FakeSoundCloud, cli: Any) -> None:
    for args in (
        ["--client-secret", sc.client_secret, "get", "/tracks/293"],
        ["get", f"--client-secret={sc.client_secret}", "/tracks/293"],
    ):
        result = cli.run(*args, env=cli.env(sc))
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(WARNING), result.stderr
        assert "--client-secret-file" in lines[0] and "SOUNDCLOUD_CLIENT_SECRET" in lines[0]
        assert sc.client_secret not in result.stderr + result.stdout
    assert app_token_grants(sc) == 1  # the secret was used (the app token is cached after)


def test_a_secret_file_gives_its_first_line(sc: FakeSoundCloud, cli: Any, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(f"  {sc.client_secret} \r\nnot the secret\n", encoding="utf-8")
    result = cli.run("--client-secret-file", str(secret_file), "get", "/tracks/293", env=cli.env(sc))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and sc.client_secret not in result.stdout
    assert app_token_grants(sc) == 1  # the fake checks the secret of a client credentials grant
    # After the command name too (the cached app token removed, so the secret is used again).
    (cached,) = (cli.home / "config" / "soundcloud").glob("app-token-*.json")
    cached.unlink()
    result = cli.run("get", "--client-secret-file", str(secret_file), "/tracks/293", env=cli.env(sc))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and app_token_grants(sc) == 2


def test_the_environment_gives_the_secret_without_a_warning(sc: FakeSoundCloud, cli: Any) -> None:
    result = cli.run("get", "/tracks/293", env=cli.env(sc, SOUNDCLOUD_CLIENT_SECRET=sc.client_secret))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and app_token_grants(sc) == 1


def test_a_bad_secret_file_is_a_usage_error(sc: FakeSoundCloud, cli: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n\nsecret-on-the-third-line\n")
    missing = tmp_path / "missing"
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfesecret-on-the-third-line\n")
    both = ["--client-secret", "x" * 8, "--client-secret-file", str(empty)]
    for args, start in (
        (["--client-secret-file", str(missing)], f"cannot read the client secret from {missing}: "),
        (["--client-secret-file", str(empty)], f"the first line of {empty} is empty"),
        (["--client-secret-file", str(binary)], f"cannot read the client secret from {binary}: not UTF-8"),
        (both, "give --client-secret or --client-secret-file, not both"),
    ):
        result = cli.run(*args, "get", "/tracks/293", env=cli.env(sc))
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines()[-1].startswith("soundcloud: error: " + start), result.stderr
        assert "secret-on-the-third-line" not in result.stderr and "x" * 8 not in result.stderr
        assert result.stdout == ""
    assert sc.requests == []


def test_the_environment_gives_the_secret_file_without_a_warning(
    sc: FakeSoundCloud, cli: Any, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(sc.client_secret + "\n", encoding="utf-8")
    result = cli.run("get", "/tracks/293", env=cli.env(sc, SOUNDCLOUD_CLIENT_SECRET_FILE=str(secret_file)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and app_token_grants(sc) == 1


def test_the_command_line_silences_the_other_secret_variable(sc: FakeSoundCloud, cli: Any, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(sc.client_secret + "\n", encoding="utf-8")
    # The fake refuses a wrong secret: the grant succeeds only with the command line's.
    env = cli.env(sc, SOUNDCLOUD_CLIENT_SECRET="not-the-secret")
    result = cli.run("get", "--client-secret-file", str(secret_file), "/tracks/293", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and app_token_grants(sc) == 1
    (cached,) = (cli.home / "config" / "soundcloud").glob("app-token-*.json")
    cached.unlink()
    env = cli.env(sc, SOUNDCLOUD_CLIENT_SECRET_FILE=str(tmp_path / "missing"))
    result = cli.run("--client-secret", sc.client_secret, "get", "/tracks/293", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(WARNING) and result.stderr.count("\n") == 1
    assert app_token_grants(sc) == 2


def test_bad_secret_variables_are_usage_errors_naming_them(sc: FakeSoundCloud, cli: Any, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    for extra, message in (
        (
            {"SOUNDCLOUD_CLIENT_SECRET": "secret-in-the-environment", "SOUNDCLOUD_CLIENT_SECRET_FILE": str(missing)},
            "give $SOUNDCLOUD_CLIENT_SECRET or $SOUNDCLOUD_CLIENT_SECRET_FILE, not both",
        ),
        (
            {"SOUNDCLOUD_CLIENT_SECRET_FILE": str(missing)},
            f"cannot read the client secret from {missing} ($SOUNDCLOUD_CLIENT_SECRET_FILE): No such file",
        ),
    ):
        result = cli.run("get", "/tracks/293", env=cli.env(sc, **extra))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("soundcloud: error: " + message) and result.stderr.count("\n") == 1
        assert "secret-in-the-environment" not in result.stderr and result.stdout == ""
    assert sc.requests == []
