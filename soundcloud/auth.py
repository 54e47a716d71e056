"""Authentication: tokens and the credentials attached to API requests.

(Minimal core version: static access tokens and client_id-only clients. The OAuth 2.1
flows, refresh and persistence build on this interface.)
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from .transport import Timeout, Transport

__all__ = ["Authenticator", "Token"]


class Token:
    """An OAuth token as issued by SoundCloud; ``repr`` never shows its secrets."""

    __slots__ = ("access_token", "refresh_token", "expires_in", "expires_at", "scope", "token_type")

    def __init__(
        self,
        access_token: str,
        refresh_token: Optional[str] = None,
        expires_in: Optional[int] = None,
        expires_at: Optional[float] = None,
        scope: str = "",
        token_type: str = "bearer",
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.expires_at = expires_at
        self.scope = scope
        self.token_type = token_type

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` restores it."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Token:
        """Rebuild a Token saved with :meth:`to_dict`."""
        return cls(
            str(data["access_token"]),
            data.get("refresh_token"),
            data.get("expires_in"),
            data.get("expires_at"),
            str(data.get("scope") or ""),
            str(data.get("token_type") or "bearer"),
        )

    def __repr__(self) -> str:
        return f"Token(access_token='***', refresh_token={'***' if self.refresh_token else None}, expires_at={self.expires_at!r}, scope={self.scope!r})"


class Authenticator:
    """Holds a client's credentials and decides what each API request carries."""

    def __init__(
        self,
        *,
        client_id: Optional[str],
        client_secret: Optional[str],
        redirect_uri: Optional[str],
        scope: Optional[str],
        token: Optional[Token],
        refresh_token: Optional[str],
        code_verifier: Optional[str],
        state: Optional[str],
        auth_url: str,
        transport: Transport,
        timeout: Timeout,
        user_agent: str,
        on_token: Optional[Callable[[Token], None]],
        token_store: Optional[Any],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.token = token
        self.auth_url = auth_url
        self._transport = transport
        self._timeout = timeout
        self._user_agent = user_agent

    state: str = ""
    code_verifier: str = ""

    def prepare(self) -> None:
        """Called once the client is built (refresh on init, load a stored token)."""

    def authorize_url(self, *, state: Optional[str] = None, scope: Optional[str] = None) -> str:
        """The authorization URL (PKCE)."""
        raise NotImplementedError

    def exchange_token(self, code: str, state: Optional[str] = None) -> Token:
        """Exchange an authorization code."""
        raise NotImplementedError

    def refresh(self) -> Token:
        """Refresh the token."""
        raise NotImplementedError

    def sign_out(self) -> None:
        """Revoke and forget the tokens."""
        raise NotImplementedError

    def authorization(self) -> Optional[str]:
        """The Authorization header value for an API request, or None (client_id only)."""
        token = self.token
        if token is not None:
            return "OAuth " + token.access_token
        return None

    def handle_unauthorized(self, sent: Optional[str]) -> bool:
        """Called on a 401: True when a fresh token was obtained and the request may be replayed."""
        return False


# --- Temporary stubs: the OAuth 2.1 implementation replaces everything below. ---


class TokenStore:
    """Where a Token is kept between runs."""

    def load(self) -> Optional[Token]:
        """The saved Token, or None."""
        raise NotImplementedError

    def save(self, token: Token) -> None:
        """Save ``token``."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget the saved token."""
        raise NotImplementedError


class FileTokenStore(TokenStore):
    """A JSON file with mode 0600, written atomically."""

    def __init__(self, path: str) -> None:
        self.path = path


def loopback_login(
    auth: Authenticator, *, port: int, open_browser: Optional[Callable[[str], Any]], timeout: float
) -> Token:
    """Log in through a loopback redirect (RFC 8252)."""
    raise NotImplementedError
