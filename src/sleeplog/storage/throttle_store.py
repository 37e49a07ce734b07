"""Counting failed logins in Redis, per nickname and client address.

One counter per pair: ``P:{auth}:fail:<sha256 of nickname key and client>``,
where ``P`` is ``[redis] key_prefix``. Hashing keeps nicknames and addresses
out of key names and keeps input from shaping a key. The first failure sets
the counter to 1 and starts its window (``EXPIRE``); later failures only
count up, so the window is fixed from the first failure and the counter
vanishes on its own when it ends. A successful login deletes it.

``INCR`` is not idempotent: were a failure sent twice, it would count twice.
The client retries nothing, and a doubled count only makes the throttle
stricter, which is acceptable.
"""

import hashlib

from sleeplog.storage.redis_store import RedisClient, translate_errors

# KEYS: the counter. ARGV: window in seconds. Returns the count after this one.
_RECORD = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisLoginThrottle(RedisClient):
    """Failed-login counters in the Redis of ``settings.redis``; thread-safe."""

    def __init__(self, settings):
        super().__init__(settings)
        self._prefix = settings.redis.key_prefix
        self._record = self._client.register_script(_RECORD)

    @translate_errors
    def failures(self, key, client):
        """``(count, seconds_left)`` of the pair's window; ``(0, 0)`` if none."""
        name = self._key(key, client)
        pipe = self._client.pipeline(transaction=False)
        pipe.get(name)
        pipe.ttl(name)
        count, ttl = pipe.execute()
        if count is None:
            return 0, 0
        return int(count), max(int(ttl), 1)

    @translate_errors
    def record_failure(self, key, client, window):
        """Count one failure of the pair; returns the count in this window."""
        return int(self._record(keys=[self._key(key, client)], args=[int(window)]))

    @translate_errors
    def clear(self, key, client):
        """Forget the pair's failures, after a successful login."""
        self._client.delete(self._key(key, client))

    @translate_errors
    def check(self):
        """Raise ``StorageUnavailableError`` unless Redis answers."""
        self._client.ping()

    @translate_errors
    def close(self):
        """Disconnect every pooled connection."""
        self._client.close()

    def _key(self, key, client):
        digest = hashlib.sha256(f"{key}\n{client}".encode("utf-8", "surrogatepass"))
        return f"{self._prefix}:{{auth}}:fail:{digest.hexdigest()}"
