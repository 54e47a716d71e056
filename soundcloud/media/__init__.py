"""Getting audio out of SoundCloud: downloads to a path or a binary file.

- :mod:`.download`: streams a track's audio or any media URL, atomically to a path
  (``.part`` file, resume with Range) or into a file object.

HLS playlists and MP4 assembly belong here too, beside the download that uses them.
Nothing in this package imports the client: it works through the small
:class:`~soundcloud.media.download.MediaClient` protocol that :class:`soundcloud.Client`
satisfies.
"""

from __future__ import annotations

__all__: list[str] = []
