"""Every option of the ``soundcloud`` command from the environment: ``--long-name`` is also
``$SOUNDCLOUD_LONG_NAME``; the command line wins, then the variable, then the default.

The first tests walk the argparse tree the command really builds, so an option added later
is covered (or named here as not from the environment) without anyone remembering to: each
is set from its variable, beaten by the command line, and named in its help. The rest run
the command in a subprocess (the ``cli`` fixture: a clean environment) against the fake
SoundCloud: values reach the commands, bad ones are usage errors naming the variable.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import pytest

from soundcloud.cli import config
from soundcloud.cli.environment import environment_variable, parse_with_environment, read_environment
from soundcloud.cli.exits import CLIError
from soundcloud.cli.parser import build_parser
from soundcloud.testing import FakeSoundCloud

# The only options the environment does not set: a request's JSON body is what it sends,
# like its parameters (and search's --json is a switch that $SOUNDCLOUD_JSON must not feed).
NOT_FROM_ENVIRONMENT = {("post", "--json"), ("put", "--json")}

# Texts tried as values of an option without choices: the first two its type accepts are used.
CANDIDATE_VALUES = ("3", "5", "0.5", "from-the-environment", "from-the-command-line")


def subcommands(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    (commands,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(commands.choices)


def options_of(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield action


def long_name(action: argparse.Action) -> str:
    return [option for option in action.option_strings if option.startswith("--")][0]


def every_option() -> List[Tuple[str, str]]:
    """(command, --option) for every option of every subcommand, as the command builds them."""
    return [
        (command, long_name(action))
        for command, sub in subcommands(build_parser()).items()
        for action in options_of(sub)
    ]


FROM_ENVIRONMENT = [pair for pair in every_option() if pair not in NOT_FROM_ENVIRONMENT]
COMMON = [long_name(action) for action in options_of(build_parser())]


def find(command: str, option: str) -> Tuple[argparse.ArgumentParser, argparse.Action]:
    sub = subcommands(build_parser())[command]
    return sub, sub._option_string_actions[option]


def command_line(command: str, leave_out: str = "") -> List[str]:
    """The command with placeholders for its positional arguments and required options."""
    argv = [command]
    for action in subcommands(build_parser())[command]._actions:
        if not action.option_strings and action.nargs is None:
            argv.append("x")
        elif action.required and long_name(action) != leave_out:
            argv += [long_name(action), "out"]
    return argv


def parse(argv: List[str], environ: Mapping[str, str]) -> argparse.Namespace:
    return parse_with_environment(build_parser(), argv, environ)


def as_value(action: argparse.Action, text: str) -> Any:
    return action.type(text) if callable(action.type) else text


def two_values(action: argparse.Action, default: Any) -> Tuple[str, str]:
    """Two texts the option accepts whose values differ from each other and from its default."""
    texts = [str(choice) for choice in action.choices] if action.choices else list(CANDIDATE_VALUES)
    accepted: List[str] = []
    for text in texts:
        try:
            value = as_value(action, text)
        except (argparse.ArgumentTypeError, TypeError, ValueError):
            continue
        if value != default and value not in [as_value(action, seen) for seen in accepted]:
            accepted.append(text)
    assert len(accepted) >= 2, f"{long_name(action)}: add candidate values its type accepts"
    return accepted[0], accepted[1]


@pytest.mark.parametrize("command, option", FROM_ENVIRONMENT, ids=[" ".join(pair) for pair in FROM_ENVIRONMENT])
def test_every_option_comes_from_its_variable(command: str, option: str) -> None:
    sub, action = find(command, option)
    variable = environment_variable(option)
    assert variable == "SOUNDCLOUD_" + option[2:].upper().replace("-", "_")
    dest = action.dest
    argv = command_line(command, leave_out=option)
    if action.required:
        with pytest.raises(SystemExit) as missing:  # an empty variable counts as unset
            parse(argv, {variable: ""})
        assert missing.value.code == 2
        default = None
    else:
        default = getattr(parse(argv, {}), dest)
        assert getattr(parse(argv, {variable: ""}), dest) == default
    if action.nargs == 0:  # a switch
        for word in ("1", "true", "Yes", "ON"):
            args = parse(argv, {variable: word})
            assert getattr(args, dest) == action.const != default and args.from_environment == {dest: variable}
        for word in ("0", "false", "No", "OFF"):
            assert getattr(parse(argv, {variable: word}), dest) == default
        wins = parse(argv + [option], {variable: "0"})
        assert getattr(wins, dest) == action.const and wins.from_environment == {}
    else:
        from_environment, from_command_line = two_values(action, default)
        args = parse(argv, {variable: from_environment})
        assert getattr(args, dest) == as_value(action, from_environment)
        assert args.from_environment == {dest: variable}
        wins = parse(argv + [option, from_command_line], {variable: from_environment})
        assert getattr(wins, dest) == as_value(action, from_command_line) and wins.from_environment == {}
    # The help names it, generated: the same words at the end of every option's help.
    assert action.help is not None and action.help.endswith(f"${variable})")
    assert f"${variable})" in " ".join(sub.format_help().split())


@pytest.mark.parametrize("option", COMMON)
def test_a_common_option_before_the_command_beats_its_variable(option: str) -> None:
    action = build_parser()._option_string_actions[option]
    variable = environment_variable(option)
    if action.nargs == 0:
        args = parse([option, "me"], {variable: "no"})
        assert getattr(args, action.dest) == action.const
    else:
        from_environment, from_command_line = two_values(action, None)
        args = parse([option, from_command_line, "me"], {variable: from_environment})
        assert getattr(args, action.dest) == as_value(action, from_command_line)
    assert args.from_environment == {}
    assert f"${variable})" in " ".join(build_parser().format_help().split())


def test_only_a_request_body_is_not_from_the_environment() -> None:
    assert NOT_FROM_ENVIRONMENT <= set(every_option())
    for command, option in NOT_FROM_ENVIRONMENT:
        _, action = find(command, option)
        assert action.help is not None and "$" not in action.help and "not from the environment" in action.help
        args = parse([command, "/tracks", "title=x"], {"SOUNDCLOUD_JSON": '{"a": 1}'})
        assert args.json is None and args.from_environment == {}
    # ... where search's --json is a switch.
    assert parse(["search", "x"], {"SOUNDCLOUD_JSON": "1"}).json is True


def test_the_existing_variable_names_follow_the_rule() -> None:
    for name, option in (
        (config.ENV_CLIENT_ID, "--client-id"),
        (config.ENV_CLIENT_SECRET, "--client-secret"),
        (config.ENV_API_URL, "--api-url"),
        (config.ENV_AUTH_URL, "--auth-url"),
        (config.ENV_REDIRECT_URI, "--redirect-uri"),
        (config.ENV_TOKEN_FILE, "--token-file"),
    ):
        assert environment_variable(option) == name
    assert environment_variable("--client-secret-file") == "SOUNDCLOUD_CLIENT_SECRET_FILE"


def test_an_option_the_rule_cannot_read_fails_when_the_parser_is_built() -> None:
    kinds: List[Dict[str, Any]] = [{"nargs": "+"}, {"action": "count"}, {"action": "append"}]
    for kwargs in kinds:
        parser = argparse.ArgumentParser()
        parser.add_argument("--many", **kwargs)
        with pytest.raises(TypeError, match="--many: an option read from the environment"):
            read_environment(parser)
    parser = argparse.ArgumentParser()
    parser.add_argument("-s")
    with pytest.raises(TypeError, match="needs a --long name"):
        read_environment(parser)
    # Named as not from the environment, the same option is fine (and left alone).
    parser = argparse.ArgumentParser()
    many = parser.add_argument("--many", nargs="+")
    read_environment(parser, not_from_environment=[many])
    assert parse_with_environment(parser, [], {"SOUNDCLOUD_MANY": "x"}).many is None


def test_a_bad_secret_variable_is_named_but_never_shown() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pin", type=int, help="a secret number")
    parser.add_argument("--port", type=int)
    read_environment(parser, secrets=("--pin",))
    with pytest.raises(CLIError) as bad:
        parse_with_environment(parser, [], {"SOUNDCLOUD_PIN": "s3cr3t-value"})
    assert bad.value.status == 2
    assert bad.value.message == "$SOUNDCLOUD_PIN: not a valid value (not shown: it is a secret)"
    with pytest.raises(CLIError) as bad:
        parse_with_environment(parser, [], {"SOUNDCLOUD_PORT": "eighty"})
    assert bad.value.message == "$SOUNDCLOUD_PORT: invalid int value: 'eighty'"


def test_exclusive_options_the_command_line_silences_the_other_variable() -> None:
    secret_and_file = {"SOUNDCLOUD_CLIENT_SECRET": "env-secret", "SOUNDCLOUD_CLIENT_SECRET_FILE": "env-file"}
    args = parse(["get", "--client-secret-file", "cli-file", "/me"], secret_and_file)
    assert (args.client_secret, args.client_secret_file, args.from_environment) == (None, "cli-file", {})
    args = parse(["--client-secret", "cli-secret", "get", "/me"], secret_and_file)
    assert (args.client_secret, args.client_secret_file, args.from_environment) == ("cli-secret", None, {})
    args = parse(["get", "/me"], secret_and_file)  # both from the environment: config refuses it
    assert (args.client_secret, args.client_secret_file) == ("env-secret", "env-file")


# -- end to end --------------------------------------------------------------------------


@pytest.fixture
def sc() -> Iterator[FakeSoundCloud]:
    with FakeSoundCloud() as server:
        yield server


@pytest.mark.parametrize(
    "variable, value, args, message",
    [
        ("SOUNDCLOUD_TIMEOUT", "-1", ["me"], "$SOUNDCLOUD_TIMEOUT: must be more than 0, not -1"),
        ("SOUNDCLOUD_RAW", "maybe", ["get", "/me"],
         "$SOUNDCLOUD_RAW: a switch is one of 1, true, yes, on, 0, false, no, off, not 'maybe'"),
        ("SOUNDCLOUD_LIMIT", "ten", ["search", "x"], "$SOUNDCLOUD_LIMIT: not a whole number: 'ten'"),
        ("SOUNDCLOUD_PORT", "70000", ["login"], "$SOUNDCLOUD_PORT: a port is 0 to 65535, not 70000"),
        ("SOUNDCLOUD_QUALITY", "flac", ["download", "293", "-o", "x"],
         "$SOUNDCLOUD_QUALITY: invalid choice: 'flac' (choose from best, stream, original, aac_160, aac_96)"),
        ("SOUNDCLOUD_WORKERS", "0", ["download", "293", "-o", "x"],
         "$SOUNDCLOUD_WORKERS: tracks at a time are 1 to 16, not 0"),
    ],
)  # fmt: skip
def test_a_bad_variable_is_a_usage_error_naming_it(
    sc: FakeSoundCloud, cli: Any, variable: str, value: str, args: List[str], message: str
) -> None:
    result = cli.run(*args, env=cli.env(sc, **{variable: value}))
    assert result.returncode == 2
    assert result.stderr == f"soundcloud: error: {message}\n" and result.stdout == ""
    assert sc.requests == []


def test_a_variable_is_read_only_by_its_command_and_empty_is_unset(sc: FakeSoundCloud, cli: Any) -> None:
    env = cli.env(sc, SOUNDCLOUD_WAIT="not a number", SOUNDCLOUD_TIMEOUT="", SOUNDCLOUD_RAW="")
    result = cli.run("get", "/tracks/293", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 293 and result.stdout.startswith("{\n  ")
    assert cli.run("login", env=env).stderr == "soundcloud: error: $SOUNDCLOUD_WAIT: not a number: 'not a number'\n"


def test_variables_reach_the_commands(sc: FakeSoundCloud, cli: Any) -> None:
    result = cli.run("get", "/tracks", "limit=2", env=cli.env(sc, SOUNDCLOUD_RAW="yes"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and '": ' not in result.stdout
    assert [track["id"] for track in json.loads(result.stdout)] == sc.track_ids[:2]
    result = cli.run("get", "/tracks", "limit=2", env=cli.env(sc, SOUNDCLOUD_RAW="off"))
    assert result.stdout.startswith("[\n  {\n    ")

    env = cli.env(sc, SOUNDCLOUD_LIMIT="2", SOUNDCLOUD_JSON="true")
    result = cli.run("search", "ambient", env=env)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2
    result = cli.run("search", "ambient", "--limit", "3", env=env)
    assert len(json.loads(result.stdout)) == 3

    # A required option given by its variable; -q by $SOUNDCLOUD_QUIET.
    target = cli.cwd / "track.mp3"
    env = cli.env(sc, SOUNDCLOUD_OUTPUT=str(target), SOUNDCLOUD_QUIET="1")
    result = cli.run("download", sc.media_url(293), env=env)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == sc.media_bytes(293) and result.stderr == ""


def test_help_names_each_variable_and_the_rule(cli: Any) -> None:
    result = cli.run("search", "--help", env=cli.env())
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for variable in ("SOUNDCLOUD_LIMIT", "SOUNDCLOUD_JSON", "SOUNDCLOUD_TIMEOUT", "SOUNDCLOUD_CLIENT_SECRET_FILE"):
        assert f"${variable})" in text
    result = cli.run("--help", env=cli.env())
    text = " ".join(result.stdout.split())
    assert "Every option can also be set by a variable: SOUNDCLOUD_ and the long name in capitals" in text
    assert "The command line wins, then the variable, then the default; an empty variable counts as unset" in text
