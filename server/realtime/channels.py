"""Per-user notification channel names.

PostgreSQL identifiers stop at 63 bytes and user ids are arbitrary strings (up to 255
characters, any Unicode), so a channel is a fixed-length digest of the id: short, ASCII,
and for two users in practice never the same. Even so, a notification only ever says
"this user's log moved"; the events themselves are read from the log by user id, so a
digest collision could at worst cause a spurious read, never a leaked event.
"""

from __future__ import annotations

import functools
import hashlib

CHANNEL_PREFIX = "tsu_"


# Every write names its user's channel: the recent users' are kept (a C-level cache,
# about 100 bytes an entry) rather than hashed again each time.
@functools.lru_cache(maxsize=16_384)
def channel_for(user_id: str) -> str:
    digest = hashlib.blake2b(user_id.encode("utf-8"), digest_size=20).hexdigest()
    return CHANNEL_PREFIX + digest  # 44 ASCII characters
