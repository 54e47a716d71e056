"""Settings of the ``soundcloud`` command: config paths, credentials and the Client.

The options arrive with the environment already applied (:mod:`.environment`: the command
line, else ``$SOUNDCLOUD_<LONG_NAME>``, else the default); the login token lives under
``$XDG_CONFIG_HOME/soundcloud`` (or ``--token-file``), app tokens are cached beside it.
:func:`open_client` picks the credentials (stored login token, else client credentials,
else client id) as the "credentials" part of ``soundcloud --help`` says. Every credential
read is remembered so that :func:`redact` keeps it out of output.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, Dict, Final, List, Mapping, Optional

import soundcloud

from .._redact import redact_text
from ..errors import SoundCloudError, TokenStoreError
from .environment import given_as
from .exits import EXIT_AUTH, EXIT_USAGE, CLIError

if TYPE_CHECKING:
    from .. import Client, Token

__all__ = [
    "ENV_API_URL",
    "ENV_AUTH_URL",
    "ENV_CLIENT_ID",
    "ENV_CLIENT_SECRET",
    "ENV_REDIRECT_URI",
    "ENV_TOKEN_FILE",
    "app_token_path",
    "build_client",
    "client_secret",
    "client_settings",
    "config_dir",
    "default_token_path",
    "open_client",
    "option",
    "redact",
    "remember_token",
    "token_file",
]


# The variables of some options, for messages (environment_variable("--client-id") and so on).
ENV_CLIENT_ID: Final = "SOUNDCLOUD_CLIENT_ID"
ENV_CLIENT_SECRET: Final = "SOUNDCLOUD_CLIENT_SECRET"
ENV_API_URL: Final = "SOUNDCLOUD_API_URL"
ENV_AUTH_URL: Final = "SOUNDCLOUD_AUTH_URL"
ENV_REDIRECT_URI: Final = "SOUNDCLOUD_REDIRECT_URI"
ENV_TOKEN_FILE: Final = "SOUNDCLOUD_TOKEN_FILE"


def config_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """``$XDG_CONFIG_HOME/soundcloud`` (an absolute XDG_CONFIG_HOME only), else ``~/.config/soundcloud``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    # The XDG base directory spec says relative paths are invalid and must be ignored.
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "soundcloud")


def default_token_path(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where ``soundcloud login`` keeps the token (``$SOUNDCLOUD_TOKEN_FILE`` overrides)."""
    env = os.environ if environ is None else environ
    override = env.get(ENV_TOKEN_FILE, "")
    if override:
        return override
    return os.path.join(config_dir(env), "token.json")


def option(args: argparse.Namespace, name: str) -> Optional[str]:
    """An option's value as text, None when unset or empty (its variable is already applied
    by :func:`.environment.parse_with_environment`)."""
    value = getattr(args, name, None)
    return str(value) if value else None


def token_file(args: argparse.Namespace) -> str:
    """The login token's path: --token-file, else :func:`default_token_path`."""
    return option(args, "token_file") or default_token_path()


# Values never allowed in output: filled in as credentials are read (see redact).
_secrets: List[str] = []


def _remember_secret(value: Optional[str]) -> None:
    if value and len(value) >= 4 and value not in _secrets:
        _secrets.append(value)


def remember_token(token: Optional[Token]) -> None:
    """Keep a token's access and refresh tokens out of everything printed."""
    if token is not None:
        _remember_secret(token.access_token)
        _remember_secret(token.refresh_token)


def redact(text: str) -> str:
    return redact_text(text, _secrets)


# The longest first line read from --client-secret-file: a secret is far shorter, and a
# wrong path (a device, a big file) must not be read whole.
MAX_SECRET_LINE: Final = 4096


def client_secret(args: argparse.Namespace) -> Optional[str]:
    """--client-secret-file's first line (stripped), else --client-secret (either may be a variable).

    The file and the environment keep the secret out of the process list, which every
    local user can read (``ps``); ``main`` warns when it is given on the command line.
    One on the command line silences the other's variable (:mod:`.environment`).
    """
    path = option(args, "client_secret_file")
    if path is None:
        return option(args, "client_secret")
    file_given = given_as(args, "client_secret_file", "--client-secret-file")
    if option(args, "client_secret") is not None:
        secret_given = given_as(args, "client_secret", "--client-secret")
        raise CLIError(f"give {secret_given} or {file_given}, not both", EXIT_USAGE)
    # A path nobody typed is a puzzle in a message: name the variable it came from.
    source = path if file_given.startswith("--") else f"{path} ({file_given})"
    try:
        with open(path, encoding="utf-8") as handle:
            line = handle.readline(MAX_SECRET_LINE)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CLIError(f"cannot read the client secret from {source}: {reason}", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise CLIError(f"cannot read the client secret from {source}: not UTF-8 text", EXIT_USAGE) from None
    secret = line.strip()
    if not secret:
        raise CLIError(f"the first line of {source} is empty: it should hold the client secret", EXIT_USAGE)
    return secret


def client_settings(args: argparse.Namespace) -> Dict[str, Any]:
    """Client keyword arguments from the options and environment (the secret is remembered)."""
    settings: Dict[str, Any] = {
        "client_id": option(args, "client_id"),
        "client_secret": client_secret(args),
        "api_url": option(args, "api_url"),
        "auth_url": option(args, "auth_url"),
    }
    timeout = getattr(args, "timeout", None)
    if timeout is not None:
        settings["timeout"] = timeout
    _remember_secret(settings["client_secret"])
    return settings


def app_token_path(token_path: str, client_id: str, auth_url: Optional[str]) -> str:
    """Where the app token (client credentials) of one app on one server is cached."""
    import hashlib

    # One file per app and authorization server: a token is only good with the app that got it.
    key = hashlib.sha256(f"{auth_url or ''}\n{client_id}".encode("utf-8")).hexdigest()[:16]
    return os.path.join(os.path.dirname(os.path.abspath(token_path)), f"app-token-{key}.json")


def build_client(**kwargs: Any) -> Client:
    """A Client whose tokens are remembered for redaction; bad settings become CLIErrors."""
    try:
        client = soundcloud.Client(on_token=remember_token, **kwargs)
    except TokenStoreError as exc:
        raise CLIError(f"{exc}", EXIT_AUTH) from None
    except SoundCloudError:
        raise
    except ValueError as exc:  # a bad --api-url, --redirect-uri...: the user's settings
        raise CLIError(str(exc), EXIT_USAGE) from None
    remember_token(client.token)
    return client


def open_client(args: argparse.Namespace) -> Client:
    """The Client a command uses: stored login token, else client credentials, else client id."""
    settings = client_settings(args)
    path = token_file(args)
    if os.path.exists(path):
        # The login's token; token_store: a refresh (single-use, rotating refresh tokens)
        # rewrites the file at once, so the next run starts from the live refresh token.
        return build_client(token_store=soundcloud.FileTokenStore(path), **settings)
    client_id = settings["client_id"]
    if client_id is None:
        raise CLIError(
            "no credentials: run `soundcloud login`, or pass --client-id (and --client-secret)"
            f" or set {ENV_CLIENT_ID} (and {ENV_CLIENT_SECRET})",
            EXIT_AUTH,
        )
    if settings["client_secret"] is not None:
        # App tokens are rate limited (50 per 12 h per app, 30 per hour per IP): cache the
        # one we get instead of fetching one per run.
        store = soundcloud.FileTokenStore(app_token_path(path, client_id, settings["auth_url"]))
        return build_client(token_store=store, **settings)
    return build_client(**settings)
