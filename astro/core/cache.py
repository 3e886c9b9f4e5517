"""The serializer of Django's cache (Redis): JSON, never pickle.

Django's RedisCache pickles by default, and unpickling runs code: whoever could
write one Redis key could then run anything in every Astro process that reads it.
With this serializer a value is JSON or a bare integer (kept bare so that Redis's
INCR still works on counters, as Django's own serializer does), and anything else
read back (a pickle, garbage) is logged and read as a miss (None). Storing a value
JSON cannot represent fails at once with TypeError, so no type changes silently.

Secrets that go into the cache are encrypted by their owners (`astro.core.crypto`);
this module only guarantees that reading the cache never executes anything.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)


class JSONSerializer:
    """`CACHES[...]["OPTIONS"]["serializer"]` for django.core.cache.backends.redis.RedisCache."""

    def dumps(self, obj):
        # type(), not isinstance(): a bool is an int subclass and must stay JSON (true/false).
        if type(obj) is int:
            return obj
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, data):
        try:
            return int(data)
        except (TypeError, ValueError):
            pass
        try:
            return json.loads(data)
        except (TypeError, ValueError):
            # Not written by Astro (or by an Astro that still pickled): never unpickle it.
            log.warning("ignoring a cache entry that is not JSON (%d bytes)", len(data or b""))
            return None
