"""Getting audio out of SoundCloud: whole tracks as SoundCloud serves them today.

Layered bottom-up (each imports only those above it in this list, and the package's lower
layers; nothing here imports the client, which is reached through the small
:class:`~soundcloud.media.download.MediaClient` protocol :class:`soundcloud.Client` satisfies):

- :mod:`.names`: safe file names from titles, extensions of originals.
- :mod:`.partfile`: the ``.part`` file and its record; links and special files refused.
- :mod:`.hls`: RFC 8216 playlists (master and media, byte ranges, init sections; DRM refused).
- :mod:`.fmp4`: reading fragmented MP4 (ISO BMFF): the init segment and the fragments.
- :mod:`.m4a_tags`, :mod:`.m4a`: writing a plain M4A (moov before mdat) with iTunes tags.
- :mod:`.download`: plain media URLs (originals, previews) to a path or a file, resumable.
- :mod:`.hls_fetch`: an HLS stream's segments, several at a time, resumable, then remuxed.
- :mod:`.track`: one track: original, AAC stream or (when allowed) preview.
- :mod:`.batch`: many tracks: a playlist, a user's tracks or likes.

The refusals of untrusted media are :class:`~soundcloud.DownloadError` subclasses, named
here for ``except`` clauses: :class:`PlaylistError`, :class:`EncryptedStreamError`,
:class:`Mp4Error`. Importing this package imports those modules (no network, no threads).
"""

from __future__ import annotations

from .fmp4 import Mp4Error
from .hls import EncryptedStreamError, PlaylistError

__all__ = ["EncryptedStreamError", "Mp4Error", "PlaylistError"]
