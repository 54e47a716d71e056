"""The commands that talk to the API: get/post/put/delete, me, resolve, search, upload,
login and logout.

Each ``cmd_*`` takes the parsed arguments and returns the exit status; failures are
raised (SoundCloudError, CLIError, OSError) and reported by :func:`soundcloud.cli.main`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Final, List, Optional, Union

import soundcloud

from ..errors import SoundCloudError
from .config import (
    ENV_CLIENT_ID,
    build_client,
    client_settings,
    open_client,
    option,
    remember_token,
    token_file,
)
from .exits import EXIT_AUTH, EXIT_OK, EXIT_USAGE, PROG, CLIError
from .output import describe, info, jsonable, print_json, print_result, shown, status_of
from .params import parse_params
from .progress import make_progress

if TYPE_CHECKING:
    from .. import Token

__all__ = [
    "cmd_login",
    "cmd_logout",
    "cmd_me",
    "cmd_request",
    "cmd_resolve",
    "cmd_search",
    "cmd_upload",
]


# The largest page SoundCloud serves; `search --limit N` asks for min(N, this) per page.
MAX_PAGE_SIZE: Final = 200


def cmd_request(args: argparse.Namespace) -> int:
    """get / post / put / delete PATH [params]."""
    method: str = args.command
    opened: List[IO[bytes]] = []
    opener = _file_opener(opened) if method in ("post", "put") else None
    try:
        try:
            params = parse_params(args.params, opener)
        except ValueError as exc:
            args.parser.error(str(exc))
        json_body: Any = None
        json_text: Optional[str] = getattr(args, "json", None)
        if json_text is not None:
            if params:
                args.parser.error("--json cannot be combined with name=value parameters")
            json_body = _load_json_option(json_text, args.parser)
        with open_client(args) as client:
            if method == "get":
                result = client.get(args.path, allow_redirects=not args.no_follow, **params)
            elif method == "delete":
                result = client.delete(args.path, **params)
            else:
                verb = client.post if method == "post" else client.put
                progress = make_progress(args, "uploading") if opened else None
                try:
                    if json_body is not None:
                        result = verb(args.path, json=json_body)
                    else:
                        result = verb(args.path, progress=progress, **params)
                finally:
                    if progress is not None:
                        progress.finish()
            print_result(result, args)
    finally:
        for handle in opened:
            handle.close()
    return EXIT_OK


def _file_opener(opened: List[IO[bytes]]) -> Callable[[str], IO[bytes]]:
    """Opens the files of ``name@path`` parameters, keeping each in ``opened`` to be closed."""

    def opener(path: str) -> IO[bytes]:
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise CLIError(f"cannot open {path}: {exc.strerror or exc}") from None
        opened.append(handle)
        return handle

    return opener


def _load_json_option(text: str, parser: argparse.ArgumentParser) -> Any:
    source = "--json"
    if text.startswith("@"):
        source = text[1:]
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CLIError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        parser.error(f"{source} is not valid JSON: {exc}")


def cmd_me(args: argparse.Namespace) -> int:
    """me: the logged-in user."""
    with open_client(args) as client:
        print_result(client.get("/me"), args)
    return EXIT_OK


def cmd_resolve(args: argparse.Namespace) -> int:
    """resolve URL: the API resource behind a soundcloud.com URL."""
    with open_client(args) as client:
        print_result(client.get("/resolve", url=args.url), args)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """search QUERY: tracks, one per line (or a JSON array with --json)."""
    limit: int = args.limit
    with open_client(args) as client:
        found = client.paginate("/tracks", q=args.query, limit=min(limit, MAX_PAGE_SIZE), max_items=limit)
        if args.json:
            print_json([jsonable(track) for track in found], bool(getattr(args, "raw", False)))
            return EXIT_OK
        for track in found:
            data = jsonable(track)
            if not isinstance(data, dict):
                continue
            ident = data.get("urn") or data.get("id") or ""
            user = data.get("user")
            username = user.get("username") if isinstance(user, dict) else None
            # Titles and names are anyone's text: shown() escapes what a terminal would run.
            line = f"{shown(ident)}\t{shown(data.get('title'))}"
            if username:
                line += f"\t{shown(username)}"
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    """upload FILE: POST /tracks, multipart, with a progress bar."""
    path: str = args.file
    title: str = args.title or os.path.splitext(os.path.basename(path))[0]
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise CLIError(f"cannot open {path}: {exc.strerror or exc}") from None
    with handle, open_client(args) as client:
        track: Dict[str, Any] = {
            "title": title,
            "sharing": "private" if args.private else "public",
            "asset_data": handle,
        }
        if args.description is not None:
            track["description"] = args.description
        if args.genre is not None:
            track["genre"] = args.genre
        if args.tags is not None:
            track["tag_list"] = args.tags
        progress = make_progress(args, "uploading")
        try:
            result = client.post("/tracks", track=track, progress=progress)
        finally:
            if progress is not None:
                progress.finish()
        print_result(result, args)
    return EXIT_OK


class _SaveOnlyStore:
    """The login's token store: saves every new token to the file, never reads the old one."""

    def __init__(self, path: str) -> None:
        self.store = soundcloud.FileTokenStore(path)

    def load(self) -> Optional[Token]:
        return None

    def save(self, token: Token) -> None:
        self.store.save(token)

    def clear(self) -> None:
        self.store.clear()


def cmd_login(args: argparse.Namespace) -> int:
    """login: browser login (PKCE, loopback redirect); the token is saved for later commands.

    With --no-browser (over SSH, in a container) the URL is printed, and the address the
    browser ended on may be pasted on stdin while the loopback callback still listens.
    """
    settings = client_settings(args)
    if settings["client_id"] is None:
        raise CLIError(
            f"login needs your app's client id: pass --client-id or set {ENV_CLIENT_ID}", EXIT_AUTH
        )
    redirect_uri = option(args, "redirect_uri")
    path = token_file(args)

    def open_browser(url: str) -> None:
        # The URL carries no secret (PKCE sends only the challenge), so it may be shown.
        sys.stderr.write(f"Opening the browser to log in. If it does not open, visit:\n{url}\n")
        sys.stderr.flush()
        import webbrowser

        webbrowser.open(url)

    # False: the login prints the URL on stderr and reads a pasted address from stdin.
    opener: Union[bool, Callable[[str], None]] = False if args.no_browser else open_browser
    # Saved as soon as it is issued (FileTokenStore: 0600, atomic), and again on any refresh.
    with build_client(redirect_uri=redirect_uri, token_store=_SaveOnlyStore(path), **settings) as client:
        try:
            client.login(port=args.port, open_browser=opener, timeout=args.wait)
        except soundcloud.TimeoutError as exc:
            if exc.url:
                raise  # an HTTP request timed out: a network error
            # Nobody came back from the browser in time: the login, not the network, failed.
            raise CLIError(f"login not completed: {exc}", EXIT_AUTH) from None
        except SoundCloudError:
            raise
        except ValueError as exc:  # --port against --redirect-uri, a non-loopback redirect URI
            raise CLIError(str(exc), EXIT_USAGE) from None
        remember_token(client.token)
        who = ""
        try:
            username = client.get("/me").get("username")
            if isinstance(username, str):
                who = f" as {shown(username)}"
        except SoundCloudError:
            pass  # logged in all the same; /me is only for the greeting
    info(args, f"Logged in{who}; token saved to {path}")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    """logout: sign out at SoundCloud and delete the saved token."""
    path = token_file(args)
    if not os.path.exists(path):
        info(args, f"Not logged in (no token at {path})")
        return EXIT_OK
    failure: Optional[BaseException] = None
    try:
        with open_client(args) as client:
            client.sign_out()
    except (SoundCloudError, CLIError) as exc:
        failure = exc
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass  # sign_out cleared the store itself
    if failure is not None:
        sys.stderr.write(
            f"{PROG}: warning: could not sign out at SoundCloud ({describe(failure)});"
            f" the saved token was deleted\n"
        )
        return status_of(failure)
    info(args, f"Logged out; deleted {path}")
    return EXIT_OK
