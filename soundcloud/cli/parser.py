"""The command line's grammar: :func:`build_parser`, its common options, argument types
and the help epilog (credentials, the environment, parameters, exit statuses).

Every option can also come from ``$SOUNDCLOUD_<LONG_NAME>``: :mod:`.environment` applies
that to the whole tree once it is built, and names the variable in each option's help.

Each subcommand's parser carries its handler (``args.handler``) and itself
(``args.parser``, for usage errors found after parsing).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable, Final, List

from .commands import (
    cmd_login,
    cmd_logout,
    cmd_me,
    cmd_request,
    cmd_resolve,
    cmd_search,
    cmd_upload,
)
from .config import default_token_path
from .demo import cmd_demo
from .download import add_download_arguments, cmd_download
from .environment import read_environment
from .exits import PROG
from .output import version_text
from .params import param_type

__all__ = ["EPILOG", "build_parser"]


EPILOG: Final = """\
credentials (first that applies):
  1. the token saved by `soundcloud login` ($XDG_CONFIG_HOME/soundcloud/token.json,
     default ~/.config/soundcloud/token.json, or --token-file); the client id and
     secret are used to refresh it, and the file is rewritten when the refresh token
     rotates;
  2. else, with a client id and a client secret: an app token (client credentials),
     cached beside it in app-token-*.json (SoundCloud rate-limits new app tokens);
  3. else, with a client id only: the client_id query parameter (public reads).
  Every local user can see the command line (ps): give the secret with
  --client-secret-file PATH (its first line) or $SOUNDCLOUD_CLIENT_SECRET rather than
  --client-secret, which warns.

environment:
  Every option can also be set by a variable: SOUNDCLOUD_ and the long name in
  capitals, - as _ (--client-id: $SOUNDCLOUD_CLIENT_ID, --no-browser:
  $SOUNDCLOUD_NO_BROWSER); each option's help names its own. The command line wins,
  then the variable, then the default; an empty variable counts as unset. A switch
  takes 1, true, yes, on or 0, false, no, off. Arguments without a -- name (paths,
  URLs, parameters) and the JSON body of post and put come from the command line only.

parameters (get, post, put, delete):
  name=value         a parameter, sent as given: track[title]=x stays track[title]
  a.b=value          nested: track.title=x is {"track": {"title": "x"}} (sent track[title]=x)
  name[]=v ...       repeated: ids[]=1 ids[]=2 is a list
  name@path          (post, put) a file, sent as multipart: track.asset_data@tone.wav

exit status:
  0 success    1 other error (local file, bad response)    2 usage
  3 network error (refused, timeout, cut off)    4 HTTP error from the API (4xx, 5xx)
  5 authentication (no credentials, 401, OAuth refused, login not completed)
  130 interrupted

Errors are one line on stderr ("soundcloud: error: 404 Not Found: ..."); no token or
secret is ever printed. Progress bars go to stderr, only when it is a terminal.
"""


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """Options valid before and after the command name (so `soundcloud get --raw /me` works)."""
    # SUPPRESS on the subcommand copy keeps a value given before the command from being reset.
    default: Any = None if defaults else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--client-id", metavar="ID", default=default, help="app client id")
    group.add_argument(
        "--client-secret", metavar="SECRET", default=default,
        help="app client secret; other users can see a command line, so prefer --client-secret-file"
        " or the variable",
    )
    group.add_argument(
        "--client-secret-file", metavar="PATH", default=default,
        help="read the app client secret from the first line of this file",
    )
    group.add_argument("--api-url", metavar="URL", default=default, help="API base URL")
    group.add_argument("--auth-url", metavar="URL", default=default, help="authorization server URL")
    group.add_argument(
        "--token-file",
        metavar="PATH",
        default=default,
        help=f"where the login token is kept (default {_display_path(default_token_path())})",
    )
    group.add_argument(
        "--timeout", metavar="SECONDS", type=_positive_float, default=default,
        help="network timeout per request",
    )
    group.add_argument("--raw", action="store_true", default=default, help="compact JSON instead of pretty")
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars or status messages"
    )
    return common


def _display_path(path: str) -> str:
    home = os.path.expanduser("~")
    if home and path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``soundcloud`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Use the SoundCloud API from the command line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(True)],
    )
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    common = _common_options(False)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog="Run `soundcloud --help` for credentials, the environment, parameters and exit statuses.",
        )
        sub.set_defaults(handler=handler, parser=sub)
        return sub

    sub = add("login", cmd_login, "log in with a browser (OAuth 2.1 + PKCE) and save the token")
    sub.add_argument(
        "--redirect-uri",
        metavar="URI",
        help="the app's registered loopback redirect URI, e.g. http://127.0.0.1:8080/callback"
        " (default http://127.0.0.1:PORT/callback)",
    )
    sub.add_argument(
        "--port", type=_port, default=0, help="port of the local callback server (default: any free one)"
    )
    sub.add_argument(
        "--no-browser", action="store_true",
        help="print the login URL instead of opening a browser, and read the address the browser"
        " ended on from stdin (over SSH, in a container)",
    )
    sub.add_argument(
        "--wait", metavar="SECONDS", type=_positive_float, default=300.0,
        help="how long to wait for the browser (300)",
    )

    add("logout", cmd_logout, "sign out at SoundCloud and delete the saved token")
    add("me", cmd_me, "show the logged-in user (GET /me)")

    # A request's body is what it sends, like its parameters: never a standing setting (and
    # search's --json is a switch: $SOUNDCLOUD_JSON must not also be a body).
    request_bodies: List[argparse.Action] = []
    for verb in ("get", "post", "put", "delete"):
        sub = add(verb, cmd_request, f"{verb.upper()} an API path and print the JSON answer")
        sub.add_argument("path", metavar="PATH", help="an API path like /tracks, or a full URL")
        sub.add_argument(
            "params",
            metavar="name=value",
            nargs="*",
            default=[],
            type=param_type,
            help="parameters (a.b=x nests; name[]=x repeats"
            + ("; name@path sends a file)" if verb in ("post", "put") else ")"),
        )
        if verb == "get":
            sub.add_argument(
                "--no-follow", action="store_true",
                help="do not follow redirects; print the 302 answer (its location)",
            )
        if verb in ("post", "put"):
            body = sub.add_argument(
                "--json", metavar="JSON",
                help="send this JSON body (or @file) instead of form parameters (not from the environment)",
            )
            request_bodies.append(body)

    sub = add("resolve", cmd_resolve, "show the API resource for a soundcloud.com URL")
    sub.add_argument("url", metavar="URL")

    sub = add("search", cmd_search, "search tracks; prints URN, title and user, one track per line")
    sub.add_argument("query", metavar="QUERY")
    sub.add_argument(
        "--limit", type=_positive_int, default=10, metavar="N", help="how many tracks (default 10)"
    )
    sub.add_argument("--json", action="store_true", help="print the tracks as a JSON array instead")

    sub = add("upload", cmd_upload, "upload an audio file as a new track")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--title", help="the track's title (default: the file name)")
    sub.add_argument("--private", action="store_true", help="share privately (default public)")
    sub.add_argument("--description")
    sub.add_argument("--genre")
    sub.add_argument("--tags", help="tag list, space separated (quote multi-word tags)")

    sub = add(
        "download", cmd_download,
        "download a track's whole audio, or every track of a playlist, a user or their likes",
    )
    add_download_arguments(sub)

    add("demo", cmd_demo, "a tour of the library against a built-in fake SoundCloud (no account, no network)")
    read_environment(
        parser,
        not_from_environment=request_bodies,
        exclusive=[("--client-secret", "--client-secret-file")],
        secrets=("--client-secret",),
    )
    return parser
