"""OAuth 2.1 for SoundCloud: PKCE, the grants, tokens, their storage and their lifecycle.

The pieces, from pure to stateful:

- PKCE (RFC 7636) and grant bodies (RFC 6749) as small pure functions:
  :func:`generate_code_verifier`, :func:`create_s256_code_challenge`,
  :func:`build_authorize_url`, :func:`authorization_code_body`,
  :func:`refresh_token_body`, :func:`client_credentials_body`, :func:`basic_authorization`.
- :class:`Token`, the token response with its absolute expiry; ``repr`` hides its secrets.
- :class:`TokenStore`, :class:`FileTokenStore` and :class:`SQLiteTokenStore`: where a Token
  is kept between runs (each is locked across the processes sharing it while one renews the
  token; an SQLiteTokenStore keeps one token per key in one database).
- :class:`Authenticator`: the token lifecycle behind a :class:`~soundcloud.Client` (code
  exchange, refresh before expiry and after a 401, app tokens from the client-credentials
  grant, one refresh at a time, persistence, sign-out).
- :mod:`.loopback`: the RFC 8252 login for scripts and command-line tools (``client.login()``;
  imported only when a login runs, so that ``import soundcloud`` stays light);
  ``open_browser=False`` also takes the address the browser ended on, pasted, and
  ``client.complete_login(url)`` finishes a login from it.

Where they live, each module importing only those above it in this list:

- :mod:`soundcloud.auth.oauth`: the pure protocol (PKCE, ``state``, redirect-URI rules,
  the authorize URL, grant bodies, error responses), no I/O and no state.
- :mod:`soundcloud.auth.tokens`: :class:`Token`, the TokenStore protocol and FileTokenStore.
- :mod:`soundcloud.auth.sqlite_store`: :class:`SQLiteTokenStore` (``sqlite3`` is imported
  when a store is first used).
- :mod:`soundcloud.auth.authenticator`: :class:`Authenticator`, which reaches the network
  only through the ``send`` callable the Client gives it.
- :mod:`soundcloud.auth.loopback`: the loopback login, through the Authenticator's public
  methods; imported only when a login runs (``http.server`` and ``webbrowser`` with it).
- :mod:`soundcloud.auth.paste`: the lines a user pastes during a headless login
  (``login(open_browser=False)``), read without blocking the wait (``select()`` on POSIX);
  imported by the loopback login only.

Web apps build a new Client per request, so the PKCE verifier and the ``state`` of a login
travel in the user's session between the two requests::

    # /login
    client = soundcloud.Client(client_id=ID, client_secret=SECRET, redirect_uri=CALLBACK)
    url = client.authorize_url()
    session['oauth'] = {'state': client.state, 'code_verifier': client.code_verifier}
    return redirect(url)

    # /callback
    saved = session.pop('oauth')
    client = soundcloud.Client(client_id=ID, client_secret=SECRET, redirect_uri=CALLBACK,
                               state=saved['state'], code_verifier=saved['code_verifier'])
    token = client.exchange_token(request.args['code'], state=request.args['state'])

No token, refresh token, client secret, authorization code or verifier ever appears in a
``repr``, an exception message or a log line of this package.
"""

from __future__ import annotations

from .authenticator import EXPIRY_MARGIN, Authenticator
from .oauth import (
    AUTHORIZE_PATH,
    SIGN_OUT_PATH,
    TOKEN_PATH,
    authorization_code_body,
    basic_authorization,
    build_authorize_url,
    client_credentials_body,
    create_s256_code_challenge,
    generate_code_verifier,
    generate_state,
    oauth_error_from_response,
    refresh_token_body,
    validate_code_verifier,
    validate_redirect_uri,
)
from .sqlite_store import SQLiteTokenStore
from .tokens import FileTokenStore, Token, TokenStore, token_from_response

__all__ = [
    "AUTHORIZE_PATH",
    "Authenticator",
    "EXPIRY_MARGIN",
    "FileTokenStore",
    "SIGN_OUT_PATH",
    "SQLiteTokenStore",
    "TOKEN_PATH",
    "Token",
    "TokenStore",
    "authorization_code_body",
    "basic_authorization",
    "build_authorize_url",
    "client_credentials_body",
    "create_s256_code_challenge",
    "generate_code_verifier",
    "generate_state",
    "oauth_error_from_response",
    "refresh_token_body",
    "token_from_response",
    "validate_code_verifier",
    "validate_redirect_uri",
]
